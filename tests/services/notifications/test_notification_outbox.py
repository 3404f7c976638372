"""The notification outbox: a draft build queues one e-mail per configured recipient in its own transaction; each is
sent once (a second run, a rebuild without changes and a crashed run send nothing again) and a send that delivered
nothing is retried later."""

from __future__ import annotations

import datetime as dt
import email
import socket
import subprocess
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from config.notifications import NotificationsConfig
from ledger.models import Notification
from sandbox import smtp_catcher
from services.batches import build_batch
from services.clock import FixedClock
from services.notifications.outbox import list_notifications, send_notifications
from services.operations import execute, initialise, job_specs, recent_runs
from services.runners import HOST
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor, nightly

NOW = dt.datetime(2026, 6, 2, 7, 0, tzinfo=dt.UTC)
PEOPLE = ["finance@wolkwerk.example", "cfo@wolkwerk.example"]


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[smtp_catcher.SmtpCatcher]:
    running = smtp_catcher.start(tmp_path / "mail")
    yield running
    running.stop()


def notifying(settings: Settings, port: int, recipients: list[str] = PEOPLE) -> Settings:
    section = NotificationsConfig.model_validate({
        "enabled": True,
        "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "from": "cspbill@wolkwerk.example"},
        "recipients": {"nl-bv": {"batch_ready": recipients}}})
    changed = settings.model_copy(update={"notifications": section})
    initialise(changed)
    return changed


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(settings: Settings, at: dt.datetime = NOW) -> None:
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), FixedClock(at))


def rows(settings: Settings) -> list[Notification]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(Notification).order_by(Notification.id)))


def mails(catcher: smtp_catcher.SmtpCatcher) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in catcher.messages()]


def test_a_draft_build_mails_each_recipient_once(settings: Settings, catcher: smtp_catcher.SmtpCatcher) -> None:
    on = notifying(settings, catcher.port)
    build(on)
    outcomes = send_notifications(on, actor(on, "finn"), clock=FixedClock(NOW))
    assert sorted((o.recipient, o.action) for o in outcomes) == sorted((p, "sent") for p in PEOPLE)
    received = mails(catcher)
    assert sorted(m["To"] for m in received) == sorted(PEOPLE)
    assert {m["Subject"] for m in received} == {"[cspbill] Batch nl-bv 2026-05 is ready for approval"}
    assert "is ready for approval: 0 invoices" in received[0].get_content()
    assert send_notifications(on, actor(on, "finn"), clock=FixedClock(NOW)) == []  # a second run sends nothing
    build(on, NOW + dt.timedelta(hours=1))  # a rebuild without changes is no news
    assert send_notifications(on, actor(on, "finn"), clock=FixedClock(NOW + dt.timedelta(hours=2))) == []
    assert len(mails(catcher)) == 2
    assert [r["status"] for r in list_notifications(on, actor(on, "finn"))] == ["sent", "sent"]


def test_off_by_default_nothing_is_queued(settings: Settings) -> None:
    initialise(settings)
    build(settings)
    assert rows(settings) == []
    assert "notify" not in [spec.id for spec in job_specs(settings)]


def test_a_row_whose_run_died_while_sending_is_never_sent_again(settings: Settings,
                                                                 catcher: smtp_catcher.SmtpCatcher) -> None:
    on = notifying(settings, catcher.port, PEOPLE[:1])
    build(on)
    process = subprocess.Popen(["true"])
    process.wait()
    with UnitOfWork(engine_for(on), write=True) as uow:
        row = uow.session.scalars(select(Notification)).one()
        row.status, row.claimed_by, row.claimed_at = "sending", f"{HOST}:{process.pid}:killed", NOW
    [outcome] = send_notifications(on, nightly(on), clock=FixedClock(NOW))
    assert outcome.action == "uncertain" and "not sent again" in (outcome.error or "")
    assert send_notifications(on, nightly(on), clock=FixedClock(NOW + dt.timedelta(days=1))) == []
    assert mails(catcher) == []


def test_a_send_that_delivered_nothing_is_retried_after_its_backoff(settings: Settings,
                                                                    catcher: smtp_catcher.SmtpCatcher) -> None:
    down = notifying(settings, closed_port(), PEOPLE[:1])
    build(down)
    [first] = send_notifications(down, nightly(down), clock=FixedClock(NOW))
    assert first.action == "queued" and "cannot connect" in (first.error or "")
    [row] = rows(down)
    assert (row.attempts, row.next_attempt_at) == (1, NOW + dt.timedelta(minutes=2))
    up = notifying(settings, catcher.port, PEOPLE[:1])  # the mail server is back
    assert send_notifications(up, nightly(up), clock=FixedClock(NOW + dt.timedelta(minutes=1))) == []
    [second] = send_notifications(up, nightly(up), clock=FixedClock(NOW + dt.timedelta(minutes=3)))
    assert second.action == "sent"
    [row] = rows(up)
    assert (row.status, row.attempts) == ("sent", 2) and row.evidence.startswith("250")
    assert len(mails(catcher)) == 1


@pytest.mark.parametrize(("recipient", "action", "status"), [
    ("busy-finance@wolkwerk.example", "queued", "queued"),  # 451: try again later
    ("bounce-finance@wolkwerk.example", "failed", "failed"),  # 550: refused for good
])
def test_the_mail_servers_answer_decides_retry_or_failure(settings: Settings, catcher: smtp_catcher.SmtpCatcher,
                                                          recipient: str, action: str, status: str) -> None:
    on = notifying(settings, catcher.port, [recipient])
    build(on)
    [outcome] = send_notifications(on, nightly(on), clock=FixedClock(NOW))
    assert outcome.action == action
    assert [r.status for r in rows(on)] == [status]
    assert "notify" in [spec.id for spec in job_specs(on)]


def test_the_scheduler_job_sends_them(settings: Settings, catcher: smtp_catcher.SmtpCatcher) -> None:
    on = notifying(settings, catcher.port)
    build(on)
    execute(on, "notify", FixedClock(NOW))
    assert sorted(m["To"] for m in mails(catcher)) == sorted(PEOPLE)
    [run] = recent_runs(on, job_id="notify")
    assert (run.outcome, run.counts) == ("succeeded", {"sent": 2})
