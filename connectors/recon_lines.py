"""Partner Center NCE reconciliation line items as cost lines, for both ways Microsoft delivers them.

Why a module of its own: recon lines come through the v1 REST line items (``PartnerCenter``, which serves only billing
periods before February 2024 since 21 April 2025) and through the Graph v2 asynchronous export
(``PartnerBillingExport``) that replaces it.
Both must map to the same ``CostLineRecord`` with the same ``line_id`` for the same line, so the mapping exists once;
only the field spelling differs (v1 camelCase, v2 PascalCase, §2.6b).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from connectors.records import BillingType, CostLineRecord, FieldReader, parse_day

# Canonical spelling of the NCE charge types (§2.6); Microsoft sends some of them PascalCase.
_CHARGE_TYPES = {
    name.lower(): name
    for name in (
        "new",
        "renew",
        "cycleCharge",
        "addQuantity",
        "removeQuantity",
        "moveQuantity",
        "cancelImmediate",
        "convert",
        "changeBillingPlan",
        "customerCredit",
        "extendTerm",
    )
}
_ID_KEYS = (
    "invoiceNumber",
    "customerId",
    "subscriptionId",
    "referenceId",
    "chargeStartDate",
    "chargeEndDate",
    "orderId",
    "alternateId",
)
_V2_NAMES = {"pcToBCExchangeRate": "PCToBCExchangeRate", "totalForCustomer": "Total"}
# ``BillingFrequency`` is ``Monthly`` or ``Annual`` for licences and blank for one-time purchases (§2.6 Meanings).
_RECURRING = frozenset({"monthly", "annual", "triennial"})


def v1_name(name: str) -> str:
    """v1 REST fields are spelled as in this module."""
    return name


def v2_name(name: str) -> str:
    """v1 camelCase field name -> the v2 export's PascalCase name (§2.6b)."""
    return _V2_NAMES.get(name, name[:1].upper() + name[1:])


def _line_id(item: dict[str, Any], sign: str, name: Callable[[str], str]) -> str:
    """Recon lines carry no id of their own: derive a stable one from what identifies the charge.

    Built from canonical field values only, so one charge gets one id however it is read: through v1 REST or the v2
    export (which may spell dates and guids differently), and unbilled or billed. The invoice number is therefore
    left blank: an unbilled line gets its invoice number only when billed, and must then update the cost line it
    already is rather than add a second one. Blank is what unbilled lines always carried, and dates are written the
    way v1 sends them (``YYYY-MM-DDT00:00:00Z``), so ids stored by earlier v1 reads stay the same.
    """
    parts = []
    for key in _ID_KEYS:
        value = str(item.get(name(key), "") or "").strip()
        if key == "invoiceNumber":
            value = ""
        elif key in ("chargeStartDate", "chargeEndDate") and value:
            value = f"{parse_day(value).isoformat()}T00:00:00Z"
        else:
            value = value.lower()
        parts.append(value)
    parts += [str(item.get(name("chargeType"), "")).lower(), sign]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def billing_type(item: FieldReader, name: Callable[[str], str] = v1_name) -> BillingType | None:
    """What the line bills: a trial (``productQualifiers`` names ``Trial``, §3.6), a licence (``billingFrequency``
    ``Monthly``/``Annual``) or a one-time purchase (software, reservations, savings plans, Marketplace one-time
    offers: ``billingFrequency`` present but blank or ``OneTime``, §2.6 Meanings). ``None`` when the line does not
    say (no ``billingFrequency`` at all and no one-time ``termAndBillingCycle``): never guessed as one-time, because a
    licence line taken for a purchase would be billed twice."""
    qualifiers = item.get(name("productQualifiers"))
    if any("trial" in str(q).lower() for q in (qualifiers if isinstance(qualifiers, list) else [qualifiers or ""])):
        return "trial"
    if name("billingFrequency") in item.raw:
        frequency = _squeezed(item.get(name("billingFrequency")))
        return "license" if frequency in _RECURRING else "one_time"
    return "one_time" if "onetime" in _squeezed(item.get(name("termAndBillingCycle"))) else None


def _squeezed(value: Any) -> str:
    return "".join(ch for ch in str(value or "").lower() if ch.isalnum())


def cost_line(source: str, item: FieldReader, name: Callable[[str], str] = v1_name) -> CostLineRecord:
    """A recon line item as a cost line, kept exactly as Microsoft billed it; ``name`` spells v1 or v2 fields."""
    charge_raw = item.text(name("chargeType"))
    unit_price = item.decimal(name("effectiveUnitPrice"))
    quantity_field = "billableQuantity" if item.get(name("billableQuantity")) is not None else "quantity"
    quantity = item.decimal(name(quantity_field))
    subtotal = item.decimal(name("subtotal"))
    start = item.day(name("chargeStartDate"))
    end = item.day(name("chargeEndDate"))
    sign = "-" if unit_price < 0 or subtotal < 0 else "+"
    return CostLineRecord(
        source=source,
        line_id=_line_id(item.raw, sign, name),
        customer_external_id=item.text(name("customerId")),
        subscription_external_id=item.text(name("subscriptionId")),
        product_id=item.text(name("productId")),
        charge_type=_CHARGE_TYPES.get(charge_raw.lower(), charge_raw),
        charge_start=start,
        charge_end=end,
        quantity=quantity,
        unit_price=unit_price,
        subtotal=subtotal,
        currency=item.currency(name("currency")),
        reference_id=item.maybe_text(name("referenceId")),
        invoice_id=item.maybe_text(name("invoiceNumber")),
        billing_type=billing_type(item, name),
        order_id=item.maybe_text(name("orderId")),
        ordered_on=item.maybe_day(name("orderDate")),
        product_name=item.maybe_text(name("productName")),
        raw=item.raw,
    )
