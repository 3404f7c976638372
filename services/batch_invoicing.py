"""Draft lines into invoices: grouping per customer (or subscription / environment), VAT per invoice per rate.

VAT follows EN 16931 BR-CO-17: per invoice and per (category, rate), computed from the sum of the rounded line nets
and rounded half-up, whatever the tenant's line rounding policy; totals are sums of rounded amounts, never re-rounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from config.schema import Tenant
from ledger.models import Customer
from rating.rounding import RoundingPolicy, round_amount
from services.batch_lines import DraftLine

# EU member states (ISO 3166-1 alpha-2; Greece is GR in ISO, EL only in VIES).
EU = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class VatTreatment:
    category: str  # UNCL 5305: S standard, AE reverse charge, O outside scope
    rate: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    invoice_key: str
    customer_id: int
    group_key: str | None
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_breakdown: list[dict[str, str]]
    treatment: VatTreatment
    lines: list[DraftLine]


def vat_treatment(tenant: Tenant, customer: Customer) -> VatTreatment:
    """Standard rate at home and for consumers; reverse charge for EU businesses with a VAT id in another member
    state; outside scope for businesses outside the EU (B2B services are taxed where the customer is)."""
    country = customer.country or tenant.country
    if customer.is_business and country != tenant.country:
        if country in EU and customer.vat_id:
            return VatTreatment("AE", Decimal(0), f"reverse charge: business in {country} with VAT id")
        if country not in EU:
            return VatTreatment("O", Decimal(0), f"outside scope: business in {country}")
    rate = tenant.vat_rates[tenant.default_vat_rate]
    return VatTreatment("S", rate, f"{tenant.default_vat_rate} rate of {tenant.country}")


def _group(line: DraftLine, grouping: str) -> str | None:
    if grouping == "subscription":
        return line.base_key.split("/")[2]
    if grouping == "environment":
        return line.group or "licences"
    return None


def invoice_key(tenant: str, month: str, customer_id: int, group: str | None, currency: str,
                home_currency: str) -> str:
    key = f"{tenant}/{month}/{customer_id}"
    if group is not None:
        key += f"/{group}"
    if currency != home_currency:
        key += f"/{currency}"
    return key[:200]


def vat_breakdown(lines: Sequence[DraftLine], currency: str,
                  vat: VatTreatment) -> tuple[Decimal, Decimal, list[dict[str, str]]]:
    """``(net, vat, breakdown)`` of one invoice: net = sum of rounded lines; VAT per (category, rate) from its
    taxable sum, half-up. One invoice has one customer, hence one treatment (one category and rate)."""
    net = sum((line.amount for line in lines), Decimal(0))
    amount = round_amount(net * vat.rate / 100, currency, RoundingPolicy.HALF_UP).amount
    breakdown = [{"category": vat.category, "rate": str(vat.rate), "taxable": str(net), "vat": str(amount),
                  "reason": vat.reason}]
    return net, amount, breakdown


def group_invoices(tenant: Tenant, month: str, lines: Sequence[DraftLine], customers: Mapping[int, Customer],
                   grouping: str) -> list[InvoiceDraft]:
    """Lines grouped into invoices (per customer, and per subscription or environment if so configured), each with
    its customer's VAT treatment, ordered by invoice key."""
    groups: dict[str, list[DraftLine]] = defaultdict(list)
    meta: dict[str, tuple[int, str | None, str]] = {}
    for line in lines:
        group = _group(line, grouping)
        key = invoice_key(tenant.code, month, line.customer_id, group, line.currency, tenant.currency)
        groups[key].append(line)
        meta[key] = (line.customer_id, group, line.currency)
    treatments: dict[int, VatTreatment] = {}
    invoices = []
    for key in sorted(groups):
        customer_id, group, currency = meta[key]
        vat = treatments.get(customer_id)
        if vat is None:
            vat = treatments[customer_id] = vat_treatment(tenant, customers[customer_id])
        net, amount, breakdown = vat_breakdown(groups[key], currency, vat)
        invoices.append(InvoiceDraft(key, customer_id, group, currency, net, amount, net + amount, breakdown, vat,
                                     groups[key]))
    return invoices


def batch_totals(invoices: Sequence[InvoiceDraft]) -> dict[str, dict]:
    """Totals per currency and per VAT category and rate, as text amounts (JSON-safe, exact)."""
    totals: dict[str, dict] = {}
    for invoice in invoices:
        entry = totals.setdefault(invoice.currency, {"net": Decimal(0), "vat": Decimal(0), "gross": Decimal(0),
                                                     "invoices": 0, "lines": 0, "by_rate": {}})
        entry["net"] += invoice.net
        entry["vat"] += invoice.vat
        entry["gross"] += invoice.gross
        entry["invoices"] += 1
        entry["lines"] += len(invoice.lines)
        for part in invoice.vat_breakdown:
            rate = entry["by_rate"].setdefault(f"{part['category']} {part['rate']}%", {
                "category": part["category"], "rate": part["rate"], "taxable": Decimal(0), "vat": Decimal(0)})
            rate["taxable"] += Decimal(part["taxable"])
            rate["vat"] += Decimal(part["vat"])
    for entry in totals.values():
        for name in ("net", "vat", "gross"):
            entry[name] = str(entry[name])
        for rate in entry["by_rate"].values():
            rate["taxable"] = str(rate["taxable"])
            rate["vat"] = str(rate["vat"])
    return totals
