"""What a line's lineage names, as records a person can open: the snapshot, the mutation, the cost line, the usage
row or usage files, the price rule and the list price behind "Why is this line 31.25?".

Why here: the lineage stores names, not foreign keys ("snapshot:41", "cost 30.40 (cost line 7) + 15% (price rule 3
(price_rules[0]))"), so that a line explains itself without joins and survives a re-build. ``references`` reads
those names back (the formats ``services.batches.timeline``, ``rating.pricing`` and ``services.prices.book`` write);
``input_record`` shows one record, to finance, of a legal entity the person may see (``NotFound`` otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config import Settings
from ledger.models import CostLine, ListPrice, PriceRule, Snapshot, Subscription, UsageFileSet, UsageRow
from services.access import Actor, readable_tenants
from services.errors import NotFound
from services.runtime import engine_for
from services.uow import UnitOfWork

NAME = re.compile(r"\b(snapshot|mutation|cost[ _]line|usage_row|usage_file_set|price rule|list price|subscription)"
                  r"[: ](\d+)")
KINDS = {"snapshot": "snapshot", "mutation": "mutation", "cost line": "cost-line", "cost_line": "cost-line",
         "usage_row": "usage-row", "usage_file_set": "usage-file-set", "price rule": "price-rule",
         "list price": "list-price", "subscription": "subscription"}
TITLES = {"snapshot": "Vendor snapshot", "cost-line": "Vendor cost line", "usage-row": "Usage row",
          "usage-file-set": "Usage files summed", "price-rule": "Price rule", "list-price": "Microsoft list price"}


@dataclass(frozen=True)
class Reference:
    """A record a lineage entry names: its kind (``snapshot``, ``mutation``, ``cost-line``, ...) and ledger id."""

    kind: str
    record_id: int
    text: str  # the words that name it, as stored


def references(text: str) -> list[Reference]:
    """The records named in one lineage entry (an input id or a price label), in order, each once."""
    found: dict[tuple[str, int], Reference] = {}
    for match in NAME.finditer(text):
        kind = KINDS[match.group(1)]
        found.setdefault((kind, int(match.group(2))), Reference(kind, int(match.group(2)), match.group(0)))
    return list(found.values())


@dataclass(frozen=True)
class InputRecord:
    kind: str
    record_id: int
    title: str
    tenant: str | None  # None: shared by all legal entities (list prices, general price rules)
    subscription_id: int | None
    facts: list[tuple[str, str]]
    raw: dict[str, Any] | None  # the vendor's payload as received, where the record keeps it


def _facts(row: Any, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name.replace("_", " "), "—" if getattr(row, name) is None else str(getattr(row, name)))
            for name in names]


def input_record(settings: Settings, who: Actor, kind: str, record_id: int) -> InputRecord:
    """One record a lineage names (not mutations and subscriptions: they have their own pages)."""
    if kind not in TITLES:
        raise NotFound(f"{kind} {record_id}: not a record a lineage names")
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance")
        session = uow.session
        missing = NotFound(f"{TITLES[kind].lower()} {record_id}: not found")
        if kind == "snapshot":
            snap = session.get(Snapshot, record_id)
            sub = snap and session.get(Subscription, snap.subscription_id)
            if sub is None or sub.tenant_id not in tenants:
                raise missing
            facts = _facts(snap, ("observed_at", "observed_on", "quantity", "status", "product_id", "unit_cost",
                                  "currency", "sync_run_id"))
            return InputRecord(kind, record_id, TITLES[kind], tenants[sub.tenant_id], sub.id, facts, snap.raw)
        if kind in ("cost-line", "usage-row"):
            model = CostLine if kind == "cost-line" else UsageRow
            row = session.get(model, record_id)
            if row is None or row.tenant_id not in tenants:
                raise missing
            names = (("source", "line_id", "invoice_id", "product_id", "product_name", "charge_type", "charge_start",
                      "charge_end", "quantity", "unit_price", "subtotal", "currency", "order_id")
                     if kind == "cost-line" else
                     ("source", "row_key", "usage_date", "meter_name", "meter_category", "resource_group", "quantity",
                      "cost", "currency"))
            raw = getattr(row, "raw", None)
            return InputRecord(kind, record_id, TITLES[kind], tenants[row.tenant_id], row.subscription_id,
                               _facts(row, names), raw)
        if kind == "usage-file-set":
            found = session.get(UsageFileSet, record_id)
            if found is None or found.tenant_id not in tenants:
                raise missing
            facts = [("month", found.month.strftime("%Y-%m")), ("files", str(len(found.files))),
                     ("rows", str(sum(rows for _, _, rows in found.files))), ("summed at", str(found.created_at)),
                     *((path, f"{rows} rows, sha256 {sha256}") for path, sha256, rows in found.files)]
            return InputRecord(kind, record_id, TITLES[kind], tenants[found.tenant_id], None, facts, None)
        if kind == "price-rule":
            rule = session.get(PriceRule, record_id)
            if rule is None or (rule.tenant_code is not None and rule.tenant_code not in tenants.values()):
                raise missing
            facts = _facts(rule, ("name", "import_id", "line", "customer", "product", "meter_category", "billing",
                                  "valid_from", "valid_to", "unit_price", "currency", "basis", "percent"))
            return InputRecord(kind, record_id, TITLES[kind], rule.tenant_code, None, facts, None)
        price = session.get(ListPrice, record_id)
        if price is None:
            raise missing
        facts = _facts(price, ("import_id", "line", "product_id", "sku_id", "product_title", "sku_title", "term",
                               "billing_plan", "market", "currency", "unit_price", "erp_price", "valid_from",
                               "valid_to"))
        return InputRecord(kind, record_id, TITLES[kind], None, None, facts, None)
