"""Findings grouped per subscription and cause, closed when the cause is gone, reopened when it returns; only approved
or exported batches count as billed. Table-driven over whole stories told to the real ledger (sync nights, desk
mutations, batches, reconcile runs), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from config import Settings
from ledger.models import Batch, Discrepancy, Invoice, InvoiceLine
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, cancel_mutation, list_mutations
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.desk.test_reconcile import ids, month, nights
from tests.services.sync.test_sync_support import Vendor

D = dt.date
MAY = "2026-05"


@dataclass(frozen=True)
class Expect:
    """One stored finding after the story: its kind, status, range, amount and resolution."""

    kind: str
    status: str
    day: dt.date
    last_day: dt.date
    amount: str | None
    resolved_by: str | None = None
    note: str | None = None
    sentence: str | None = None


@dataclass(frozen=True)
class Story:
    # ("night", day, seats) ("mutation", day, seats) ("cancel", day) ("reconcile", day)
    # ("bill", batch month, status, first day, last day, seats)
    steps: tuple[tuple, ...]
    expected: tuple[Expect, ...]
    reconciled: dict[str, int] = field(default_factory=dict)  # the last run's counters (raised, closed, reopened)


# 28.10 EUR per seat and month (the vendor's unit cost) over May's 31 days; 33.20 per month once billed
PER_SEAT_DAY = Decimal("28.10") / 31
STORIES = {
    "a vendor change over 20 days is one finding": Story(
        (*tuple(("night", day, 10 if day < 3 else 14) for day in range(1, 23)), ("reconcile", 22)),
        (Expect("vendor_change_unexplained", "open", D(2026, 5, 3), D(2026, 5, 22),
                str((4 * 20 * PER_SEAT_DAY).quantize(Decimal("0.01"))),
                sentence="vendor shows 14 since 2026-05-03, no mutation"),),
        {"raised": 1, "closed": 0},
    ),
    "reconciled every night it stays one finding whose range grows": Story(
        tuple(step for day in range(1, 11) for step in (("night", day, 10 if day < 3 else 14), ("reconcile", day))),
        (Expect("vendor_change_unexplained", "open", D(2026, 5, 3), D(2026, 5, 10), "29.01"),),
        {"raised": 0, "closed": 0},
    ),
    "three changes without a mutation are one finding": Story(
        (("night", 1, 10), ("night", 3, 12), ("night", 7, 11), ("night", 12, 14), ("reconcile", 20)),
        (Expect("vendor_change_unexplained", "open", D(2026, 5, 3), D(2026, 5, 20), "69.80",
                sentence="vendor shows 14 since 2026-05-12, no mutation (3 changes without a mutation since "
                         "2026-05-03)"),),
    ),
    "a mutation the vendor carries out at last closes its finding with the reason": Story(
        (("night", 1, 10), ("mutation", 3, 14), ("reconcile", 5), ("night", 6, 14), ("reconcile", 6)),
        (Expect("mutation_not_provisioned", "resolved", D(2026, 5, 3), D(2026, 5, 5), "7.25",
                resolved_by="reconcile", note="cause gone: vendor now shows 14"),),
        {"raised": 0, "closed": 1},
    ),
    "a mutation the desk withdraws closes its finding with the reason": Story(
        (("night", 1, 10), ("mutation", 3, 14), ("reconcile", 5), ("cancel", 5), ("reconcile", 6)),
        (Expect("mutation_not_provisioned", "resolved", D(2026, 5, 3), D(2026, 5, 5), "7.25",
                resolved_by="reconcile", note="cause gone: mutation 1 cancelled by dana"),),
        {"raised": 0, "closed": 1},
    ),
    "draft lines are not billed": Story(
        (("night", 1, 10), ("bill", MAY, "draft", 1, 31, 12), ("reconcile", 20)),
        (),
    ),
    "a month is judged against billed lines only once its own batch is approved": Story(
        (("night", 1, 10), ("bill", "2026-04", "approved", 1, 31, 12), ("bill", MAY, "draft", 1, 31, 10),
         ("reconcile", 20)),
        (),
    ),
    "approved lines are billed": Story(
        (("night", 1, 10), ("bill", MAY, "approved", 1, 31, 12), ("reconcile", 20)),
        (Expect("billed_vs_vendor", "open", D(2026, 5, 1), D(2026, 5, 20), "42.84",
                sentence="billed 12, vendor 10 from 2026-05-01 to 2026-05-20"),),
    ),
    "a correction closes the billed difference and a later change reopens it": Story(
        (("night", 1, 10), ("bill", MAY, "approved", 1, 31, 10), ("night", 12, 14), ("reconcile", 14),
         ("bill", "2026-06", "exported", 12, 31, 4), ("reconcile", 15),
         ("night", 20, 15), ("reconcile", 21)),
        (Expect("billed_vs_vendor", "open", D(2026, 5, 20), D(2026, 5, 21), "2.14",
                sentence="billed 14, vendor 15 from 2026-05-20 to 2026-05-21"),
         Expect("vendor_change_unexplained", "open", D(2026, 5, 12), D(2026, 5, 21), "44.98",
                sentence="vendor shows 15 since 2026-05-20, no mutation (2 changes without a mutation since "
                         "2026-05-12)")),
        {"raised": 0, "closed": 0, "reopened": 1},
    ),
}


def tell(ledger: Settings, story: Story) -> dict[str, int]:
    vendor, counters = Vendor(), {}
    for step in story.steps:
        what, *args = step
        if what == "night":
            nights(ledger, vendor, {args[0]: {"s1": args[1]}})
        elif what == "mutation":
            add_mutation(ledger, actor(ledger, "dana"),
                         MutationRequest(ids(ledger)["s1"], D(2026, 5, args[0]), "T-1", new_quantity=Decimal(args[1])),
                         FixedClock(dt.datetime(2026, 5, args[0], 10, tzinfo=dt.UTC)))
        elif what == "cancel":
            (mutation,) = list_mutations(ledger, actor(ledger, "dana"))
            cancel_mutation(ledger, actor(ledger, "dana"), mutation.id,
                            FixedClock(dt.datetime(2026, 5, args[0], 10, tzinfo=dt.UTC)))
        elif what == "bill":
            bill(ledger, ids(ledger)["s1"], *args)
        else:
            report = month(ledger, args[0])
            counters = {"raised": report.raised, "closed": report.closed, "reopened": report.reopened}
    return counters


def bill(ledger: Settings, subscription_id: int, batch_month: str, status: str, first: int, last: int,
         seats: int) -> None:
    """A batch of ``batch_month`` billing ``seats`` for May ``first``..``last`` at 33.20 a month, left ``status``."""
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        sub = uow.subscriptions.get(subscription_id)
        batch = Batch(tenant_id=sub.tenant_id, month=batch_month, built_by="ada")
        uow.session.add(batch)
        uow.session.flush()
        invoice = Invoice(batch_id=batch.id, tenant_id=sub.tenant_id, customer_id=sub.customer_id,
                          invoice_key=f"k-{batch_month}", currency="EUR", net=Decimal(0), vat=Decimal(0),
                          gross=Decimal(0))
        uow.session.add(invoice)
        uow.session.flush()
        key = f"l-{batch_month}"
        uow.session.add(InvoiceLine(
            invoice_id=invoice.id, tenant_id=sub.tenant_id, customer_id=sub.customer_id,
            subscription_id=subscription_id, line_key=key, base_key=key,
            kind="charge" if first == 1 else "correction", description="E3", period_from=D(2026, 5, first),
            period_to=D(2026, 5, last), quantity=Decimal(seats), unit_price=Decimal("33.20"),
            amount=Decimal("33.20") * seats, unrounded=Decimal("33.20") * seats, currency="EUR",
            vat_rate=Decimal(19)))
        batch.status = status


@pytest.mark.parametrize("name", list(STORIES))
def test_findings_follow_their_cause(ledger: Settings, name: str) -> None:
    story = STORIES[name]
    counters = tell(ledger, story)
    with UnitOfWork(engine_for(ledger)) as uow:
        rows = uow.session.query(Discrepancy).filter(Discrepancy.kind.not_in(["unmapped_customer"])).all()
        found = sorted((r.kind, r.status, r.day, r.last_day, None if r.amount is None else str(r.amount),
                         r.resolved_by, r.resolution_note, r.sentence, r.month) for r in rows)
    sub = ids(ledger)["s1"]
    assert [row[:7] for row in found] == [
        (e.kind, e.status, e.day, e.last_day, e.amount and str(Decimal(e.amount).normalize()), e.resolved_by, e.note)
        for e in sorted(story.expected, key=lambda e: e.kind)]
    for expect, row in zip(sorted(story.expected, key=lambda e: e.kind), found, strict=True):
        if expect.sentence:
            assert row[7] == f"sub {sub} (Example 365 E3): {expect.sentence}"
        assert row[8] == MAY
    assert {name: counters[name] for name in story.reconciled} == story.reconciled
