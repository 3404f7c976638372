"""Draft lines into invoices with ``rating.invoicing``: grouping per customer (or subscription / environment), VAT
per invoice per (category, rate), totals from rounded lines; plus the invoice keys and batch totals the ledger stores.

The rules live in ``rating``: which VAT a customer's lines carry in ``rating.vat`` (domestic standard rate, reverse
charge for EU businesses abroad with a valid VAT id, not subject outside the EU unless configured), EN 16931
BR-CO-17 half-up VAT on each category's taxable sum in ``rating.invoicing``; this module only maps ledger lines in
and ledger-shaped invoices out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from config.schema import Tenant
from ledger.json_text import json_text
from ledger.models import Customer
from ledger.repositories.invoices import LineColumns
from rating.invoicing import InvoiceLine, Split, VatSubtotal, VatTreatment, build_invoices
from rating.money import Money
from rating.vat import Buyer, OutsideEu, determine_vat
from services.batches.lines import DraftLine


class InvoiceDraft(NamedTuple):
    """A draft invoice (a tuple: what a partition hands the building process, cheap to pickle); its ``lines`` are
    the next that many of its partition's lines (``Grouped.lines``)."""

    invoice_key: str
    customer_id: int
    group_key: str | None
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_breakdown: list[dict[str, str | None]]
    lines: int


class Grouped(NamedTuple):
    """A partition's draft invoices in invoice-key order, their lines as the ledger stores them, invoice after
    invoice (column by column: ``LineColumns``), and their totals."""

    invoices: list[InvoiceDraft]
    lines: LineColumns
    totals: BatchTotals


def treatment_for(tenant: Tenant, customer: Customer) -> VatTreatment:
    """The customer's VAT treatment (``rating.vat``): from the legal entity's country, standard rate and rule for
    buyers outside the EU, and the customer's country, business flag, VAT id and last VIES answer."""
    buyer = Buyer(customer.country, customer.is_business, customer.vat_id, customer.vat_check_result)
    return determine_vat(tenant.country, buyer, tenant.vat_rates[tenant.default_vat_rate],
                         OutsideEu(tenant.vat_outside_eu))


def invoice_key(tenant: str, month: str, customer_id: int, group: str | None, currency: str,
                home_currency: str) -> str:
    """``nl-bv/2026-05/12`` (+ ``/<subscription or environment>`` when split, ``/<currency>`` when foreign)."""
    key = f"{tenant}/{month}/{customer_id}"
    if group is not None:
        key += f"/{group}"
    if currency != home_currency:
        key += f"/{currency}"
    return key[:200]


def group_invoices(tenant: Tenant, month: str, lines: Sequence[DraftLine], customers: Mapping[int, Customer],
                   grouping: str) -> Grouped:
    """The batch's invoices, ordered by invoice key; each draft line lands in exactly one invoice."""
    buyers: dict[int, tuple[str, VatTreatment]] = {}  # per customer id: its text and VAT treatment
    amounts: dict[tuple[Decimal, str], Money] = {}  # a batch's lines repeat few amounts; each Money is checked
    rated = []
    shared: dict[object, Any] = {}  # the rows' repeated values, one object each (``_row``)
    split = Split(grouping)
    by_subscription = split is Split.SUBSCRIPTION  # the other splits do not read a line's subscription
    code = tenant.code
    for index, line in enumerate(lines):
        buyer = buyers.get(line.customer_id)
        if buyer is None:
            buyer = buyers[line.customer_id] = (str(line.customer_id),
                                                treatment_for(tenant, customers[line.customer_id]))
        money = amounts.get((line.amount, line.currency))
        if money is None:
            money = amounts[(line.amount, line.currency)] = Money(line.amount, line.currency)
        rated.append(InvoiceLine((index,), code, buyer[0], line.description, money, buyer[1],
                                 line.base_key.split("/")[2] if by_subscription else None,
                                 line.group or "licences"))
    drafts = []
    one = shared.setdefault
    text = {}.setdefault  # the breakdowns' amounts as text, one object each (a part pickles each once)
    for invoice in build_invoices(rated, split):
        customer_id = int(invoice.customer)
        breakdown = [{"category": part.category.value, "rate": _text(text, part.rate),
                      "taxable": _text(text, part.taxable.amount), "vat": _text(text, part.vat.amount),
                      "reason": part.exemption_reason} for part in invoice.vat]
        vat = buyers[customer_id][1]  # every line of an invoice is its customer's
        rate, category = vat.rate, vat.category.value
        rows = [_row(lines[line.key[0]], rate, category, one) for line in invoice.lines]
        net, vat_total, gross = invoice.net.amount, invoice.vat_total.amount, invoice.gross.amount
        drafts.append((InvoiceDraft(
            invoice_key(tenant.code, month, customer_id, invoice.split_value, invoice.currency, tenant.currency),
            customer_id, invoice.split_value, invoice.currency, one(str(net), net), one(str(vat_total), vat_total),
            one(str(gross), gross), breakdown, len(rows)), rows, invoice.vat))
    drafts.sort(key=lambda draft: draft[0].invoice_key)
    totals = BatchTotals()
    for draft, _, subtotals in drafts:
        totals.add(draft, subtotals)
    return Grouped([draft for draft, _, _ in drafts], LineColumns.of([row for _, rows, _ in drafts for row in rows]),
                   totals)


def _row(line: DraftLine, vat_rate: Decimal, vat_category: str, one: Callable[[object, Any], Any]) -> tuple[Any, ...]:
    """The draft line as the ledger stores it (``LineRow``'s fields, in a plain tuple: ``LineColumns`` takes it
    apart into columns), with its invoice's VAT rate and category and its lineage as JSON text.

    Its days, decimals and bill month are the objects a shared dict already holds for the same value (``one`` is its
    ``setdefault``; a decimal by its text, so its exponent is kept): a partition's lines repeat a few hundred
    distinct ones, and a part that crosses to the building process (from a worker) pickles each object once, not
    once per line (a part's rows of the bench at 5 %: 0.26 s instead of 0.41 s)."""
    quantity, unit_price, amount, unrounded = line.quantity, line.unit_price, line.amount, line.unrounded
    return (line.line_key, line.base_key, line.version, line.kind, line.customer_id, line.subscription_id,
            line.description, one(line.period_from, line.period_from), one(line.period_to, line.period_to),
            one(str(quantity), quantity), one(str(unit_price), unit_price), one(str(amount), amount),
            one(str(unrounded), unrounded), line.currency, vat_rate, vat_category,
            line.corrects_line_key, line.reason_code, one(line.bill_month, line.bill_month), json_text(line.lineage))


def _text(text: Callable[[str, str], str], amount: Decimal) -> str:
    """``amount`` (or a rate) as text, the object ``text`` (a dict's ``setdefault``) already holds for it."""
    written = str(amount)
    return text(written, written)


class BatchTotals:
    """Totals per currency and per VAT category and rate, added up invoice by invoice where a partition groups its
    invoices, and partition by partition where the build stores them (``merge``); given as text amounts (JSON-safe,
    exact)."""

    def __init__(self) -> None:
        self._totals: dict[str, dict] = {}
        self.invoices = 0
        self.lines = 0

    def add(self, invoice: InvoiceDraft, subtotals: Sequence[VatSubtotal]) -> None:
        """Add one invoice, whose VAT ``subtotals`` its breakdown gives as text."""
        entry = self._entry(invoice.currency)
        entry["net"] += invoice.net
        entry["vat"] += invoice.vat
        entry["gross"] += invoice.gross
        entry["invoices"] += 1
        entry["lines"] += invoice.lines
        for part in subtotals:
            self._rate(entry, part.category.value, str(part.rate), part.taxable.amount, part.vat.amount)
        self.invoices += 1
        self.lines += invoice.lines

    def merge(self, other: BatchTotals) -> None:
        """Add another partition's totals."""
        for currency, theirs in other._totals.items():
            entry = self._entry(currency)
            for name in ("net", "vat", "gross", "invoices", "lines"):
                entry[name] += theirs[name]
            for rate in theirs["by_rate"].values():
                self._rate(entry, rate["category"], rate["rate"], rate["taxable"], rate["vat"])
        self.invoices += other.invoices
        self.lines += other.lines

    def _entry(self, currency: str) -> dict:
        entry = self._totals.get(currency)
        if entry is None:
            entry = self._totals[currency] = {"net": Decimal(0), "vat": Decimal(0), "gross": Decimal(0),
                                              "invoices": 0, "lines": 0, "by_rate": {}}
        return entry

    @staticmethod
    def _rate(entry: dict, category: str, rate: str, taxable: Decimal, vat: Decimal) -> None:
        name = f"{category} {rate}%"
        found = entry["by_rate"].get(name)
        if found is None:
            found = entry["by_rate"][name] = {"category": category, "rate": rate, "taxable": Decimal(0),
                                              "vat": Decimal(0)}
        found["taxable"] += taxable
        found["vat"] += vat

    def as_text(self) -> dict[str, dict]:
        """``{currency: {net, vat, gross, invoices, lines, by_rate}}`` in currency order, rates in key order."""
        totals: dict[str, dict] = {}
        for currency, entry in sorted(self._totals.items()):
            totals[currency] = {**entry, "net": str(entry["net"]), "vat": str(entry["vat"]),
                                "gross": str(entry["gross"]),
                                "by_rate": {name: {**rate, "taxable": str(rate["taxable"]), "vat": str(rate["vat"])}
                                            for name, rate in sorted(entry["by_rate"].items())}}
        return totals
