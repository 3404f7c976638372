"""`cspbill batch build`: the draft batch of one legal entity and month = should-be-billed − already-billed.

One unit of work: the ledger is read, every subscription rated (``rating.proration``), usage priced, the difference
to billed lines computed per line key and written as a diff against the existing draft (lines are added, changed or
removed; unchanged lines keep their ids), with an audit event carrying the totals before and after. Building twice
on the same ledger changes nothing. Approved and exported batches are never rebuilt: their late data becomes
correction lines in the next batch.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.exc import IntegrityError

from config import Settings
from ledger import checkpoints
from ledger.models import Batch
from ledger.repositories.bulk_insert import Written
from ledger.repositories.invoices import LineRow
from ledger.shards import Shard
from rating.months import month_bounds
from services import notifications as notices
from services.access import Actor, require
from services.allocation import bulk_allocation
from services.batches.change_sums import ChangeSums
from services.batches.desired import Part, Scope, tenant_config
from services.batches.invoicing import BatchTotals, InvoiceDraft
from services.batches.months import CLOSED, owned_months, parse_month
from services.batches.partitions import dask_scheduler, rated_parts, stored_behind
from services.batches.prepared import (
    DraftedChanges,
    DraftedCounts,
    prepare_review,
    revision_of,
    vendor_count_state,
    vendor_counts_stored,
)
from services.batches.usage_store import usage_days, usage_groups
from services.clock import Clock, SystemClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.identity import confirm
from services.prices import sync_config
from services.progress import Counted
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
MAX_PROBLEMS = 200
ENGINES = ("bulk", "scalar")  # how licences are rated; both give the same lines


@dataclass(frozen=True)
class BuildReport:
    batch_id: int
    tenant: str
    month: str
    status: str
    created: bool
    invoices: int
    lines: int
    added: int
    changed: int
    removed: int
    totals: dict[str, Any]
    problems: list[str] = field(default_factory=list)


@dataclass
class _Drafted:
    """What a build wrote: lines added, changed and removed, the totals, the problems per partition; and the nets
    the ranges added up (``changes``)."""

    changes: DraftedChanges
    added: int = 0
    changed: int = 0
    removed: int = 0
    totals: BatchTotals = field(default_factory=BatchTotals)
    problems: dict[int, list[str]] = field(default_factory=dict)
    counts: DraftedCounts | None = None  # the vendor counts the ranges worked out, when asked to

    def problem_list(self) -> list[str]:
        return [problem for index in sorted(self.problems) for problem in self.problems[index]]


def _draft(uow: UnitOfWork, settings: Settings, tenant_code: str, batch: Batch, statuses: dict[str, str],
           counted: Counted | None, engine: str, dask: str | None) -> _Drafted:
    """Draft the month partition by partition (``services.batches.partitions``) and write each partition's
    invoices as a diff against the draft's lines of the same customers. ``engine`` rates the licences: ``bulk`` (the
    vectorised engine where it applies, the scalar one elsewhere) or ``scalar`` (every subscription by the reference
    engine; same lines, for support). With a Dask scheduler's address in ``dask`` the partitions are rated on that
    cluster; the draft is the same.

    A partition's new lines are the last thing its store writes, and on SQLite the writer thread may still be storing
    them while the next partition is rated (on a connection of its own): the ledger's work overlaps this process's.
    Each store waits for the one before; a failure stops the writer before the unit of work rolls back."""
    month = batch.month
    first, last = owned_months(month, statuses)
    closed = frozenset(m for m, status in statuses.items() if status in CLOSED)
    state = vendor_count_state(uow, batch)  # before any range reads: what the ranges' vendor counts are true for
    counting = not vendor_counts_stored(uow, batch, state)  # stored and still true: only a changed draft walks
    fresh = not uow.invoices.any_invoice(batch.id)
    previous = uow.batches.previous(batch.tenant_id, month)
    scope = Scope(tenant_code, batch.tenant_id, parse_month(first)[0], parse_month(last)[1],
                  parse_month(min([*statuses, month]))[0], first, last, month, closed, engine,
                  vendor_counts=counting, previous_id=previous.id if previous else None)
    drafted = _Drafted(DraftedChanges(ChangeSums(), revision_of(previous)),
                       counts=DraftedCounts({}, state) if counting else None)
    pending = Written(0)
    try:
        with usage_groups(uow, settings, batch.tenant_id, *usage_days(scope.first_day, scope.last_day),
                          counted) as usage:
            for rated in rated_parts(uow, settings, replace(scope, usage=usage), dask, counted):
                with _taken_keys_refused(batch):
                    pending.wait()
                    added, changed, removed, pending = _store(uow, batch, batch.tenant_id, rated.part,
                                                              rated.shard, fresh)
                drafted.added, drafted.changed, drafted.removed = (drafted.added + added, drafted.changed + changed,
                                                                   drafted.removed + removed)
                drafted.totals.merge(rated.part.totals)
                drafted.problems[rated.index] = rated.part.problems
                if drafted.counts is not None:
                    drafted.counts.gaps.update(rated.part.gaps)
                drafted.changes.sums.add(rated.part.sums)
        with _taken_keys_refused(batch):
            pending.wait()
    except BaseException:
        with contextlib.suppress(Exception):  # the writer is done before the unit of work rolls back
            pending.wait()
        raise
    return drafted


@contextlib.contextmanager
def _taken_keys_refused(batch: Batch) -> Iterator[None]:
    """Writing new lines: a line key already in another batch is refused with a plain sentence."""
    try:
        yield
    except IntegrityError:
        raise ValidationFailed(f"batch {batch.month} line_key: a key of this build is already in another "
                               f"batch; rebuild the earlier draft batch first") from None


def _changed(old: Any, line: tuple[Any, ...], invoice_id: int) -> bool:
    """Whether a stored line (``draft_lines``' row) differs from the line (``LineRow``'s fields) a build wants in
    invoice ``invoice_id``; the lineage is compared as JSON text first (cheap), parsed only when the text differs
    (another serialiser may space it differently)."""
    if old.invoice_id != invoice_id or old[2:-1] != line[:-1]:
        return True
    return old.lineage != line[-1] and json.loads(old.lineage) != json.loads(line[-1])


def _store(uow: UnitOfWork, batch: Batch, tenant_id: int, part: Part, shard: Shard,
           fresh: bool) -> tuple[int, int, int, Written]:
    """Write ``part``'s invoices (of ``shard``'s customers) as a diff against the batch's current lines of those
    customers; returns (added, changed, removed) lines and the new lines' write, which may still be under way.
    Removed and changed lines and invoices are written first, the new lines last. ``fresh``: the batch held no
    invoice when the build began, so no range has anything stored to compare with (a first build reads nothing)."""
    invoices = part.invoices
    old_invoices = {} if fresh else uow.invoices.draft_invoices(batch.id, shard)
    old_lines = {} if fresh else uow.invoices.draft_lines(batch.id, shard)
    invoice_ids = {key: row.id for key, row in old_invoices.items()}
    invoice_ids.update(uow.invoices.insert_invoices(
        batch.id, tenant_id, _invoice_columns([inv for inv in invoices if inv.invoice_key not in old_invoices])))
    owners = list(itertools.chain.from_iterable(
        itertools.repeat(invoice_ids[invoice.invoice_key], invoice.lines) for invoice in invoices))
    inserts, updates, removed = part.lines, [], []
    if old_lines:
        new: list[int] = []
        wanted: set[str] = set()
        for index, (invoice_id, line) in enumerate(zip(owners, part.lines.rows(), strict=True)):
            wanted.add(line[0])
            old = old_lines.get(line[0])
            if old is None:
                new.append(index)
            elif _changed(old, line, invoice_id):
                updates.append({**dict(zip(LineRow._fields, line, strict=True)), "id": old.id,
                                "invoice_id": invoice_id, "tenant_id": tenant_id, "lineage": json.loads(line[-1])})
        removed = [row.id for key, row in old_lines.items() if key not in wanted]
        inserts, owners = part.lines.taken(new), [owners[index] for index in new]
    uow.invoices.delete_lines(removed)
    uow.invoices.update_lines(updates)
    invoice_updates = [
        {"id": old_invoices[inv.invoice_key].id, "net": inv.net, "vat": inv.vat, "gross": inv.gross,
         "vat_breakdown": inv.vat_breakdown}
        for inv in invoices
        if inv.invoice_key in old_invoices and (
            old_invoices[inv.invoice_key].net, old_invoices[inv.invoice_key].vat,
            old_invoices[inv.invoice_key].vat_breakdown) != (inv.net, inv.vat, inv.vat_breakdown)
    ]
    uow.invoices.update_invoices(invoice_updates)
    keep = {inv.invoice_key for inv in invoices}
    uow.invoices.delete_invoices([row.id for key, row in old_invoices.items() if key not in keep])
    return (len(inserts), len(updates), len(removed),
            uow.invoices.insert_lines(tenant_id, owners, inserts, behind=stored_behind(uow)))


def _invoice_columns(invoices: Sequence[InvoiceDraft]) -> dict[str, Sequence[Any]]:
    """New draft invoices as ``insert_invoices`` takes them: column by column."""
    return {name: [getattr(inv, name) for inv in invoices]
            for name in ("customer_id", "invoice_key", "group_key", "currency", "net", "vat", "gross", "vat_breakdown")}


def build_batch(settings: Settings, tenant_code: str, month: str, who: Actor,
                clock: Clock | None = None, counted: Counted | None = None, engine: str = "bulk",
                dask: str | None = None) -> BuildReport:
    """Build (or rebuild) the draft batch of ``tenant_code`` and ``month``; idempotent. ``counted`` is told how many
    subscriptions (or partitions) are rated so far; ``engine`` is ``bulk`` or ``scalar`` (see :func:`_draft`);
    ``dask`` names a Dask scheduler and overrides ``compute.dask_scheduler``.

    Everyone who builds or changes a draft joins its ``makers``: none of them may approve it (four-eyes)."""
    require(who, "build", tenant_code)
    tenant_config(settings, tenant_code)
    parse_month(month)
    if engine not in ENGINES:
        raise ValidationFailed(f"batch build engine: {engine!r} is not one of {', '.join(ENGINES)}")
    now = (clock or SystemClock()).now()
    address = dask_scheduler(settings, dask)
    # ranges of customers are rated in read-only transactions of their own (Dask workers, or in this process the next
    # range while this one is stored), which see committed rows only: config.yaml's prices go into the ledger first
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        sync_config(uow, settings, who.username)
    with bulk_allocation(), UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        tenant = uow.tenants.by_code(tenant_code)
        if tenant is None:
            raise NotFound(f"tenant {tenant_code!r}: not in the ledger (run `cspbill init`)")
        batch = uow.batches.for_month(tenant.id, month, lock=True)
        if batch is not None and batch.status in CLOSED:
            raise NotAllowed(f"batch {tenant_code} {month} status: {batch.status}; an approved batch is never rebuilt "
                             f"(late data becomes corrections in the next batch)")
        statuses = uow.batches.statuses(tenant.id)
        later = sorted(m for m, status in statuses.items() if m > month and (batch is None or status in CLOSED))
        if later:  # a later batch may already own this month's lines: months are built in order
            raise NotAllowed(f"batch {tenant_code} {month}: the later batch {later[0]} is already "
                             f"{statuses[later[0]]}; batches are built in month order")
        sync_config(uow, settings, who.username)
        created = batch is None
        if batch is None:  # written with the draft or not at all: a failed build rolls it back too
            batch = uow.batches.add(tenant.id, month, who.username, now)
            batch.built_auth = who.authentication()
        before = None if created else dict(batch.totals or {})
        drafted = _draft(uow, settings, tenant_code, batch, statuses, counted, engine, address)
        added, changed, removed, problems = drafted.added, drafted.changed, drafted.removed, drafted.problem_list()
        totals = {"currencies": drafted.totals.as_text(), "invoices": drafted.totals.invoices,
                  "lines": drafted.totals.lines, "problems": problems[:MAX_PROBLEMS], "problem_count": len(problems)}
        if not created and (added or changed or removed):
            batch.changed_by, batch.changed_at = who.username, now
            batch.revision += 1
        if created or added or changed or removed:
            batch.makers = sorted({*(batch.makers or []), who.username})
        batch.totals = totals
        batch.price_edition = uow.prices.edition()
        prepare_review(uow, batch, *month_bounds(month), now, drafted.counts, drafted.changes)
        uow.audit.record(who.username, "batch.build" if created else "batch.rebuild", "batch", batch.id, tenant.id,
                         before=before, after=totals,
                         detail=f"{tenant_code} {month}: +{added} ~{changed} -{removed} lines", at=now)
        notices.batch_ready(uow, settings, tenant_code, batch, now)
        log.info("batch build tenant=%s month=%s batch=%s added=%s changed=%s removed=%s", tenant_code, month,
                 batch.id, added, changed, removed)
        report = BuildReport(batch.id, tenant_code, month, batch.status, created, totals["invoices"],
                             totals["lines"], added, changed, removed, totals["currencies"], problems)
    checkpoints.wait(engine_for(settings))  # a build ends with its lines in the database file, as a sync run does
    return report
