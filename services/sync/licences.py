"""Licence records -> subscriptions (kept current) and snapshots (appended on change).

**Subscriptions** follow the vendor's latest answer, except their first day and billing anchor: a renewal moves the
vendor's term start, never the dates of the terms already invoiced (``first_term``).

**Snapshots** are appended only when a subscription's billing-relevant state (quantity, status, product, sku, term,
billing, dates, auto-renew, unit cost, currency) differs from its latest snapshot (``state_hash``), so re-running a
night stores nothing new. ``observed_on`` is the billing day of ``as_of`` in the tenant's zone; ``raw`` is
``{"record": <normalised record>, "payload": <vendor payload>}``, so seat batches (``refundable_batches``) and the
untouched vendor answer are both kept. A subscription a complete pull no longer lists is flagged
(``missing_at_vendor``), never cancelled on our own.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Any

from connectors.records import LicenceRecord
from ledger.repositories.bulk_insert import Columns
from ledger.repositories.snapshots import text_hash
from services.sync.context import Counts, IngestContext
from services.sync.customers import CustomerResolver
from services.sync.licence_text import number, snapshot_texts
from services.uow import UnitOfWork

SUBSCRIPTION_COLUMNS = (
    "tenant_id", "customer_id", "vendor_subscription_id", "product_id", "sku", "product_name", "term", "billing",
    "billing_type", "start_date", "anchor_date", "term_end", "end_date", "auto_renew", "status", "currency",
)
SNAPSHOT_CHUNK = 5_000  # snapshot rows serialised per step of the write (the COPY's server side overlaps the next)

def ledger_key(record: LicenceRecord) -> str:
    """The subscription's ``external_id`` in the ledger (``ledger_external_id`` of the record's ids)."""
    return ledger_external_id(record.subscription_external_id, record.line_external_id)


def ledger_external_id(subscription_external_id: str, line_external_id: str) -> str:
    """The source's subscription id, plus the line id when the source has several product lines per subscription
    (Ingram CMP: a product id is unique only within one)."""
    if line_external_id == subscription_external_id:
        return subscription_external_id
    return f"{subscription_external_id}/{line_external_id}"


def state_of(record: LicenceRecord) -> tuple[str, ...]:
    """The billing-relevant state of a licence record; a new snapshot is stored exactly when it changes."""
    return (
        number(record.quantity), record.status, record.product_id, record.sku or "", record.commitment_term or "",
        record.billing_frequency, record.billing_type, _text(record.term_start), _text(record.term_end),
        _text(record.auto_renew), number(record.unit_cost), record.currency,
    )


def state_hash(record: LicenceRecord) -> str:
    return _digest(state_of(record))


@functools.lru_cache(maxsize=65536)
def _digest(state: tuple[str, ...]) -> str:
    """Cached: a night's records share few states (the ids are not part of it)."""
    return hashlib.sha256("|".join(state).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=65536)
def _text(value: Any) -> str:
    return "" if value is None else str(value)


class LicenceIngest:
    """Licence records -> subscriptions (kept current) and snapshots (appended on change), in bulk."""

    def __init__(self, uow: UnitOfWork, context: IngestContext, customers: CustomerResolver, counts: Counts) -> None:
        self.uow, self.context, self.customers, self.counts = uow, context, customers, counts
        rows = uow.subscriptions.rows_of_source(context.source, SUBSCRIPTION_COLUMNS)
        self.existing: dict[str, dict[str, Any]] = {row["external_id"]: row for row in rows}
        self._first_lines: dict[str, int] | None = None
        self.created: set[str] = set()  # the keys of the subscriptions this pull created
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
        self._update_changed(latest)
        self._insert_new(latest)
        self._append_snapshots(latest)
        self._flag_missing(set(latest) | skipped)

    def _fields(self, record: LicenceRecord, old: dict[str, Any] | None) -> dict[str, Any]:
        """The subscription columns ``record`` gives, against the stored row ``old`` (``None``: a new one)."""
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
            **first_term(old, record.term_start),
            "term_end": record.term_end,
            "end_date": end_date,
            "auto_renew": record.auto_renew,
            "status": record.status,
            "currency": record.currency,
        }

    def _insert_new(self, latest: dict[str, LicenceRecord]) -> None:
        """Subscriptions this source shows for the first time, mapped chunk by chunk while the ledger writes the
        chunk before (a first night maps a million)."""
        new = [key for key in latest if key not in self.existing]
        source, as_of = self.context.source, self.context.as_of

        def rows() -> Iterator[list[dict[str, Any]]]:
            for start in range(0, len(new), SNAPSHOT_CHUNK):
                chunk = []
                for key in new[start:start + SNAPSHOT_CHUNK]:
                    row = self._fields(latest[key], None)  # one dict: the row written, then the known subscription
                    row.update(source=source, external_id=key, created_at=as_of, updated_at=as_of)
                    chunk.append(row)
                    self.existing[key] = row
                yield chunk

        ids = self.uow.subscriptions.add_many(source, rows())
        self.created.update(new)
        for key in new:
            row = self.existing[key]
            row["id"] = ids[key]
            if row["vendor_subscription_id"]:
                self.by_vendor_id.setdefault(row["vendor_subscription_id"], row["id"])
        self.counts.add("subscriptions_created", len(new))

    def _update_changed(self, latest: dict[str, LicenceRecord]) -> None:
        """Subscriptions already in the ledger whose descriptive state the source changed."""
        changed = []
        for key, record in latest.items():
            old = self.existing.get(key)
            if old is None:
                continue
            new = self._fields(record, old)
            if any(old[name] != new[name] for name in SUBSCRIPTION_COLUMNS):
                changed.append({"id": old["id"], **new, "updated_at": self.context.as_of})
                old.update(new)
        self.uow.subscriptions.update_many(changed)
        self.counts.add("subscriptions_updated", len(changed))

    def _append_snapshots(self, latest: dict[str, LicenceRecord]) -> None:
        known = any(key not in self.created for key in latest)
        previous = self.uow.snapshots.latest_state_hashes_of_source(self.context.source) if known else {}
        self.counts.add("snapshots_stored", self.uow.snapshots.add_chunks(self._new_snapshots(latest, previous)))

    def _new_snapshots(self, latest: dict[str, LicenceRecord], previous: dict[int, str]) -> Iterator[Columns]:
        """Snapshot rows of the records whose billing state differs from the last one stored, a chunk of columns at a
        time: the ledger stores one chunk while the next is serialised."""
        keys = list(latest)
        for start in range(0, len(keys), SNAPSHOT_CHUNK):
            ids, digests, records = [], [], []
            for key in keys[start:start + SNAPSHOT_CHUNK]:
                subscription_id, record = self.existing[key]["id"], latest[key]
                digest = state_hash(record)
                if previous.get(subscription_id) != digest:
                    ids.append(subscription_id)
                    digests.append(digest)
                    records.append(record)
            texts, count = snapshot_texts(records), len(records)
            yield Columns({
                "subscription_id": ids,
                "sync_run_id": [self.context.run_id] * count,
                "observed_at": [self.context.as_of] * count,
                "observed_on": [self.context.observed_on] * count,
                "quantity": list(map(attrgetter("quantity"), records)),
                "status": list(map(attrgetter("status"), records)),
                "product_id": list(map(attrgetter("product_id"), records)),
                "unit_cost": list(map(attrgetter("unit_cost"), records)),
                "currency": list(map(attrgetter("currency"), records)),
                "raw": texts,
                "raw_hash": list(map(text_hash, texts)),
                "state_hash": digests,
            })

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


def first_term(old: dict[str, Any] | None, term_start: dt.date | None) -> dict[str, dt.date | None]:
    """The subscription's first day and billing anchor, given the term start the vendor reports tonight.

    Vendors report the *current* term (Partner Center moves ``effectiveStartDate`` to the renewal day), but a renewal
    starts a new term on the same billing day (reference/microsoft.md §3.2, §3.9): the invoiced terms before it keep
    their dates. So a later term start keeps the stored start and anchor; an earlier one is the vendor correcting the
    start, and is followed; a night without a term start keeps what is stored.
    """
    first = None if old is None else old.get("start_date")
    if first is None or (term_start is not None and term_start < first):
        return {"start_date": term_start, "anchor_date": term_start}
    return {"start_date": first, "anchor_date": old.get("anchor_date") or first}


def _last_day_before(record: LicenceRecord, observed_on: dt.date) -> dt.date:
    """The last billed day of a cancellation: the day before the source says it changed (else before we saw it)."""
    changed = record.source_updated_at
    day = changed.date() if isinstance(changed, dt.datetime) else (changed or observed_on)
    day = min(day, observed_on) - dt.timedelta(days=1)
    return max(day, record.term_start) if record.term_start else day
