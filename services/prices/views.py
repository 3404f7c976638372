"""`cspbill prices list|show` and the finance price page: the book as it stands, its editions and their rows.

Why apart from the imports: reading is open to finance and the desk of a legal entity, and shows the same rows a
build resolves (config rules retired by a later config edition are not in force), so what finance sees is what
prices the next draft.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from config import Settings
from services.access import Actor, require
from services.errors import NotFound
from services.prices.book import rule_label
from services.runtime import engine_for
from services.uow import UnitOfWork

RULE_FIELDS = ("tenant_code", "customer", "product", "meter_category", "billing", "valid_from", "valid_to",
               "unit_price", "currency", "basis", "percent")
LIST_FIELDS = ("product_id", "sku_id", "product_title", "sku_title", "term", "billing_plan", "market", "currency",
               "unit_price", "erp_price", "valid_from", "valid_to")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else (None if value is None else str(value))


def _edition(row: Any) -> dict[str, Any]:
    return {"edition": row.id, "kind": row.kind, "source": row.source, "rows": row.rows,
            "tenant": row.tenant_code, "reprice_from": _plain(row.reprice_from), "reason": row.reason,
            "recorded_by": row.recorded_by, "recorded_at": row.recorded_at.isoformat()}


def _rule(row: Any) -> dict[str, Any]:
    return {"id": row.id, "label": rule_label(row.id, row.name), "edition": row.import_id, "line": row.line,
            **{name: _plain(getattr(row, name)) for name in RULE_FIELDS}}


def book_view(settings: Settings, who: Actor, tenant_code: str | None = None,
              on: dt.date | None = None) -> dict[str, Any]:
    """The rules in force in the latest edition (for one legal entity, and valid ``on`` a day when given), the
    editions newest first, and the reprices."""
    require(who, "desk", tenant_code)
    with UnitOfWork(engine_for(settings)) as uow:
        config_editions = uow.prices.config_imports()
        current_config = config_editions[-1] if config_editions else None
        rules = [row for row in uow.prices.rules(tenant_code)
                 if (row.kind != "config" or row.import_id == current_config)
                 and (tenant_code is not None or row.tenant_code is None or who.can_see(row.tenant_code))
                 and (on is None or ((row.valid_from or dt.date.min) <= on <= (row.valid_to or dt.date.max)))]
        editions = [_edition(row) for row in uow.prices.imports()]
        return {"edition": uow.prices.edition(), "tenant": tenant_code, "on": _plain(on),
                "rules": [_rule(row) for row in rules], "editions": editions,
                "reprices": [e for e in editions if e["kind"] == "reprice"]}


def edition_view(settings: Settings, edition_id: int, who: Actor, limit: int = 500) -> dict[str, Any]:
    """One edition with its rows (rules, or Microsoft list prices up to ``limit``)."""
    require(who, "desk")
    with UnitOfWork(engine_for(settings)) as uow:
        edition = uow.prices.get_import(edition_id)
        if edition is None:
            raise NotFound(f"price edition {edition_id}: no such import (see `cspbill prices list`)")
        view = _edition(edition)
        if edition.kind == "microsoft":
            view["list_prices"] = [{"id": row.id, "line": row.line, **{n: _plain(getattr(row, n)) for n in LIST_FIELDS}}
                                   for row in uow.prices.list_prices(import_id=edition_id, limit=limit)]
        else:
            view["rules"] = [_rule(row) for row in uow.prices.rules(import_id=edition_id)
                             if row.tenant_code is None or who.can_see(row.tenant_code)]
        return view
