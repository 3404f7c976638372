"""Draft lines into invoices: grouping per customer (or subscription / environment), VAT per invoice per rate.

VAT follows EN 16931 BR-CO-17: per invoice and per (category, rate), computed from the sum of the rounded line nets
and rounded half-up, whatever the tenant's line rounding policy; totals are sums of rounded amounts, never re-rounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
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


def vat_breakdown(lines: Sequence[DraftLine], currency: str) -> tuple[Decimal, Decimal, list[dict[str, str]]]:
    """``(net, vat, breakdown)``: net = sum of rounded lines; VAT per (category, rate) from its taxable sum."""
    taxable: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for line in lines:
        taxable[(line.vat_category, line.vat_rate)] += line.amount
    breakdown = []
    vat_total = Decimal(0)
    for (category, rate), base in sorted(taxable.items()):
        vat = round_amount(base * rate / 100, currency, RoundingPolicy.HALF_UP).amount
        vat_total += vat
        breakdown.append({"category": category, "rate": str(rate), "taxable": str(base), "vat": str(vat)})
    net = sum((line.amount for line in lines), Decimal(0))
    return net, vat_total, breakdown


def group_invoices(tenant: Tenant, month: str, lines: Sequence[DraftLine], customers: dict[int, Customer],
                   grouping: str) -> list[InvoiceDraft]:
    """Lines (with their customer's VAT treatment) grouped into invoices, ordered by invoice key."""
    groups: dict[str, list[DraftLine]] = defaultdict(list)
    meta: dict[str, tuple[int, str | None, str]] = {}
    treatments: dict[int, VatTreatment] = {}
    for line in lines:
        treatment = treatments.get(line.customer_id)
        if treatment is None:
            treatment = treatments[line.customer_id] = vat_treatment(tenant, customers[line.customer_id])
        line = replace(line, vat_category=treatment.category, vat_rate=treatment.rate,
                       lineage={**line.lineage, "vat": {"category": treatment.category, "rate": str(treatment.rate),
                                                        "reason": treatment.reason}})
        group = _group(line, grouping)
        key = invoice_key(tenant.code, month, line.customer_id, group, line.currency, tenant.currency)
        groups[key].append(line)
        meta[key] = (line.customer_id, group, line.currency)
    invoices = []
    for key in sorted(groups):
        customer_id, group, currency = meta[key]
        net, vat, breakdown = vat_breakdown(groups[key], currency)
        invoices.append(InvoiceDraft(key, customer_id, group, currency, net, vat, net + vat, breakdown, groups[key]))
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
