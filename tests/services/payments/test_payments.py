"""Statements imported once and matched: applied when sure, queued when not; the queue's decisions applied,
learned and audited; unapply reversible; bad files refused whole, naming file, entry and field. SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from config import Settings
from ledger.models import AuditEvent, BankEntry, BankStatement, Customer, PaymentApplication
from rating.payments.reference import creditor_reference
from services.clock import FixedClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.payments import (
    accept,
    import_statement,
    list_entries,
    open_items,
    overdue_items,
    reassign,
    straight_through,
    unapply,
)
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.payments.seed import DE_IBAN, booking, seed_invoices, statement

CLOCK = FixedClock(dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC))
PAYMENTS = [
    booking("B-1", "242.00", "Contoso Zorg B.V.", "NL20INGB0001234567", creditor_reference("NL2026-00001")),
    booking("B-2", "602.50", "Fabrikam", None, None, "Factuur NL2026-00002"),  # bank charges 2.50
    booking("B-3", "121.00", "Northwind", "NL39RABO0300065264", None, "October"),  # payer unknown: review
    booking("B-4", "318.40", "Stichting Onbekend", None, None, "Lidmaatschap"),
    booking("B-5", "-7.50", None, None, None, "Kosten"),
]


def count(settings: Settings, model: type, *where: object) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def entry_of(settings: Settings, reference: str) -> BankEntry:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalars(select(BankEntry).where(BankEntry.bank_reference == reference)).one()


@pytest.fixture
def imported(settings: Settings) -> Settings:
    seed_invoices(settings)
    result = import_statement(settings, actor(settings, "finn"), statement(PAYMENTS), "nov.xml", CLOCK)
    assert (result.new_entries, result.outcomes) == (5, {"applied": 2, "review": 1, "unmatched": 2}), result
    return settings


def test_sure_matches_are_applied_and_the_rest_waits(imported: Settings) -> None:
    settings = imported
    finn = actor(settings, "finn")
    owed = {i["invoice"]: (i["open"], i["paid"]) for i in open_items(settings, finn, "nl-bv")}
    assert owed == {"NL2026-00003": ("121.00", "0.00"), "NL2026-00004": ("77.77", "0.00")}  # 00002 settled with charges
    charged = entry_of(settings, "B-2")
    assert charged.status == "applied" and any("bank charges" in r for r in charged.proposal["reasons"])
    queue = list_entries(settings, finn, queue=True)
    assert [(e["bank_reference"], e["status"], e["invoices"]) for e in queue] == [
        ("B-3", "review", ["NL2026-00003"]), ("B-4", "unmatched", []), ("B-5", "unmatched", [])]
    assert straight_through(settings, finn) == [
        {"tenant": "nl-bv", "month": "2026-11", "entries": 4, "automatic": 2, "rate": 0.5}]


def test_the_same_file_twice_and_an_overlapping_file_change_nothing_twice(imported: Settings) -> None:
    settings = imported
    finn = actor(settings, "finn")
    again = import_statement(settings, finn, statement(PAYMENTS), "nov-again.xml", CLOCK)
    assert again.already_imported and "nothing changed" in again.sentence
    overlapping = import_statement(settings, finn, statement([*PAYMENTS[:2], booking("B-6", "77.77", text=(
        "NL2026-00004"))], statement_id="S-2"), "nov-2.xml", CLOCK)
    assert (overlapping.new_entries, overlapping.known_entries, overlapping.outcomes) == (1, 2, {"applied": 1})
    assert count(settings, BankEntry) == 6
    assert count(settings, PaymentApplication, PaymentApplication.invoice_id.is_not(None)) == 3


def test_accepting_learns_the_payer_for_next_time(imported: Settings) -> None:
    settings = imported
    finn = actor(settings, "finn")
    review = entry_of(settings, "B-3")
    decision = accept(settings, finn, review.id, CLOCK)
    assert decision.invoices == ["NL2026-00003"] and decision.status == "applied"
    assert decision.learned == ["iban NL39RABO0300065264", "name northwind"]
    with pytest.raises(ValidationFailed, match="only entries in review or unmatched"):
        accept(settings, finn, review.id, CLOCK)  # never applied twice
    later = import_statement(settings, finn, statement([booking("B-7", "77.77", "NORTHWIND", None, None,
                                                               "thanks", day=20)], statement_id="S-3"), "n3.xml", CLOCK)
    assert later.outcomes == {"applied": 1}
    assert "confirmed for the customer before" in " ".join(entry_of(settings, "B-7").proposal["reasons"])


def test_reassign_and_unapply_are_reversible_and_audited(imported: Settings) -> None:
    settings = imported
    anna = actor(settings, "anna")
    stranger = entry_of(settings, "B-4")
    with pytest.raises(ValidationFailed, match="NL2026-00001: nothing open"):
        reassign(settings, anna, stranger.id, ["NL2026-00001"], CLOCK)
    unapply(settings, anna, entry_of(settings, "B-1").id, "the bank booked it twice", CLOCK)
    with pytest.raises(ValidationFailed, match="several customers"):
        reassign(settings, anna, stranger.id, ["NL2026-00003", "NL2026-00001"], CLOCK)
    decision = reassign(settings, anna, stranger.id, ["NL2026-00003", "NL2026-00004"], CLOCK)
    assert decision.status == "applied"
    applied = entry_of(settings, "B-4").proposal
    assert [a["amount"] for a in applied["allocations"]] == ["121.00", "77.77"]
    assert applied["unapplied"] == "119.63"
    with pytest.raises(ValidationFailed, match="field reason"):
        unapply(settings, anna, stranger.id, " ", CLOCK)
    unapply(settings, anna, stranger.id, "belongs to the Stichting, not Northwind", CLOCK)
    owed = {i["invoice"]: i["open"] for i in open_items(settings, anna, "nl-bv")}
    assert owed == {"NL2026-00001": "242.00", "NL2026-00003": "121.00", "NL2026-00004": "77.77"}
    rows = count(settings, PaymentApplication, PaymentApplication.unapply_reason.is_not(None))
    assert rows == 3 and entry_of(settings, "B-4").status == "review"
    actions = {a for (a,) in _audit(settings)}
    assert {"payment.import", "payment.apply", "payment.learn", "payment.unapply"} <= actions


def _audit(settings: Settings) -> list[tuple[str]]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.execute(select(AuditEvent.action)).all())


def test_bad_files_are_refused_whole_naming_file_entry_and_field(settings: Settings) -> None:
    seed_invoices(settings)
    finn = actor(settings, "finn")
    with pytest.raises(ValidationFailed, match=r"x\.xml: statement S-1: field Acct/Id/IBAN: account "
                                               r"NL02ABNA0123456789 is not configured .*payments\.accounts"):
        import_statement(settings, finn, statement(PAYMENTS, iban="NL02ABNA0123456789"), "x.xml", CLOCK)
    usd = statement(PAYMENTS).replace(b'Ccy="EUR">602.50', b'Ccy="USD">602.50')
    with pytest.raises(ValidationFailed, match=r"y\.xml: statement S-1: entry 2 \(B-2\): field Amt/@Ccy: USD"):
        import_statement(settings, finn, usd, "y.xml", CLOCK)
    with pytest.raises(ValidationFailed, match=r"z\.xml: entry 1: field Ntry/Amt: not an amount"):
        import_statement(settings, finn, statement(PAYMENTS).replace(b">242.00<", b">24,2.00<"), "z.xml", CLOCK)
    assert count(settings, BankStatement) == count(settings, BankEntry) == 0


def test_only_finance_of_the_legal_entity_imports_and_decides(imported: Settings) -> None:
    settings = imported
    with pytest.raises(NotAllowed):
        import_statement(settings, actor(settings, "dana"), statement(PAYMENTS, statement_id="S-9"), "d.xml", CLOCK)
    with pytest.raises(NotFound, match="de-gmbh"):
        import_statement(settings, actor(settings, "finn"), statement([], iban=DE_IBAN), "de.xml", CLOCK)
    with pytest.raises(NotFound, match="bank entry"):
        accept(settings, actor(settings, "greta"), entry_of(settings, "B-3").id, CLOCK)
    assert Decimal(entry_of(settings, "B-3").amount) == Decimal("121.00")


def test_overdue_invoices_by_age_with_the_level_reached(imported: Settings) -> None:
    settings = imported
    with UnitOfWork(engine_for(settings), write=True) as uow:
        northwind = uow.session.scalars(select(Customer).where(Customer.name == "Northwind Traders")).one()
        northwind.payment_terms_days = 30
    december = FixedClock(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    rows = overdue_items(settings, actor(settings, "finn"), "nl-bv", december)
    assert [(r["invoice"], r["due_date"], r["days"], r["level"]) for r in rows] == [
        ("NL2026-00003", "2026-12-03", 7, 1), ("NL2026-00004", "2026-12-03", 7, 1)]
    assert rows[0]["text"].startswith("Herinnering: factuur NL2026-00003 van 2026-11-03 (121.00 EUR)")
    assert overdue_items(settings, actor(settings, "finn"), "nl-bv", CLOCK) == []
