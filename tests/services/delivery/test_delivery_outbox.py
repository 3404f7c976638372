"""The delivery outbox: approved invoices reach e-mail and Peppol customers once, with the archived files; bounces,
refusals, retries and crashes end in the states the outbox documents."""

from __future__ import annotations

import email
import subprocess
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import ArchivedDocument, Delivery
from services.delivery import deliver_invoices, delivery_status, resend
from services.errors import ValidationFailed
from services.runners import HOST
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.delivery.support import Sandboxes, set_channel, with_delivery
from tests.services.export.test_export_outbox import seed_invoices


def dead_runner() -> str:
    """The runner id of a process of this host that has ended (a run killed mid-send)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{HOST}:{process.pid}:killed"


def _mails(sandboxes: Sandboxes) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sandboxes.smtp.messages()]


def _rows(settings: Settings) -> dict[str, Delivery]:
    with UnitOfWork(engine_for(settings)) as uow:
        return {row.recipient: row for row in uow.session.scalars(select(Delivery))}


def test_each_invoice_goes_out_once_on_its_customers_channel(settings: Settings, sandboxes: Sandboxes) -> None:
    numbers = seed_invoices(settings, count=3)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, numbers[0], "email", email="ap@customer-one.example")
    set_channel(nl, numbers[1], "peppol", peppol=("0106", "12345678"))
    set_channel(nl, numbers[2], "erp")  # nothing to deliver
    finn = actor(nl, "finn")
    [summary] = deliver_invoices(nl, finn, "nl-bv")
    assert summary.queued == 2
    assert sorted(o.action for o in summary.outcomes) == ["sent", "sent"]
    [mail] = _mails(sandboxes)
    assert mail["To"] == "ap@customer-one.example"
    assert mail["Message-ID"] == f"<CSP-NL-BV-{numbers[0]}@reseller.example>"
    names = [part.get_filename() for part in mail.iter_attachments()]
    assert names == [f"{numbers[0]}.pdf", f"{numbers[0]}.ubl.xml"]
    [transmitted] = sandboxes.transmitted()
    assert f"<cbc:ID>{numbers[1]}</cbc:ID>".encode() in transmitted.read_bytes()
    [again] = deliver_invoices(nl, finn, "nl-bv")  # a second run delivers nothing new
    assert (again.queued, again.outcomes) == (0, [])
    assert len(_mails(sandboxes)) == 1 and len(sandboxes.transmitted()) == 1
    with UnitOfWork(engine_for(nl)) as uow:
        kinds = sorted(d.kind for d in uow.session.scalars(select(ArchivedDocument)))
    assert kinds == ["pdf", "ubl", "ubl"]
    statuses = {row.invoice_number: row.status for row in delivery_status(nl, finn)}
    assert statuses == {numbers[0]: "sent", numbers[1]: "sent"}


def test_facturx_format_sends_one_pdf_with_the_xml_inside(settings: Settings, sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes, email_format="facturx")
    set_channel(nl, number, "email", email="ap@example.de")
    deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    [mail] = _mails(sandboxes)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"{number}.facturx.pdf"
    assert attachment.get_content_type() == "application/pdf"


def test_a_refused_recipient_is_bounced_and_a_busy_one_retried_with_backoff(settings: Settings,
                                                                            sandboxes: Sandboxes) -> None:
    numbers = seed_invoices(settings, count=2)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, numbers[0], "email", email="bounce@customer.example")
    set_channel(nl, numbers[1], "email", email="busy@customer.example")
    [summary] = deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    assert {o.recipient: o.action for o in summary.outcomes} == {"bounce@customer.example": "bounced",
                                                               "busy@customer.example": "queued"}
    rows = _rows(nl)
    assert "550 5.1.1" in rows["bounce@customer.example"].last_error
    assert rows["busy@customer.example"].next_attempt_at > rows["busy@customer.example"].updated_at
    [later] = deliver_invoices(nl, actor(nl, "finn"), "nl-bv")  # backoff not passed: nothing is tried again
    assert later.outcomes == []
    assert _mails(sandboxes) == []


def test_peppol_refusal_is_failed_with_the_access_points_reason(settings: Settings, sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "peppol", peppol=("0106", "UNKNOWN-1"))
    [summary] = deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    [outcome] = summary.outcomes
    assert outcome.action == "failed"
    assert "not registered on the Peppol network" in outcome.error


def test_missing_channel_data_fails_naming_customer_and_field_and_resend_after_fixing(
        settings: Settings, sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "email")
    finn = actor(nl, "finn")
    [summary] = deliver_invoices(nl, finn, "nl-bv")
    assert summary.queued == 1 and summary.outcomes == []
    [row] = delivery_status(nl, finn)
    assert row.status == "failed" and "email is empty (delivery channel email)" in row.last_error
    set_channel(nl, number, "email", email="fixed@customer.example")
    assert resend(nl, finn, row.id).action == "sent"
    assert [m["To"] for m in _mails(sandboxes)] == ["fixed@customer.example"]


def test_an_email_left_sending_by_a_dead_run_is_uncertain_and_only_a_person_resends_it(
        settings: Settings, sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "email", email="ap@customer.example")
    finn = actor(nl, "finn")
    deliver_invoices(nl, finn, "nl-bv")
    with UnitOfWork(engine_for(nl), write=True) as uow:  # as a run killed between claim and answer leaves it
        row = uow.session.scalar(select(Delivery))
        row.status, row.claimed_by = "sending", dead_runner()
    [summary] = deliver_invoices(nl, finn, "nl-bv")
    assert [o.action for o in summary.outcomes] == ["uncertain"]
    assert deliver_invoices(nl, finn, "nl-bv")[0].outcomes == []  # never sent again on its own
    assert len(_mails(sandboxes)) == 1
    assert resend(nl, finn, row.id).action == "sent"
    mails = _mails(sandboxes)
    assert len(mails) == 2 and mails[0]["Message-ID"] == mails[1]["Message-ID"]
    assert [p.get_content() for p in mails[0].iter_attachments()] == \
        [p.get_content() for p in mails[1].iter_attachments()]  # the archived files, byte for byte


def test_a_peppol_submission_retried_after_a_crash_is_not_transmitted_twice(settings: Settings,
                                                                            sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "peppol", peppol=("0106", "12345678"))
    finn = actor(nl, "finn")
    deliver_invoices(nl, finn, "nl-bv")
    with UnitOfWork(engine_for(nl), write=True) as uow:  # killed after submitting, before the guid was stored
        row = uow.session.scalar(select(Delivery))
        first_guid = row.provider_id
        row.status, row.claimed_by, row.provider_id = "sending", dead_runner(), None
    [summary] = deliver_invoices(nl, finn, "nl-bv")
    assert [o.action for o in summary.outcomes] == ["sent"]
    assert len(sandboxes.transmitted()) == 1
    assert _rows(nl)["0106:12345678"].provider_id == first_guid


def test_evidence_pending_leaves_it_submitted_until_the_access_point_has_delivered(
        settings: Settings, sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "peppol", peppol=("0106", "12345678"))
    sandboxes.ap.app.faults.arm("GET /document_submissions/.*", "in_transmission")
    [summary] = deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    assert [o.action for o in summary.outcomes] == ["submitted"]
    with UnitOfWork(engine_for(nl), write=True) as uow:
        uow.session.scalar(select(Delivery)).next_attempt_at = None  # the poll interval has passed
    [later] = deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    assert [o.action for o in later.outcomes] == ["sent"]
    assert "sandbox-receiving-ap" in _rows(nl)["0106:12345678"].evidence


def test_delivery_needs_the_export_role_and_configured_tenant(settings: Settings, sandboxes: Sandboxes) -> None:
    nl = with_delivery(settings, sandboxes)
    with pytest.raises(ValidationFailed, match="tenant 'de-gmbh': delivery is not configured"):
        deliver_invoices(nl, actor(nl, "ada"), "de-gmbh")


def test_archived_document_rows_refuse_changes(settings: Settings, sandboxes: Sandboxes, tmp_path: Path) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "email", email="ap@customer.example")
    deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    with pytest.raises(Exception, match="append-only"), UnitOfWork(engine_for(nl), write=True) as uow:
        uow.session.execute(ArchivedDocument.__table__.update().values(content=b"forged"))


def test_a_message_taken_without_a_final_reply_is_uncertain_never_resent_by_itself(
        settings: Settings, sandboxes: Sandboxes) -> None:
    [number] = seed_invoices(settings, count=1)
    nl = with_delivery(settings, sandboxes)
    set_channel(nl, number, "email", email="vanish@customer.example")
    [summary] = deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    [outcome] = summary.outcomes
    assert outcome.action == "uncertain" and "no reply after the message was sent" in outcome.error
    assert deliver_invoices(nl, actor(nl, "finn"), "nl-bv")[0].outcomes == []
    assert len(_mails(sandboxes)) == 1  # it did arrive: only a person may decide to send it again
