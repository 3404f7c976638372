"""Reading price files: the reseller's own rules CSV and Microsoft's new-commerce licence price list.

Why one module for both: they share the rule that a file is read completely and checked before anything is stored.
Every problem names the file, the line and the field; one bad row refuses the whole file, so a half-imported price
list can never price an invoice. Microsoft's columns are the ones of its published price list (ProductTitle,
ProductId, SkuId, SkuTitle, TermDuration, BillingPlan, Market, Currency, UnitPrice, EffectiveStartDate,
EffectiveEndDate, ERP Price, …); its dates come as ``2/1/2023 0:00``, ``3/1/2018 12:00:00 AM`` or ISO 8601.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from rating.money import minor_units
from services.errors import ValidationFailed

RULE_COLUMNS = ("name", "tenant", "customer", "product", "meter_category", "billing", "valid_from", "valid_to",
                "unit_price", "currency", "markup_percent", "basis")
MICROSOFT_COLUMNS = ("ProductTitle", "ProductId", "SkuId", "SkuTitle", "TermDuration", "BillingPlan", "Market",
                     "Currency", "UnitPrice", "EffectiveStartDate", "EffectiveEndDate", "ERP Price")
TERMS = ("P1M", "P1Y", "P3Y")
BILLINGS = (*TERMS, "ONE_TIME")  # a rule may name one-time purchases
PLANS = ("Monthly", "Annual", "Triennial")
BASES = ("cost", "list", "erp")
MAX_PROBLEMS = 20
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?)?")


class PriceFileRefused(ValidationFailed):
    """A price file broke a rule; nothing of it was stored. ``problems`` lists ``file:line field: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        super().__init__("price file refused, nothing stored: " + "; ".join(problems[:MAX_PROBLEMS]) + more)


@dataclass
class _Reader:
    """Collects problems while a file's rows are checked field by field."""

    name: str
    problems: list[str]

    def problem(self, line: int, field: str, message: str) -> None:
        self.problems.append(f"{self.name}:{line} {field}: {message}")

    def text(self, row: dict[str, Any], line: int, field: str, required: bool = False) -> str | None:
        value = (row.get(field) or "").strip()
        if not value and required:
            self.problem(line, field, "missing")
        return value or None

    def amount(self, row: dict[str, Any], line: int, field: str,
               minimum: Decimal | None = Decimal(0)) -> Decimal | None:
        value = self.text(row, line, field)
        if value is None:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            self.problem(line, field, f"{value!r} is not a number like 12.50")
            return None
        if minimum is not None and amount < minimum:
            self.problem(line, field, f"{value} is below {minimum}" if minimum else f"{value} is negative")
            return None
        return amount

    def currency(self, row: dict[str, Any], line: int, field: str, required: bool) -> str | None:
        value = self.text(row, line, field, required)
        if value is None:
            return None
        try:
            minor_units(value)
        except (KeyError, ValueError):
            self.problem(line, field, f"{value!r} is not an ISO 4217 currency code")
            return None
        return value

    def choice(self, row: dict[str, Any], line: int, field: str, allowed: Collection[str],
               required: bool = False) -> str | None:
        value = self.text(row, line, field, required)
        if value is not None and value not in allowed:
            self.problem(line, field, f"{value!r} is not one of {', '.join(allowed)}")
            return None
        return value

    def day(self, row: dict[str, Any], line: int, field: str, required: bool = False,
            end: bool = False) -> dt.date | None:
        value = self.text(row, line, field, required)
        if value is None:
            return None
        parsed = parse_day(value, end)
        if parsed is None:
            self.problem(line, field, f"{value!r} is not a date like 2026-11-01 or 11/1/2026 0:00")
        return parsed


def parse_day(value: str, end: bool = False) -> dt.date | None:
    """A price-list date as a billing day. An end at midnight ends the day before (Microsoft's end instants are
    exclusive at 0:00); a year-9999 end is open (``date.max``)."""
    match = _US_DATE.fullmatch(value.strip())
    try:
        if match:
            month, day, year, hour, minute, second, half = match.groups()
            hours = int(hour or 0)
            if half:
                hours = hours % 12 + (12 if half == "PM" else 0)
            moment = dt.datetime(int(year), int(month), int(day), hours, int(minute or 0), int(second or 0))
        else:
            moment = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    if end and moment.year == 9999:
        return dt.date.max
    if end and moment.time() == dt.time() and moment.date() > dt.date.min:
        return moment.date() - dt.timedelta(days=1)
    return moment.date()


def _rows(name: str, text: str, wanted: Iterable[str], required: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [column.strip() for column in reader.fieldnames or []]
    reader.fieldnames = header
    unknown = [column for column in header if column not in wanted]
    missing = [column for column in required if column not in header]
    if missing or unknown or not header:
        detail = (f"missing column(s) {', '.join(missing)}" if missing else
                  f"unknown column(s) {', '.join(unknown)}" if unknown else "no header row")
        raise PriceFileRefused([f"{name}:1 header: {detail}"])
    return [(reader.line_num, row) for row in reader]


@dataclass(frozen=True)
class Known:
    """What rules may name: tenant codes, products (ids, ``ProductId:SkuId`` keys, meters) and customers."""

    tenants: Collection[str]
    products: Collection[str]
    customers: Collection[str]


def read_rules(name: str, text: str, known: Known) -> list[dict[str, Any]]:
    """The rule rows of a reseller's rules CSV (columns :data:`RULE_COLUMNS`), checked; ``PriceFileRefused`` else."""
    read = _Reader(name, [])
    rows: list[dict[str, Any]] = []
    for line, row in _rows(name, text, RULE_COLUMNS, ("valid_from",)):
        tenant = read.text(row, line, "tenant")
        if tenant is not None and tenant not in known.tenants:
            read.problem(line, "tenant", f"{tenant!r} is not a legal entity in config.yaml")
        product = read.text(row, line, "product")
        if product is not None and product not in known.products:
            read.problem(line, "product", f"unknown SKU {product!r} (not a product, ProductId:SkuId or meter the "
                                          f"ledger knows)")
        customer = read.text(row, line, "customer")
        if customer is not None and customer not in known.customers:
            read.problem(line, "customer", f"{customer!r} is not a customer name, reference or id in the ledger")
        if (read.text(row, line, "unit_price") is None) == (read.text(row, line, "markup_percent") is None):
            read.problem(line, "unit_price", "give exactly one of unit_price or markup_percent")
        unit_price = read.amount(row, line, "unit_price")
        percent = read.amount(row, line, "markup_percent", Decimal(-100))
        currency = read.currency(row, line, "currency", required=read.text(row, line, "unit_price") is not None)
        valid_from = read.day(row, line, "valid_from", required=True)
        valid_to = read.day(row, line, "valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            read.problem(line, "valid_to", f"{valid_to} is before valid_from {valid_from}")
        rows.append({
            "line": line, "name": read.text(row, line, "name"), "tenant_code": tenant, "customer": customer,
            "product": product, "meter_category": read.text(row, line, "meter_category"),
            "billing": read.choice(row, line, "billing", BILLINGS), "valid_from": valid_from, "valid_to": valid_to,
            "unit_price": unit_price, "currency": currency if unit_price is not None else None,
            "basis": None if unit_price is not None else (read.choice(row, line, "basis", BASES) or "cost"),
            "percent": percent,
        })
    _overlaps(read, rows)
    if read.problems:
        raise PriceFileRefused(read.problems)
    return rows


def _overlaps(read: _Reader, rows: list[dict[str, Any]]) -> None:
    """Two rows for the same scope may not be valid on the same day: the file would not say which price holds."""
    scopes: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if row["valid_from"] is not None:
            key = tuple(row[f] for f in ("tenant_code", "customer", "product", "meter_category", "billing"))
            scopes.setdefault(key, []).append(row)
    for group in scopes.values():
        group.sort(key=lambda row: row["valid_from"])
        for before, after in pairwise(group):
            if before["valid_to"] is None or after["valid_from"] <= before["valid_to"]:
                read.problem(after["line"], "valid_from", f"overlaps line {before['line']} for the same tenant, "
                                                          f"customer, product, meter category and billing")


def read_microsoft(name: str, text: str) -> list[dict[str, Any]]:
    """The rows of Microsoft's new-commerce licence price list, checked; ``PriceFileRefused`` else. Rows for the same
    SKU may overlap: as Microsoft documents, the row that starts later holds from its start."""
    read = _Reader(name, [])
    rows: list[dict[str, Any]] = []
    optional = ("Publisher", "SkuDescription", "UnitOfMeasure", "PricingTierRangeMin", "PricingTierRangeMax",
                "EndofSaleDate", "EndOfSaleDate", "Tags", "Segment", "ChangeIndicator", "AvailabilityId")
    for line, row in _rows(name, text, (*MICROSOFT_COLUMNS, *optional), MICROSOFT_COLUMNS):
        valid_to = read.day(row, line, "EffectiveEndDate", required=True, end=True)
        rows.append({
            "line": line,
            "product_id": read.text(row, line, "ProductId", required=True),
            "sku_id": read.text(row, line, "SkuId", required=True),
            "product_title": (read.text(row, line, "ProductTitle") or "")[:300],
            "sku_title": (read.text(row, line, "SkuTitle") or "")[:300],
            "term": read.choice(row, line, "TermDuration", TERMS, required=True),
            "billing_plan": read.choice(row, line, "BillingPlan", PLANS, required=True),
            "market": read.text(row, line, "Market", required=True),
            "currency": read.currency(row, line, "Currency", required=True),
            "unit_price": read.amount(row, line, "UnitPrice") if read.text(row, line, "UnitPrice", True) else None,
            "erp_price": read.amount(row, line, "ERP Price"),
            "valid_from": read.day(row, line, "EffectiveStartDate", required=True),
            "valid_to": None if valid_to == dt.date.max else valid_to,
        })
    if read.problems:
        raise PriceFileRefused(read.problems)
    return rows
