"""`cspbill prices import|reprice`: new editions of the price book, each stored once and audited.

Why editions: prices are never edited in place. A rules CSV, Microsoft's licence price list, the config's
``price_rules`` and an explicit reprice each become one import with an increasing id; batches remember the edition
they were priced with (see ``services.batches.editions``). The same file imported twice is one edition; config.yaml's
rules become a new edition only when they change, and each config edition replaces the one before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from config import Settings
from services.access import Actor, require, require_person
from services.clock import Clock, SystemClock
from services.errors import NotConfigured, ValidationFailed
from services.identity import confirm
from services.prices.files import Known, PriceFileRefused, read_microsoft, read_rules
from services.progress import Counted, count
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
CONFIG_SOURCE = "config.yaml price_rules"
STORE_CHUNK = 2000  # rows per insert of an import, so a large price list reports progress as it is stored


@dataclass(frozen=True)
class ImportReport:
    edition: int
    kind: str
    source: str
    rows: int
    created: bool


def _digest(content: bytes | str) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


def config_rows(settings: Settings) -> list[dict[str, Any]]:
    """config.yaml's ``price_rules`` as rule rows (named by their index, which lineage shows next to the id)."""
    return [{
        "line": index, "name": f"price_rules[{index}]", "tenant_code": rule.tenant, "customer": rule.customer,
        "product": rule.product, "meter_category": rule.meter_category, "billing": rule.billing,
        "valid_from": rule.valid_from, "valid_to": rule.valid_to, "unit_price": rule.unit_price,
        "currency": rule.currency, "basis": None if rule.unit_price is not None else rule.basis,
        "percent": rule.markup_percent,
    } for index, rule in enumerate(settings.price_rules)]


def sync_config(uow: UnitOfWork, settings: Settings, actor_name: str) -> int | None:
    """Record config.yaml's rules as a new edition when they differ from the last config edition (inside the
    caller's unit of work); returns that edition's id, or ``None`` when nothing changed."""
    rows = config_rows(settings)
    content = json.dumps(rows, sort_keys=True, default=str)
    source = f"{CONFIG_SOURCE} ({_digest(content)[:16]})"
    latest = uow.prices.latest_import("config")
    if latest is not None and latest.source == source:
        return None
    # The previous edition is part of the key, so a config that returns to earlier rules is a new edition.
    sha = _digest(f"{latest.id if latest else 0}|{content}")
    try:
        with uow.session.begin_nested():
            edition = uow.prices.add_import(kind="config", source=source, sha256=sha, rows=len(rows),
                                            recorded_by=actor_name)
            uow.prices.add_rules(edition.id, rows)
    except IntegrityError:  # another process recorded the same change a moment ago
        return None
    uow.audit.record(actor_name, "prices.config", "price_import", edition.id, None, after={"rules": len(rows)},
                     detail=f"edition {edition.id}: {len(rows)} rule(s) from {CONFIG_SOURCE}")
    log.info("price book edition=%s kind=config rules=%s", edition.id, len(rows))
    return edition.id


def _require_everywhere(settings: Settings, who: Actor, tenants: set[str | None]) -> None:
    """Finance of every legal entity a file touches: general rows touch them all; Microsoft's list the legal entities
    in its markets."""
    codes = [t.code for t in settings.tenants] if None in tenants else sorted(c for c in tenants if c)
    for code in codes:
        require(who, "finance", code)


def detect_kind(text: str) -> str:
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    return "microsoft" if "ProductId" in header and "SkuId" in header else "rules"


def import_file(settings: Settings, path: Path, who: Actor, kind: str | None = None,
                counted: Counted | None = None) -> ImportReport:
    """Import a rules CSV or Microsoft's price list from a file (see :func:`import_content`)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot read the file ({exc.strerror})") from None
    return import_content(settings, path.name, content, who, kind, counted)


def import_content(settings: Settings, name: str, content: bytes, who: Actor,
                   kind: str | None = None, counted: Counted | None = None) -> ImportReport:
    """Import a rules CSV or Microsoft's price list (``name`` as problems should call it) as one edition: all rows
    or none; the same content twice is one edition. ``counted`` is told how many rows are stored so far."""
    require(who, "finance")
    require_person(who, "importing prices")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{name}: not a UTF-8 CSV file") from None
    kind = kind or detect_kind(text)
    if kind not in ("rules", "microsoft"):
        raise ValidationFailed(f"--kind {kind!r}: use rules or microsoft")
    sha = _digest(content)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        done = uow.prices.find_import(kind, sha)
        if done is not None:
            return ImportReport(done.id, kind, done.source, done.rows, False)
        if kind == "microsoft":
            rows = read_microsoft(name, text)
            markets = {row["market"] for row in rows}
            _require_everywhere(settings, who, {t.code for t in settings.tenants if t.country in markets})
        else:
            known = Known({t.code for t in settings.tenants}, uow.prices.known_products(),
                          uow.prices.known_customers())
            rows = read_rules(name, text, known)
            _require_everywhere(settings, who, {row["tenant_code"] for row in rows})
        if not rows:
            raise PriceFileRefused([f"{name}:2 rows: the file holds no price rows"])
        sync_config(uow, settings, who.username)  # config's rules stay older than the file's
        edition = uow.prices.add_import(kind=kind, source=name[:300], sha256=sha, rows=len(rows),
                                        recorded_by=who.username)
        add = uow.prices.add_list_prices if kind == "microsoft" else uow.prices.add_rules
        for start in range(0, len(rows), STORE_CHUNK):  # one transaction still: all rows or none
            add(edition.id, rows[start:start + STORE_CHUNK])
            count(counted, "rows", min(start + STORE_CHUNK, len(rows)), len(rows))
        uow.audit.record(who.username, "prices.import", "price_import", edition.id, None,
                         after={"kind": kind, "rows": len(rows), "sha256": sha},
                         detail=f"edition {edition.id}: {len(rows)} {kind} row(s) from {name}")
        log.info("price book edition=%s kind=%s rows=%s file=%s", edition.id, kind, len(rows), name)
        return ImportReport(edition.id, kind, name, len(rows), True)


def reprice(settings: Settings, tenant_code: str | None, start: dt.date, reason: str, who: Actor,
            clock: Clock | None = None) -> ImportReport:
    """Reprice what ``tenant_code`` (``None``: every legal entity) invoiced from ``start`` on with today's book: the
    next build of an open month corrects every billed period from that day, with the reason and the old and new
    price in its lineage."""
    require_person(who, "repricing")
    if tenant_code is not None and tenant_code not in {t.code for t in settings.tenants}:
        raise NotConfigured(f"tenant {tenant_code!r}: not in config.yaml tenants")
    _require_everywhere(settings, who, {tenant_code})
    if not reason.strip():
        raise ValidationFailed("--reason: say why the past is repriced (it goes on every correction line)")
    now = (clock or SystemClock()).now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        tenant = uow.tenants.by_code(tenant_code) if tenant_code else None
        sync_config(uow, settings, who.username)
        edition = uow.prices.add_import(kind="reprice", source=reason.strip()[:300], sha256=uuid.uuid4().hex,
                                        rows=0, tenant_code=tenant_code, reprice_from=start, reason=reason.strip(),
                                        recorded_by=who.username)
        uow.audit.record(who.username, "prices.reprice", "price_import", edition.id, tenant.id if tenant else None,
                         after={"from": start.isoformat(), "reason": reason.strip(), "at": now.isoformat()},
                         detail=f"{tenant_code or 'every legal entity'}: {start.isoformat()} on: {reason.strip()}",
                         at=now)
        return ImportReport(edition.id, "reprice", reason.strip(), 0, True)
