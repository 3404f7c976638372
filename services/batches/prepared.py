"""The batch page's costly review figures, worked out by the build and read back while the ledger still agrees.

Why: at hundreds of thousands of invoices, the month-on-month change per customer and per subscription and the walk
that compares billed seats with the vendor's (``services.batches.vendor_counts``) take seconds each; finance opens
the page many times between two builds. The build works them out once (``prepare_review``) and stores each with a
fingerprint of the ledger state it was worked out from (``ledger.models.BatchCheck``). A reader recomputes that
fingerprint (a few indexed reads) and takes the stored figure only when it matches; otherwise it works the figure
out live, exactly as before. So the page never shows a figure the ledger has moved away from. Every sync (the nightly
job and ``cspbill sync``) works out again what its snapshots left behind (``refresh_drafts``), so the morning's page
reads stored figures too.

- **Changes** depend on this batch's lines and on the previous batch's: the fingerprint is both batches' id and
  revision (a build that changes lines raises the revision; nothing else writes lines).
- **Vendor counts** depend on the snapshots (append-only: the newest id, and how many sync runs stored theirs: a run
  commits its snapshots and its finished status together, and on PostgreSQL a run that drew lower ids can commit
  after one that drew higher ones, which the newest id alone would miss; a run that stored nothing counts too, so
  the refresh after it works the figure out once more), the tenant's mutations (the revision the database raises
  on every change to them, ``ledger.revisions``: one read, however many there are), and which lines count as
  billed: this draft's and those of approved or exported batches (each batch's id, status and revision).

Approval does not use the stored figures: it judges the ledger as it is (``services.batches.findings``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from config import Settings
from ledger.models import Batch, MutationRevision, Snapshot, SyncRun
from ledger.repositories.review import Change, Per
from ledger.repositories.sums import PLACES
from rating.months import month_bounds
from services.batches.change_sums import ChangeSums
from services.batches.vendor_counts import CountGap, draft_gaps
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
CHANGES, VENDOR_COUNTS = "changes", "vendor_counts"
STORED_CHANGES = 1000  # changes kept per view (ties at the cut too): the page lists the 50 largest
STORED_RUNS = ("succeeded", "partial")  # sync runs that committed snapshots


def revision_of(batch: Batch | None) -> tuple[int, int] | None:
    """A batch's id and revision (``None`` for none): what its lines are, as far as the figures are concerned."""
    return None if batch is None else (batch.id, batch.revision)


def _changes_inputs(batch: Batch, previous: Batch | None) -> str:
    against = f"{previous.id}r{previous.revision}" if previous is not None else "none"
    return f"batch {batch.id}r{batch.revision} against {against}"


def vendor_count_state(uow: UnitOfWork, batch: Batch) -> str:
    """The digest of what the vendor counts of the draft ``batch`` depend on besides its own lines (the snapshots,
    the sync runs that stored some, the other batches, the mutations). A build takes it before it drafts and again
    once it has written: equal, the counts its ranges worked out from what they read still hold."""
    session = uow.session
    newest = session.scalar(select(func.max(Snapshot.id)))
    stored = session.scalar(select(func.count()).select_from(SyncRun).where(SyncRun.status.in_(STORED_RUNS)))
    digest = hashlib.sha256(f"snapshots {newest} runs {stored}".encode())
    for row in session.execute(select(Batch.id, Batch.status, Batch.revision)
                               .where(Batch.tenant_id == batch.tenant_id, Batch.id != batch.id).order_by(Batch.id)):
        digest.update(repr(tuple(row)).encode())
    mutations = session.scalar(select(MutationRevision.revision).where(MutationRevision.tenant_id == batch.tenant_id))
    digest.update(f"mutations {mutations or 0}".encode())  # raised by the database on every change (ledger.revisions)
    return digest.hexdigest()


def _vendor_count_inputs(uow: UnitOfWork, batch: Batch, state: str | None = None) -> str:
    """The fingerprint of the draft's vendor counts: its own lines (id and revision) and the rest (``state``)."""
    return f"batch {batch.id}r{batch.revision} {state or vendor_count_state(uow, batch)}"


def vendor_counts_stored(uow: UnitOfWork, batch: Batch, state: str) -> bool:
    """Whether the draft's stored vendor counts hold for the ledger ``state`` (a build that changes no line need
    not work them out)."""
    return _fresh(uow, batch, VENDOR_COUNTS, _vendor_count_inputs(uow, batch, state)) is not None


@dataclass(frozen=True)
class DraftedCounts:
    """The vendor counts a build's ranges worked out (``vendor_counts.NewInMonth``) and the ledger state it drafted
    from (:func:`vendor_count_state`, taken before its ranges read)."""

    gaps: dict[int, list[CountGap]]
    state: str


@dataclass(frozen=True)
class DraftedChanges:
    """The nets a build's ranges added up (``change_sums``) and the batch they compared with as the build began
    (:func:`revision_of`): they hold for the stored lines unless that batch was rebuilt meanwhile."""

    sums: ChangeSums
    previous: tuple[int, int] | None


def _fresh(uow: UnitOfWork, batch: Batch, kind: str, inputs: str) -> dict | None:
    stored = uow.review.check(batch.id, kind)
    return stored.result if stored is not None and stored.inputs == inputs else None


def prepare_review(uow: UnitOfWork, batch: Batch, first: dt.date, last: dt.date, at: dt.datetime,
                   drafted: DraftedCounts | None = None, changed: DraftedChanges | None = None) -> list[str]:
    """Work out and store the draft ``batch``'s changes against the batch before it and its vendor-count gaps
    (month ``first``..``last``), each unless what is stored still holds; called by the build once its lines are
    written and its revision set, and by :func:`refresh_drafts`. Returns the figures worked out again.

    The build passes the gaps its ranges worked out (``drafted``) and the nets they added up (``changed``): each is
    stored when nothing else it depends on moved since the build began (a sync or a rebuild of the month before
    committed meanwhile, say, on PostgreSQL); otherwise the figure is worked out from the ledger."""
    worked: list[str] = []
    previous = uow.batches.previous(batch.tenant_id, batch.month)
    inputs = _changes_inputs(batch, previous)
    if _fresh(uow, batch, CHANGES, inputs) is None:
        counts = _store_changes(uow, batch, previous, changed)
        uow.review.record_check(batch.id, CHANGES, inputs, counts, at)
        worked.append(CHANGES)
    state = vendor_count_state(uow, batch)
    inputs = _vendor_count_inputs(uow, batch, state)
    if _fresh(uow, batch, VENDOR_COUNTS, inputs) is None:
        if drafted is not None and drafted.state == state:
            walked = drafted.gaps
            log.info("batch review batch=%s: vendor counts worked out by the build's ranges (%s subscriptions with "
                     "gaps)", batch.id, len(walked))
        else:
            walked = draft_gaps(uow, batch, first, last)
        gaps = {str(sub_id): [[str(g.first), str(g.last), str(g.billed), str(g.vendor)] for g in found]
                for sub_id, found in sorted(walked.items())}
        uow.review.record_check(batch.id, VENDOR_COUNTS, inputs, gaps, at)
        worked.append(VENDOR_COUNTS)
    return worked


def _store_changes(uow: UnitOfWork, batch: Batch, previous: Batch | None,
                   changed: DraftedChanges | None) -> dict[Per, int]:
    """Store the draft's ``STORED_CHANGES`` largest changes per view and return how many there are: from the nets
    the build's ranges added up when they still hold and are exact, else summed by the database (which refuses an
    inexact amount by name)."""
    if changed is not None and changed.previous == revision_of(previous) and changed.sums.places <= PLACES:
        rows, counts = changed.sums.kept(STORED_CHANGES)
        uow.review.replace_changes(batch.id, rows)
        log.info("batch review batch=%s: changes added up by the build's ranges (%s customers, %s subscriptions)",
                 batch.id, counts["customer"], counts["subscription"])
        return counts
    return uow.review.store_changes(batch.id, previous.id if previous else None, STORED_CHANGES)


def refresh_drafts(settings: Settings, tenant_code: str, at: dt.datetime) -> dict[str, list[str]]:
    """Work out again the figures of the tenant's draft batches that the ledger moved away from: ``{month: figures}``.

    Why: every night's sync adds snapshots, so the vendor counts a build stored no longer hold, and the batch page
    walked every subscription live (seconds at scale) on each view until the next build. The nightly sync job calls
    this once its source is read, so finance's morning page reads stored figures again. Each draft is locked as a
    build locks it, so a build running at the same time is waited for, never interleaved with."""
    refreshed: dict[str, list[str]] = {}
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code(tenant_code)
        if tenant is None:
            return refreshed
        drafts = sorted(month for month, status in uow.batches.statuses(tenant.id).items() if status == "draft")
        for month in drafts:
            batch = uow.batches.for_month(tenant.id, month, lock=True)  # again under the lock: approved meanwhile?
            if batch is None or batch.status != "draft":
                continue
            worked = prepare_review(uow, batch, *month_bounds(month), at)
            if worked:
                refreshed[month] = worked
    return refreshed


def changes(uow: UnitOfWork, batch: Batch, previous: Batch | None, per: Per,
            rows: int | None) -> tuple[list[Change], int]:
    """The ``rows`` largest changes per customer or subscription against ``previous`` and their count (all of them,
    ``rows`` None): stored by the build if still true and ``rows`` within what it kept, else from the lines."""
    kept = rows is not None and rows <= STORED_CHANGES
    counts = _fresh(uow, batch, CHANGES, _changes_inputs(batch, previous)) if kept else None
    if rows is not None and counts is not None:
        return uow.review.stored_changes(batch.id, per, rows), counts[per]
    return uow.review.changes(batch.id, previous.id if previous is not None else None, per, rows)


def vendor_gaps(uow: UnitOfWork, batch: Batch, first: dt.date, last: dt.date) -> dict[int, list[CountGap]]:
    """``vendor_counts.draft_gaps`` of the draft: stored by the build if still true, else walked now."""
    stored = _fresh(uow, batch, VENDOR_COUNTS, _vendor_count_inputs(uow, batch))
    if stored is None:
        return draft_gaps(uow, batch, first, last)
    return {int(sub_id): [CountGap(dt.date.fromisoformat(start), dt.date.fromisoformat(end), Decimal(billed),
                                   Decimal(vendor)) for start, end, billed, vendor in found]
            for sub_id, found in stored.items()}
