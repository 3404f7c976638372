"""The findings approval weighs, on a hand-made April of nl-bv: which findings a draft has (table-driven by kind),
acknowledgements with a reason by a finance person (audited, nothing stored on bad input), approval refusing while
any blocks and naming them, a second person approving once all are acknowledged, and a rebuild that changes a
finding's amount asking for a new acknowledgement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from config import Settings
from ledger.models import AuditEvent, CostLine, Discrepancy, FindingAck
from services.batches import acknowledge_finding, approve_batch, batch_review_findings, batch_summary, build_batch
from services.clock import FixedClock
from services.desk import update_master_data
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, at, mutation, snapshot

CLOCK = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))
MONTH = "2026-04"


def _discrepancy(settings: Settings, customer: int, sub: int, kind: str, day: str, sentence: str,
                 status: str = "open") -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.add(Discrepancy(
            tenant_id=uow.tenants.by_code("nl-bv").id, customer_id=customer, subscription_id=sub,
            fingerprint=f"{kind}:{sub}:{day}", kind=kind, day=dt.date.fromisoformat(day), sentence=sentence,
            details={"month": day[:7]}, status=status, first_seen_at=at(day), last_seen_at=at(day)))


def _cost(settings: Settings, sub: int, subtotal: str, line_id: str = "c-1") -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.add(CostLine(
            tenant_id=uow.tenants.by_code("nl-bv").id, subscription_id=sub, source="partner-center",
            line_id=line_id, customer_external_id="x", subscription_external_id=f"sub-{sub}",
            product_id="CFQ7TTC0LH18:0001", charge_type="new", charge_start=dt.date(2026, 4, 1),
            charge_end=dt.date(2026, 4, 30), quantity=Decimal(5), unit_price=Decimal(100),
            subtotal=Decimal(subtotal), currency="EUR", raw={}))


@pytest.fixture
def april(settings: Settings) -> dict[str, int]:
    return seed_april(settings)


def seed_april(settings: Settings) -> dict[str, int]:
    """Four customers, one finding of each kind, plus discrepancies that are no finding of this batch; finn builds."""
    initialise(settings)
    ids = {name: add_customer(settings, "nl-bv", name, **extra) for name, extra in (
        ("Marge BV", {}), ("Wacht BV", {}), ("Telt BV", {}), ("Kaal BV", {"street": None}))}
    subs = {}
    for n, (name, customer) in enumerate(ids.items()):
        subs[name] = add_subscription(settings, "nl-bv", customer, f"sub-{n}", "2026-04-01")
        snapshot(settings, subs[name], "2026-04-01", 5)
    _cost(settings, subs["Marge BV"], "500.00")  # we bill 5 × 30 + markup: far below 500
    _discrepancy(settings, ids["Wacht BV"], subs["Wacht BV"], "mutation_not_provisioned", "2026-04-20",
                 "mutation 9 of 2026-04-20 (increase to 6, ticket T-9) not provisioned after 12 days: vendor shows 5")
    _discrepancy(settings, ids["Telt BV"], subs["Telt BV"], "billed_vs_vendor", "2026-04-10",
                 "billed 5, vendor 6 from 2026-04-10 to 2026-04-30")
    _discrepancy(settings, ids["Telt BV"], subs["Telt BV"], "billed_vs_vendor", "2026-03-10",
                 "billed 4, vendor 5 in March")  # another month's: the draft's own counts are compared afresh
    _discrepancy(settings, ids["Wacht BV"], subs["Wacht BV"], "mutation_not_provisioned", "2026-04-02",
                 "mutation 8 resolved", status="resolved")
    _discrepancy(settings, ids["Marge BV"], subs["Marge BV"], "vendor_change_unexplained", "2026-04-03",
                 "vendor shows 5 since 2026-04-03, no mutation")  # not a kind that blocks
    build_batch(settings, "nl-bv", MONTH, actor(settings, "finn"), CLOCK)
    snapshot(settings, subs["Telt BV"], "2026-04-10", 6)  # seen after the draft was built, which bills 5
    return {**ids, **{f"sub {name}": sub for name, sub in subs.items()}}


def _findings(settings: Settings) -> dict[str, dict]:
    return {f["kind"]: f for f in batch_review_findings(settings, "nl-bv", MONTH, actor(settings, "finn"))}


@pytest.mark.parametrize(("kind", "customer", "sentence", "blocks_after_acknowledging"), [
    ("master_data", "Kaal BV", "missing; EN 16931", True),
    ("negative_margin", "Marge BV", "vendor cost 500.00 EUR in 2026-04", False),
    ("mutation_not_provisioned", "Wacht BV", "not provisioned after 12 days", False),
    ("billed_vs_vendor", "Telt BV", "billed 5, vendor 6", False),
])
def test_which_findings_a_draft_has_and_which_stay_blocking(settings: Settings, april: dict[str, int], kind: str,
                                                          customer: str, sentence: str,
                                                          blocks_after_acknowledging: bool) -> None:
    everything = batch_review_findings(settings, "nl-bv", MONTH, actor(settings, "finn"))
    assert sorted(f["kind"] for f in everything) == sorted(
        ["master_data", "negative_margin", "mutation_not_provisioned", "billed_vs_vendor"])
    found = _findings(settings)[kind]
    assert (found["customer"], found["blocking"], found["acknowledged"]) == (customer, True, None)
    assert sentence in found["sentence"]
    if kind == "master_data":
        with pytest.raises(NotAllowed, match="cannot be acknowledged"):
            acknowledge_finding(settings, "nl-bv", MONTH, found["id"], "fine", actor(settings, "finn"), CLOCK)
    else:
        acknowledge_finding(settings, "nl-bv", MONTH, found["id"], "agreed with the customer",
                            actor(settings, "finn"), CLOCK)
    assert _findings(settings)[kind]["blocking"] is blocks_after_acknowledging


def test_approval_refuses_naming_them_until_acknowledged_then_a_second_person_approves(
        settings: Settings, april: dict[str, int]) -> None:
    with pytest.raises(NotAllowed, match="4 blocking findings") as refused:
        approve_batch(settings, "nl-bv", MONTH, actor(settings, "anna"), CLOCK)
    message = str(refused.value)
    assert "negative margin: subscription" in message and "(not acknowledged)" in message
    assert f"customer {april['Kaal BV']} (Kaal BV) street: missing" in message
    finn = actor(settings, "finn")
    for finding in batch_review_findings(settings, "nl-bv", MONTH, finn):
        if not finding["hard"]:
            acknowledge_finding(settings, "nl-bv", MONTH, finding["id"], "checked: " + finding["kind"], finn, CLOCK)
    with pytest.raises(NotAllowed, match=r"1 blocking findings.*Kaal BV"):  # the hard block stays
        approve_batch(settings, "nl-bv", MONTH, actor(settings, "anna"), CLOCK)
    update_master_data(settings, actor(settings, "dana"), april["Kaal BV"], {"street": "Dorpsstraat 2"}, CLOCK)
    assert approve_batch(settings, "nl-bv", MONTH, actor(settings, "anna"), CLOCK).invoices == 4
    approved = batch_summary(settings, "nl-bv", MONTH, finn)["findings"]  # kept with the approved batch
    assert sorted((f["kind"], f["acknowledged"]["by"]) for f in approved) == [
        ("billed_vs_vendor", "finn"), ("mutation_not_provisioned", "finn"), ("negative_margin", "finn")]


def test_an_acknowledgement_needs_a_reason_a_finance_person_and_is_audited(settings: Settings,
                                                                           april: dict[str, int]) -> None:
    margin = _findings(settings)["negative_margin"]
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(ValidationFailed, match=f"finding {margin['id']} reason"):
            acknowledge_finding(settings, "nl-bv", MONTH, margin["id"], reason, actor(settings, "finn"), CLOCK)
    with pytest.raises(NotAllowed, match="lacks role 'finance'"):
        acknowledge_finding(settings, "nl-bv", MONTH, margin["id"], "ok", actor(settings, "dana"), CLOCK)
    with pytest.raises(NotFound):
        acknowledge_finding(settings, "nl-bv", MONTH, margin["id"], "ok", actor(settings, "greta"), CLOCK)
    with pytest.raises(NotFound, match="no such finding"):
        acknowledge_finding(settings, "nl-bv", MONTH, "0000000000", "ok", actor(settings, "finn"), CLOCK)
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(FindingAck)) == 0  # nothing stored
    done = acknowledge_finding(settings, "nl-bv", MONTH, margin["id"], " price agreed until June ",
                               actor(settings, "finn"), CLOCK)
    assert (done.reason, done.acknowledged_by, done.kind) == ("price agreed until June", "finn", "negative_margin")
    with pytest.raises(NotAllowed, match="already acknowledged by finn"):
        acknowledge_finding(settings, "nl-bv", MONTH, margin["id"], "again", actor(settings, "anna"), CLOCK)
    with UnitOfWork(engine_for(settings)) as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "finding.acknowledge")).one()
        ack = uow.session.scalars(select(FindingAck)).one()
    assert event.actor == "finn" and event.after["reason"] == "price agreed until June"
    assert event.after["fingerprint"] == ack.fingerprint and str(ack.batch_id) == event.entity_id
    assert ack.acknowledged_at == CLOCK.now() and ack.auth["username"] == "finn"


def test_a_rebuild_that_changes_the_amount_needs_a_new_acknowledgement(settings: Settings,
                                                                       april: dict[str, int]) -> None:
    finn = actor(settings, "finn")
    first = _findings(settings)["negative_margin"]
    acknowledge_finding(settings, "nl-bv", MONTH, first["id"], "agreed", finn, CLOCK)
    build_batch(settings, "nl-bv", MONTH, finn, CLOCK)  # the same facts: still acknowledged
    assert _findings(settings)["negative_margin"]["blocking"] is False
    snapshot(settings, april["sub Marge BV"], "2026-04-15", 8)  # three more seats: billed more, still below cost
    build_batch(settings, "nl-bv", MONTH, finn, CLOCK)
    again = _findings(settings)["negative_margin"]
    assert again["id"] != first["id"] and again["blocking"] is True and again["acknowledged"] is None


def test_the_vendor_count_finding_compares_the_draft_itself_and_a_rebuild_clears_it(
        settings: Settings, april: dict[str, int]) -> None:
    """The draft bills 5 seats for all April; a change to 6 seen after the build differs from the 10th. Rebuilt, the
    draft bills the sixth seat and the counts agree: the cockpit judges the draft, not the discrepancy list."""
    counts = _findings(settings)["billed_vs_vendor"]
    assert counts["sentence"] == "billed 5, vendor 6 from 2026-04-10 to 2026-04-30"
    build_batch(settings, "nl-bv", MONTH, actor(settings, "finn"), CLOCK)
    assert "billed_vs_vendor" not in _findings(settings)


def test_a_cancellation_inside_the_window_on_the_first_night_is_no_count_gap(settings: Settings) -> None:
    """Bought on March 31 (annual, billed annually), first read the night of April 1, cancelled by the desk on April 1
    inside the 7-day window: April's draft bills March 31 only (a late charge and the credit from April 1), and the
    batch page must agree with the vendor's count (the cancellation holds from the mutation's date), not report
    "billed 0, vendor 6" for April 1."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Kort BV")
    sub = add_subscription(settings, "nl-bv", customer, "sub-kort", "2026-03-31", billing="P1Y", term="P1Y")
    finn = actor(settings, "finn")
    march = FixedClock(dt.datetime(2026, 4, 1, 6, tzinfo=dt.UTC))
    build_batch(settings, "nl-bv", "2026-03", finn, march)  # go-live, closed before the licence was first read
    approve_batch(settings, "nl-bv", "2026-03", actor(settings, "anna"), march)
    snapshot(settings, sub, "2026-04-01", 6)
    mutation(settings, "nl-bv", customer, sub, "cancel", "2026-04-01", 0)
    snapshot(settings, sub, "2026-04-02", 0, status="cancelled")
    build_batch(settings, "nl-bv", MONTH, finn, CLOCK)
    assert [f["sentence"] for f in batch_review_findings(settings, "nl-bv", MONTH, finn)
            if f["kind"] == "billed_vs_vendor"] == []
