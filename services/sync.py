"""The nightly sync: read every configured source completely and map what it says into the ledger.

Rules this module keeps (DESIGN §1, §3; distributors.md §6; billing-rules.md §9):
- **One run per source**, a ``sync_run`` row committed first (status ``running``); everything the source said is
  then stored in *one* unit of work that also finishes the run. A source that fails (unavailable, refused login,
  missing secret, a crash half-way through its pages or while storing) leaves no data, only its run marked
  ``failed`` with the error; the other sources still run. "Missing" is never "cancelled": an incomplete pull stores
  nothing, and a subscription absent from a *complete* pull becomes a ``missing_at_vendor`` discrepancy, not a
  cancellation.
- **Malformed records** are listed in the run's errors (status ``partial``); the valid records around them are
  stored.
- **Snapshots** are appended only when a subscription's billing-relevant state (quantity, status, product, sku,
  term, billing, dates, auto-renew, unit cost, currency) differs from its latest snapshot (``state_hash``), so
  re-running a night stores nothing new; each run row records the night's coverage (``as_of``, counts, errors).
  ``observed_on`` is the billing day of ``as_of`` in the tenant's zone; ``raw`` is
  ``{"record": <normalised record>, "payload": <vendor payload>}``, so seat batches (``refundable_batches``) and
  the untouched vendor answer are both kept.
- **Customers** are matched by the source's id, then by Microsoft tenant id (kept as the external id of the pseudo
  source ``entra``), then by the reseller's reference (ERP number). A vendor customer that matches nothing is
  *created* (its licences and usage must not be dropped) in the source's legal entity; when it has licences or
  usage and no reference, an ``unmapped_customer`` discrepancy asks the desk to set its ERP reference. Usage rows
  and cost lines never create customers: an unmatched one keeps ``customer_id`` empty and is flagged.
- **Usage rows** replace the whole trailing window the source re-read, keyed by (source, row key); **cost lines**
  are upserted by (source, line id); both leave identical rows untouched.

The mapping works on whole pulls with pre-loaded id maps and batched Core statements, so the same code serves the
nightly sync and the million-record benchmark (``bench/ingest_snapshots.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config import Settings
from config.schema import MissingSecret, SourceConfig
from connectors.errors import SourceError
from connectors.records import CostLineRecord, LicenceRecord, PullResult, UsageRecord
from ledger.models import SyncRun
from ledger.repositories.snapshots import payload_text, text_hash
from ledger.types import canonical
from services.access import SYSTEM, Actor, actor, require
from services.clock import Clock
from services.errors import NotFound, UserFacingError
from services.runtime import engine_for
from services.sources import OpenSource, SourcePull, open_source
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.services.sync")

ENTRA = "entra"  # pseudo source: a customer's Microsoft (Entra) tenant id, the join key across sources
SUBSCRIPTION_COLUMNS = (
    "tenant_id", "customer_id", "vendor_subscription_id", "product_id", "sku", "product_name", "term", "billing",
    "billing_type", "start_date", "anchor_date", "term_end", "end_date", "auto_renew", "status", "currency",
)
Progress = Callable[[str, str], None]  # (source name, phase: reading | storing | done | failed)


@dataclass(frozen=True)
class SourceRunReport:
    """What one source's run did: the summary the CLI prints and the web desk lists."""

    source: str
    tenant: str
    run_id: int
    status: str  # succeeded, partial (malformed records reported), failed (nothing stored)
    counts: dict[str, int]
    errors: tuple[str, ...]
    error: str | None


@dataclass(frozen=True)
class SyncReport:
    as_of: dt.datetime
    runs: tuple[SourceRunReport, ...]

    @property
    def failed(self) -> tuple[SourceRunReport, ...]:
        return tuple(run for run in self.runs if run.status == "failed")

    def counts(self) -> dict[str, Any]:
        """Per source: status, counts and error (what the scheduler stores on its job run)."""
        return {run.source: {"status": run.status, **run.counts, **({"error": run.error} if run.error else {})}
                for run in self.runs}


@dataclass(frozen=True)
class IngestContext:
    """Where a pull lands: the ledger's source name, its legal entity and the night it describes."""

    source: str
    tenant_id: int
    zone: ZoneInfo
    as_of: dt.datetime
    run_id: int | None

    @property
    def observed_on(self) -> dt.date:
        return self.as_of.astimezone(self.zone).date()


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.values[name] = self.values.get(name, 0) + amount


def sync(
    settings: Settings,
    clock: Clock,
    *,
    source: str | None = None,
    tenant: str | None = None,
    who: Actor | None = None,
    open_reader: OpenSource = open_source,
    progress: Progress | None = None,
) -> SyncReport:
    """Read the configured sources (all enabled ones, or one by name / one legal entity's) as of ``clock.now()``."""
    who = who or actor(settings, SYSTEM)
    require(who, "desk", tenant)
    configs = _selected(settings, who, source, tenant)
    engine = engine_for(settings)
    as_of = clock.now()
    report = progress or (lambda _source, _phase: None)
    runs = tuple(_run_source(engine, settings, config, as_of, open_reader, report) for config in configs)
    return SyncReport(as_of, runs)


def _selected(settings: Settings, who: Actor, source: str | None, tenant: str | None) -> list[SourceConfig]:
    if source is not None and all(config.name != source for config in settings.sources):
        raise NotFound(f"source {source!r}: not in config.yaml sources")
    if tenant is not None and all(t.code != tenant for t in settings.tenants):
        raise NotFound(f"tenant {tenant!r}: not in config.yaml tenants")
    return [
        config
        for config in settings.sources
        if config.enabled
        and (source is None or config.name == source)
        and (tenant is None or config.tenant == tenant)
        and who.can_see(config.tenant)
    ]


def _run_source(engine: Engine, settings: Settings, config: SourceConfig, as_of: dt.datetime, open_reader: OpenSource,
                progress: Progress) -> SourceRunReport:
    with UnitOfWork(engine, write=True) as uow:
        tenant_row = uow.tenants.by_code(config.tenant)
        if tenant_row is None:
            raise NotFound(f"tenant {config.tenant!r}: not in the ledger; run `cspbill init` first")
        run_id = uow.sync_runs.start(config.name, as_of, tenant_row.id).id
        tenant_id = tenant_row.id
    context = IngestContext(config.name, tenant_id, ZoneInfo(settings.tenant(config.tenant).timezone), as_of, run_id)
    try:
        progress(config.name, "reading")
        pulled = open_reader(settings, config).read(as_of)
        progress(config.name, "storing")
        with UnitOfWork(engine, write=True) as uow:
            counts, errors = store_pull(uow, context, pulled)
            status = "partial" if errors else "succeeded"
            uow.sync_runs.finish(uow.session.get(SyncRun, run_id), status, counts, errors)
            uow.audit.record(SYSTEM, "sync", "sync_run", run_id, tenant_id, after={"status": status, **counts})
    except Exception as exc:  # any failure of one source fails its run only; the other sources go on
        message = f"{type(exc).__name__}: {exc}"
        log.warning("sync source=%s tenant=%s run=%s failed: %s", config.name, config.tenant, run_id, message,
                    exc_info=not _expected(exc))
        with UnitOfWork(engine, write=True) as uow:
            uow.sync_runs.finish(uow.session.get(SyncRun, run_id), "failed", {}, [], error=message)
        progress(config.name, "failed")
        return SourceRunReport(config.name, config.tenant, run_id, "failed", {}, (), message)
    log.info("sync source=%s tenant=%s run=%s %s %s", config.name, config.tenant, run_id, status, counts)
    progress(config.name, "done")
    return SourceRunReport(config.name, config.tenant, run_id, status, counts,
                           tuple(e["message"] for e in errors), None)


def _expected(exc: Exception) -> bool:
    """Failures people can act on (vendor down, credentials, config) are logged without a traceback."""
    return isinstance(exc, (SourceError, UserFacingError, MissingSecret))


def store_pull(uow: UnitOfWork, context: IngestContext, pulled: SourcePull) -> tuple[dict[str, int], list[dict]]:
    """Map one complete pull into the ledger (inside the caller's unit of work); returns counts and record errors."""
    result = pulled.result
    counts = Counts()
    errors = [
        {"record_id": e.record_id, "field": e.field, "problem": e.problem, "message": str(e)} for e in result.errors
    ]
    counts.add("errors", len(errors))
    customers = CustomerResolver(uow, context, counts)
    customers.resolve_all(result)
    subscriptions = LicenceIngest(uow, context, customers, counts)
    subscriptions.ingest(result.licences, skipped={e.record_id for e in result.errors})
    if result.usage or pulled.usage_window:
        _store_usage(uow, context, customers, subscriptions, result.usage, pulled.usage_window, counts)
    if result.cost_lines:
        _store_cost_lines(uow, context, subscriptions, result.cost_lines, counts)
    return counts.values, errors


@dataclass(frozen=True)
class _Seen:
    name: str
    reference: str | None
    entra_tenant: str | None
    country: str | None
    billable: bool  # has licences or usage in this pull: a created customer without reference is then flagged


class CustomerResolver:
    """Vendor customer ids -> ledger customer ids for one source, creating (and flagging) the unknown ones."""

    def __init__(self, uow: UnitOfWork, context: IngestContext, counts: Counts) -> None:
        self.uow, self.context, self.counts = uow, context, counts
        self.by_source = uow.customers.external_id_map(context.source)
        self.by_entra = uow.customers.external_id_map(ENTRA, context.tenant_id)
        self.entra_taken = set(uow.customers.external_id_map(ENTRA))
        self.by_reference = uow.customers.reference_map(context.tenant_id)

    def resolve_all(self, result: PullResult) -> None:
        seen: dict[str, _Seen] = {}
        used = {row.customer_external_id for row in result.usage}
        for customer in result.customers:
            seen[customer.external_id] = _Seen(customer.name, customer.reference, customer.tenant_id,
                                               customer.country,
                                               customer.external_id in used or customer.tenant_id in used)
        for licence in result.licences:
            known = seen.get(licence.customer_external_id)
            seen[licence.customer_external_id] = _Seen(
                known.name if known else licence.customer_name,
                (known.reference if known else None) or licence.customer_reference,
                (known.entra_tenant if known else None) or licence.customer_tenant_id,
                known.country if known else None,
                True,
            )
        self.counts.add("customers_seen", len(seen))
        self._resolve(seen)

    def _resolve(self, seen: dict[str, _Seen]) -> None:
        links: list[tuple[int, str, str]] = []
        create: list[tuple[str, _Seen]] = []
        for external_id, info in seen.items():
            customer_id = self.by_source.get(external_id)
            if customer_id is None:
                customer_id = (self.by_entra.get(info.entra_tenant or "")
                               or self.by_reference.get(info.reference or ""))
                if customer_id is None:
                    create.append((external_id, info))
                    continue
                self.by_source[external_id] = customer_id
                links.append((customer_id, self.context.source, external_id))
            links += self._entra_link(customer_id, info)
        ids = self.uow.customers.add_many([
            {"tenant_id": self.context.tenant_id, "name": info.name, "reference": info.reference,
             "country": info.country, "is_business": True, "created_at": self.context.as_of}
            for _, info in create
        ])
        for (external_id, info), customer_id in zip(create, ids, strict=True):
            self.by_source[external_id] = customer_id
            links.append((customer_id, self.context.source, external_id))
            links += self._entra_link(customer_id, info)
            if info.reference:
                self.by_reference[info.reference] = customer_id
            elif info.billable:
                self._flag_unmapped(external_id, info, customer_id)
        self.uow.customers.link_many(links)
        self.counts.add("customers_created", len(create))

    def _entra_link(self, customer_id: int, info: _Seen) -> list[tuple[int, str, str]]:
        tenant = info.entra_tenant
        if not tenant or tenant in self.entra_taken:
            return []
        self.entra_taken.add(tenant)
        self.by_entra[tenant] = customer_id
        return [(customer_id, ENTRA, tenant)]

    def _flag_unmapped(self, external_id: str, info: _Seen, customer_id: int) -> None:
        sentence = (
            f"{self.context.source} customer {info.name!r} ({external_id}) matched no ledger customer by id, "
            f"Microsoft tenant or reference: created customer {customer_id} without an ERP reference; set it"
        )
        _, created = self.uow.discrepancies.raise_(
            f"unmapped_customer:{self.context.source}:{external_id}", self.context.as_of,
            tenant_id=self.context.tenant_id, customer_id=customer_id, kind="unmapped_customer",
            day=self.context.observed_on, sentence=sentence,
            details={"source": self.context.source, "external_id": external_id},
        )
        self.counts.add("discrepancies_raised", int(created))

    def lookup(self, external_id: str) -> int | None:
        """A customer id for usage/cost rows: by this source's id, else by Microsoft tenant id (no creation)."""
        return self.by_source.get(external_id) or self.by_entra.get(external_id)


def ledger_key(record: LicenceRecord) -> str:
    """The subscription's ``external_id`` in the ledger: the source's subscription id, plus the line id when the
    source has several product lines per subscription (Ingram CMP: a product id is unique only within one)."""
    if record.line_external_id == record.subscription_external_id:
        return record.subscription_external_id
    return f"{record.subscription_external_id}/{record.line_external_id}"


def state_of(record: LicenceRecord) -> tuple[str, ...]:
    """The billing-relevant state of a licence record; a new snapshot is stored exactly when it changes."""
    return (
        _number(record.quantity), record.status, record.product_id, record.sku or "", record.commitment_term or "",
        record.billing_frequency, record.billing_type, _text(record.term_start), _text(record.term_end),
        _text(record.auto_renew), _number(record.unit_cost), record.currency,
    )


def state_hash(record: LicenceRecord) -> str:
    return hashlib.sha256("|".join(state_of(record)).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=65536)
def _number(value: Any) -> str:
    """Canonical text of a quantity or price (equal decimals, equal text); cached: nights repeat few values."""
    return "" if value is None else format(canonical(value), "f")


@functools.lru_cache(maxsize=65536)
def _text(value: Any) -> str:
    return "" if value is None else str(value)


@functools.lru_cache(maxsize=65536)
def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def record_json(record: LicenceRecord) -> dict[str, Any]:
    """The normalised record as JSON-ready values (stored next to the vendor payload in ``snapshots.raw``); fields the
    source left empty are omitted."""
    values = {
        "source_account_id": record.source_account_id,
        "customer_external_id": record.customer_external_id,
        "customer_reference": record.customer_reference,
        "customer_tenant_id": record.customer_tenant_id,
        "subscription_external_id": record.subscription_external_id,
        "line_external_id": record.line_external_id,
        "vendor_subscription_id": record.vendor_subscription_id,
        "parent_subscription_id": record.parent_subscription_id,
        "product_id": record.product_id,
        "sku": record.sku,
        "vendor_sku": record.vendor_sku,
        "quantity": _number(record.quantity),
        "assigned_quantity": _number(record.assigned_quantity) or None,
        "unit_cost": _number(record.unit_cost) or None,
        "unit_cost_field": record.unit_cost_field,
        "unit_price": _number(record.unit_price) or None,
        "currency": record.currency,
        "commitment_term": record.commitment_term,
        "billing_frequency": record.billing_frequency,
        "billing_type": record.billing_type,
        "status": record.status,
        "status_raw": record.status_raw,
        "term_start": _iso(record.term_start),
        "term_end": _iso(record.term_end),
        "renewal_date": _iso(record.renewal_date),
        "auto_renew": record.auto_renew,
        "cancellation_allowed_until": _iso(record.cancellation_allowed_until),
        "refundable_batches": [[_number(q), _iso(until)] for q, until in record.refundable_batches],
        "source_updated_at": _iso(record.source_updated_at),
        "as_of": _iso(record.as_of),
    }
    return {key: value for key, value in values.items() if value is not None and value != []}


class LicenceIngest:
    """Licence records -> subscriptions (kept current) and snapshots (appended on change), in bulk."""

    def __init__(self, uow: UnitOfWork, context: IngestContext, customers: CustomerResolver, counts: Counts) -> None:
        self.uow, self.context, self.customers, self.counts = uow, context, customers, counts
        rows = uow.subscriptions.rows_of_source(context.source, SUBSCRIPTION_COLUMNS)
        self.existing: dict[str, dict[str, Any]] = {row["external_id"]: row for row in rows}
        self._first_lines: dict[str, int] | None = None
        self.by_vendor_id: dict[str, int] = {
            row["vendor_subscription_id"]: row["id"] for row in rows if row["vendor_subscription_id"]
        }

    def subscription_id(self, external_id: str) -> int | None:
        """A subscription id by this source's id (its first line) or by the Microsoft subscription id."""
        row = self.existing.get(external_id)
        if row is not None:
            return row["id"]
        if self._first_lines is None:  # built once, after the licences of the pull are stored
            self._first_lines = {}
            for key in sorted(self.existing, reverse=True):
                if "/" in key:
                    self._first_lines[key.split("/", 1)[0]] = self.existing[key]["id"]
        return self._first_lines.get(external_id) or self.by_vendor_id.get(external_id)

    def ingest(self, licences: Iterable[LicenceRecord], skipped: set[str] = frozenset()) -> None:
        latest: dict[str, LicenceRecord] = {ledger_key(record): record for record in licences}
        self.counts.add("subscriptions_seen", len(latest))
        fields = {key: self._fields(record) for key, record in latest.items()}
        self._insert_new(fields)
        self._update_changed(fields)
        self._append_snapshots(latest)
        self._flag_missing(set(latest) | skipped)

    def _fields(self, record: LicenceRecord) -> dict[str, Any]:
        old = self.existing.get(ledger_key(record))
        end_date = None
        if record.status == "cancelled":
            end_date = (old or {}).get("end_date") or _last_day_before(record, self.context.observed_on)
        return {
            "tenant_id": self.context.tenant_id,
            "customer_id": self.customers.by_source[record.customer_external_id],
            "vendor_subscription_id": record.vendor_subscription_id,
            "product_id": record.product_id,
            "sku": record.sku,
            "product_name": record.product_name,
            "term": record.commitment_term,
            "billing": record.billing_frequency,
            "billing_type": record.billing_type,
            "start_date": record.term_start,
            "anchor_date": record.term_start,
            "term_end": record.term_end,
            "end_date": end_date,
            "auto_renew": record.auto_renew,
            "status": record.status,
            "currency": record.currency,
        }

    def _insert_new(self, fields: dict[str, dict[str, Any]]) -> None:
        new = [key for key in fields if key not in self.existing]
        rows = [{**fields[key], "source": self.context.source, "external_id": key,
                 "created_at": self.context.as_of, "updated_at": self.context.as_of} for key in new]
        ids = self.uow.subscriptions.add_many(self.context.source, rows)
        for key in new:
            subscription_id = ids[key]
            self.existing[key] = {**fields[key], "id": subscription_id, "external_id": key, "_new": True}
            vendor_id = fields[key]["vendor_subscription_id"]
            if vendor_id:
                self.by_vendor_id.setdefault(vendor_id, subscription_id)
        self.counts.add("subscriptions_created", len(new))

    def _update_changed(self, fields: dict[str, dict[str, Any]]) -> None:
        changed = []
        for key, new in fields.items():
            old = self.existing[key]
            if old.get("_new"):
                continue
            if any(old[name] != new[name] for name in SUBSCRIPTION_COLUMNS):
                changed.append({"id": old["id"], **new, "updated_at": self.context.as_of})
                old.update(new)
        self.uow.subscriptions.update_many(changed)
        self.counts.add("subscriptions_updated", len(changed))

    def _append_snapshots(self, latest: dict[str, LicenceRecord]) -> None:
        known = any(not self.existing[key].get("_new") for key in latest)
        previous = self.uow.snapshots.latest_state_hashes_of_source(self.context.source) if known else {}
        rows = []
        for key, record in latest.items():
            subscription_id = self.existing[key]["id"]
            digest = state_hash(record)
            if previous.get(subscription_id) == digest:
                continue
            text = payload_text({"record": record_json(record), "payload": record.raw})
            rows.append({
                "subscription_id": subscription_id,
                "sync_run_id": self.context.run_id,
                "observed_at": self.context.as_of,
                "observed_on": self.context.observed_on,
                "quantity": record.quantity,
                "status": record.status,
                "product_id": record.product_id,
                "unit_cost": record.unit_cost,
                "currency": record.currency,
                "raw": text,
                "raw_hash": text_hash(text),
                "state_hash": digest,
            })
            if len(rows) >= 20_000:
                self.counts.add("snapshots_stored", self.uow.snapshots.add_many(rows))
                rows = []
        self.counts.add("snapshots_stored", self.uow.snapshots.add_many(rows))

    def _flag_missing(self, present: set[str]) -> None:
        """A subscription a complete pull no longer lists is flagged, never cancelled on our own."""
        for key, row in self.existing.items():
            if key in present or row["status"] == "cancelled":
                continue
            _, created = self.uow.discrepancies.raise_(
                f"missing_at_vendor:{row['id']}", self.context.as_of,
                tenant_id=self.context.tenant_id, customer_id=row["customer_id"], subscription_id=row["id"],
                kind="missing_at_vendor", day=self.context.observed_on,
                sentence=(f"{self.context.source} no longer lists subscription {key} (sub {row['id']}) since "
                          f"{self.context.observed_on}; last known state kept, not cancelled"),
                details={"source": self.context.source, "external_id": key},
            )
            self.counts.add("discrepancies_raised", int(created))


def _last_day_before(record: LicenceRecord, observed_on: dt.date) -> dt.date:
    """The last billed day of a cancellation: the day before the source says it changed (else before we saw it)."""
    changed = record.source_updated_at
    day = changed.date() if isinstance(changed, dt.datetime) else (changed or observed_on)
    day = min(day, observed_on) - dt.timedelta(days=1)
    return max(day, record.term_start) if record.term_start else day


def _json_ready(raw: dict[str, Any]) -> dict[str, Any]:
    """Vendor payloads carry ``Decimal``s; the JSON column gets their text."""
    return json.loads(payload_text(raw))


def _store_usage(uow: UnitOfWork, context: IngestContext, customers: CustomerResolver, subscriptions: LicenceIngest,
                 usage: Sequence[UsageRecord], window: tuple[dt.date, dt.date] | None, counts: Counts) -> None:
    days = [row.usage_date for row in usage]
    first = min([*days, *(window[:1] if window else ())])
    last = max([*days, *(window[1:] if window else ())])
    unmapped: dict[str, str] = {}
    rows = []
    for row in usage:
        customer_id = customers.lookup(row.customer_external_id)
        if customer_id is None:
            unmapped[row.customer_external_id] = row.subscription_external_id
        rows.append({
            "tenant_id": context.tenant_id,
            "customer_id": customer_id,
            "subscription_id": subscriptions.subscription_id(row.subscription_external_id),
            "row_key": row.row_key,
            "subscription_external_id": row.subscription_external_id,
            "usage_date": row.usage_date,
            "meter_id": row.meter_id,
            "meter_name": row.meter_name,
            "meter_category": row.meter_category,
            "resource_group": row.resource_group,
            "resource_location": row.resource_location,
            "tags": dict(row.tags),
            "quantity": canonical(row.quantity),
            "cost": canonical(row.cost),
            "currency": row.currency,
        })
    replaced = uow.usage.replace_window(context.source, first, last, rows, context.run_id)
    counts.add("usage_inserted", replaced.inserted)
    counts.add("usage_updated", replaced.updated)
    counts.add("usage_removed", replaced.removed)
    for external_id, azure_subscription in unmapped.items():
        _, created = uow.discrepancies.raise_(
            f"unmapped_usage:{context.source}:{external_id}", context.as_of, tenant_id=context.tenant_id,
            kind="unmapped_usage", day=context.observed_on,
            sentence=(f"{context.source} usage of customer {external_id} (Azure subscription {azure_subscription}) "
                      f"matches no ledger customer; link the customer before billing its usage"),
            details={"source": context.source, "customer_external_id": external_id},
        )
        counts.add("discrepancies_raised", int(created))


def _store_cost_lines(uow: UnitOfWork, context: IngestContext, subscriptions: LicenceIngest,
                      lines: Sequence[CostLineRecord], counts: Counts) -> None:
    rows = [{
        "tenant_id": context.tenant_id,
        "subscription_id": subscriptions.subscription_id(line.subscription_external_id),
        "line_id": line.line_id,
        "customer_external_id": line.customer_external_id,
        "subscription_external_id": line.subscription_external_id,
        "product_id": line.product_id,
        "charge_type": line.charge_type,
        "charge_start": line.charge_start,
        "charge_end": line.charge_end,
        "quantity": canonical(line.quantity),
        "unit_price": canonical(line.unit_price),
        "subtotal": canonical(line.subtotal),
        "currency": line.currency,
        "reference_id": line.reference_id,
        "invoice_id": line.invoice_id,
        "raw": _json_ready(line.raw),
    } for line in {line.line_id: line for line in lines}.values()]
    stored = uow.cost_lines.upsert_many(context.source, rows, context.run_id)
    counts.add("cost_lines_inserted", stored.inserted)
    counts.add("cost_lines_updated", stored.updated)
