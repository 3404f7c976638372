"""Reminders go out by e-mail with the letter as PDF through the SMTP catcher: one per invoice and level, never
twice (a crash after the message went out leaves it ``uncertain``, not re-sent), a paused customer gets none, a
customer without an address a ``failed`` row naming the field, and the next level a new letter. The statement of
account adds up invoices, payments and bank charges to the balance."""

from __future__ import annotations

import datetime as dt
import email
import io
from email import policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from config import Settings
from config.payments import Reminders
from ledger.models import AuditEvent, Customer, Invoice, Reminder
from rating.payments.reference import creditor_reference
from services.clock import FixedClock
from services.errors import NotConfigured, NotFound
from services.payments import import_statement, reminder_list, send_reminders, statement_of_account
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.delivery.support import Sandboxes, sandboxes, with_delivery  # noqa: F401 - fixture
from tests.services.payments.seed import booking, seed_invoices, statement

IMPORTED = FixedClock(dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC))
LATE = FixedClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))  # due 11-17: 13 days late, level 1 (7 days)
LATER = FixedClock(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))  # 23 days late: level 2 (21 days)


class Crash(Exception):
    """The process dies after the server took the message and before the outcome is committed."""


def reminding(settings: Settings, sandboxes: Sandboxes, paused: tuple[str, ...] = ()) -> Settings:  # noqa: F811
    seed_invoices(settings)
    changed = with_delivery(settings, sandboxes)
    changed = changed.model_copy(update={"payments": changed.payments.model_copy(update={
        "reminders": Reminders(enabled=True, paused_customers=list(paused))})})
    import_statement(changed, actor(changed, "finn"), statement([
        booking("B-1", "242.00", "Contoso Zorg B.V.", None, creditor_reference("NL2026-00001")),
        booking("B-2", "500.00", "Fabrikam Logistiek", None, creditor_reference("NL2026-00002"))]), "nov.xml", IMPORTED)
    with UnitOfWork(engine_for(changed), write=True) as uow:
        for customer in uow.session.scalars(select(Customer)):
            customer.email = "accounts@fabrikam.example" if customer.name.startswith("Fabrikam") else None
    return changed


def rows(settings: Settings) -> list[tuple[str, int, str, str | None]]:
    with UnitOfWork(engine_for(settings)) as uow:
        return [(i.number, r.level, r.status, r.last_error) for r, i in uow.session.execute(
            select(Reminder, Invoice).join(Invoice, Invoice.id == Reminder.invoice_id).order_by(Reminder.id))]


def remind(settings: Settings, clock: FixedClock = LATE, **kwargs: object) -> dict[str, int]:
    [summary] = send_reminders(settings, actor(settings, "finn"), "nl-bv", clock=clock, **kwargs)  # type: ignore[arg-type]
    return summary.outcomes


def test_one_letter_per_invoice_and_level_with_its_pdf(settings: Settings, sandboxes: Sandboxes) -> None:  # noqa: F811
    on = reminding(settings, sandboxes)
    assert remind(on) == {"sent": 1}
    assert rows(on) == [
        ("NL2026-00002", 1, "sent", None),
        ("NL2026-00003", 1, "failed", "customer 3 (Northwind Traders): email is empty (reminders go out by e-mail)"),
        ("NL2026-00004", 1, "failed", "customer 3 (Northwind Traders): email is empty (reminders go out by e-mail)"),
    ]
    [mail] = sandboxes.smtp.messages()
    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["Subject"].strip() == "Payment reminder 1: invoice NL2026-00002 from Wolkwerk Cloud Services B.V."
    assert message["To"].strip() == "accounts@fabrikam.example"
    assert message["Message-ID"].strip() == "<REM-NL-BV-NL2026-00002-1@reseller.example>"
    assert "NL2026-00002" in message.get_body(("plain",)).get_content()
    [pdf] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "Payment reminder" in text and "105.00 EUR" in text and "NL2026-00002" in text
    assert remind(on) == {} and len(sandboxes.smtp.messages()) == 1  # the same day: nothing again
    assert remind(on, LATER) == {"sent": 1}  # level 2 reached: a new letter
    assert [(n, lvl, s) for n, lvl, s, _ in rows(on)][3:] == [
        ("NL2026-00002", 2, "sent"), ("NL2026-00003", 2, "failed"), ("NL2026-00004", 2, "failed")]
    with UnitOfWork(engine_for(on)) as uow:
        actions = set(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("reminder.%"))))
    assert actions == {"reminder.queue", "reminder.sent"}
    assert [(r["invoice"], r["level"], r["status"]) for r in reminder_list(on, actor(on, "finn"))][2:4] == [
        ("NL2026-00002", 2, "sent"), ("NL2026-00004", 1, "failed")]  # newest first


def test_a_crash_after_sending_is_never_sent_again(settings: Settings, sandboxes: Sandboxes) -> None:  # noqa: F811
    on = reminding(settings, sandboxes, paused=("Northwind Traders",))

    def crash(reminder_id: int) -> None:
        raise Crash(str(reminder_id))

    with pytest.raises(Crash):
        remind(on, before_reply=crash)
    assert rows(on) == [("NL2026-00002", 1, "sending", None)]  # paused Northwind: no rows at all
    assert remind(on) == {"uncertain": 1}
    assert len(sandboxes.smtp.messages()) == 1
    assert remind(on) == {} and len(sandboxes.smtp.messages()) == 1


def test_reminders_are_off_until_enabled(settings: Settings) -> None:
    seed_invoices(settings)
    with pytest.raises(NotConfigured, match=r"payments\.reminders\.enabled is false"):
        send_reminders(settings, actor(settings, "finn"), "nl-bv", clock=LATE)


def test_the_statement_of_account_adds_up(settings: Settings, sandboxes: Sandboxes, tmp_path: Path) -> None:  # noqa: F811
    on = reminding(settings, sandboxes)
    name, pdf = statement_of_account(on, actor(on, "finn"), "nl-bv", "Fabrikam Logistiek", LATE)
    assert name == "statement-nl-bv-2-2026-11-30.pdf" and pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Statement of account", "NL2026-00002", "605.00", "-500.00", "Balance", "105.00 EUR"):
        assert expected in text, expected
    with pytest.raises(NotFound, match="no customer has that id, reference or name"):
        statement_of_account(on, actor(on, "finn"), "nl-bv", "Nobody", LATE)
