"""Grouping rated lines into invoices, with VAT per invoice per (category, rate) and totals from rounded lines.

EN 16931 computes VAT on the sum of the line nets of each VAT category and rate (BR-CO-17), not per line, so VAT is
rounded here once per invoice and category, half-up, whatever the tenant's line policy (e-invoices then validate).
Which treatment a line carries is decided by ``rating.vat``; reverse charge is category ``AE``, 0 %, with a reason. One
invoice never mixes currencies: the currency is part of its key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from rating.lineage import Lineage
from rating.money import Money, total
from rating.rounding import RoundingPolicy, round_quotient

EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
REVERSE_CHARGE_REASON = "Reverse charge"


class VatCategory(StrEnum):
    """UNCL 5305 codes used on invoices: standard, zero, exempt, reverse charge, outside scope."""

    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    OUTSIDE_SCOPE = "O"


@dataclass(frozen=True, slots=True)
class VatTreatment:
    category: VatCategory
    rate: Decimal
    exemption_reason: str | None = None


class Split(StrEnum):
    """One invoice per customer, or per customer and subscription, or per customer and environment tag."""

    CUSTOMER = "customer"
    SUBSCRIPTION = "subscription"
    ENVIRONMENT = "environment"


class InvoiceLine(NamedTuple):
    """A rounded line ready for an invoice; ``key`` is its deterministic identity (e.g. a LineKey tuple). A named
    tuple: a month-end build groups a million, and a frozen dataclass sets each field through a call."""

    key: tuple[object, ...]
    legal_entity: str
    customer: str
    description: str
    amount: Money
    vat: VatTreatment
    subscription: str | None = None
    environment: str | None = None
    lineage: Lineage | None = None


@dataclass(frozen=True, slots=True)
class VatSubtotal:
    """BT-116 taxable amount and BT-117 VAT of one category and rate."""

    category: VatCategory
    rate: Decimal
    taxable: Money
    vat: Money
    exemption_reason: str | None


@dataclass(frozen=True, slots=True)
class Invoice:
    """Lines of one legal entity, customer and currency (and subscription or environment when split)."""

    legal_entity: str
    customer: str
    currency: str
    split_value: str | None
    lines: tuple[InvoiceLine, ...]
    net: Money
    vat: tuple[VatSubtotal, ...]
    vat_total: Money
    gross: Money


def _split_value(line: InvoiceLine, split: Split) -> str | None:
    if split is Split.SUBSCRIPTION:
        return line.subscription
    if split is Split.ENVIRONMENT:
        return line.environment
    return None


def _invoice(key: tuple[str, str, str, str | None], lines: list[InvoiceLine]) -> Invoice:
    """One invoice of ``lines``, all in the key's currency (``build_invoices`` groups them by it). The amounts are
    added as decimals and made ``Money`` once per subtotal (a month-end build groups a million lines); an invoice
    of one VAT rate, most of them, has that subtotal's amounts as its totals."""
    legal_entity, customer, currency, split_value = key
    by_rate: dict[tuple[VatCategory, Decimal, str | None], list[Decimal]] = {}
    for line in lines:
        vat = line.vat
        by_rate.setdefault((vat.category, vat.rate, vat.exemption_reason), []).append(line.amount.amount)
    subtotals = []
    for (category, rate, reason), amounts in sorted(by_rate.items(), key=lambda item: (item[0][0], item[0][1])):
        taxable = Money(sum(amounts, Decimal(0)), currency)
        base, base_scale = taxable.amount.as_integer_ratio()
        percent, percent_scale = rate.as_integer_ratio()
        vat = round_quotient(base * percent, base_scale * percent_scale * 100, currency, RoundingPolicy.HALF_UP)
        subtotals.append(VatSubtotal(category, rate, taxable, vat, reason))
    if len(subtotals) == 1:  # every line is in one subtotal
        net, vat_total = subtotals[0].taxable, subtotals[0].vat
    else:
        net = total([subtotal.taxable for subtotal in subtotals], currency)
        vat_total = total((subtotal.vat for subtotal in subtotals), currency)
    return Invoice(legal_entity, customer, currency, split_value, tuple(lines), net, tuple(subtotals), vat_total,
                   net + vat_total)


def build_invoices(lines: Iterable[InvoiceLine], split: Split = Split.CUSTOMER) -> list[Invoice]:
    """Group ``lines`` into invoices keyed by (legal entity, customer, currency, split value), in key order; lines
    keep their order within an invoice. Totals are sums of the rounded lines; VAT per category and rate."""
    grouped: dict[tuple[str, str, str, str | None], list[InvoiceLine]] = {}
    for line in lines:
        key = (line.legal_entity, line.customer, line.amount.currency, _split_value(line, split))
        grouped.setdefault(key, []).append(line)
    ordered = sorted(grouped, key=lambda key: (key[0], key[1], key[2], key[3] or ""))
    return [_invoice(key, grouped[key]) for key in ordered]
