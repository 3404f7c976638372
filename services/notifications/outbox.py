"""Sending the notification outbox: each queued e-mail is claimed, sent through SMTP, and its answer recorded.

Why the same discipline as the invoice delivery outbox (``services.delivery.outbox``, whose claims, backoff and SMTP
channel it reuses): the move to ``sending`` is committed before the mail server is called, so the scheduler's job and
a person's `cspbill notify run` never both send one row. A mail server keeps no memory of what it took, so a row
found ``sending`` whose run is gone, or whose message went out without a final reply, becomes ``uncertain`` and is
never sent again on its own: a notification is at most once. Nothing delivered (server down, 4xx) is ``queued``
again with backoff, and ``failed`` after ``MAX_ATTEMPTS``; a 5xx is ``failed`` at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from config import Settings
from config.delivery import SmtpConfig
from delivery_channels import smtp
from delivery_channels.base import DeliveryDeferred, DeliveryOutcomeUnknown, DeliveryRefused
from ledger.models import Notification
from services.access import Actor, require, scheduler
from services.clock import Clock, SystemClock
from services.delivery.channels import smtp_server
from services.export.claims import backoff, orphaned, run_claim
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.notifications")

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class NotifyOutcome:
    """One row's attempt: ``action`` is sent, queued (retried later), failed, uncertain or busy (another run)."""

    id: int
    tenant: str
    kind: str
    recipient: str
    action: str
    error: str | None = None


def send_notifications(settings: Settings, who: Actor, *, clock: Clock | None = None) -> list[NotifyOutcome]:
    """Send every due notification of the legal entities ``who`` may see (`cspbill notify run`)."""
    require(who, "export")
    clock = clock or SystemClock()
    now = clock.now()
    with UnitOfWork(engine_for(settings)) as uow:
        codes = {t.id: t.code for t in uow.tenants.all() if who.can_see(t.code)}
        due = [r.id for r in uow.notifications.due(list(codes), now)]
    with run_claim() as runner:
        return [_send(settings, codes, row_id, runner, clock) for row_id in due]


def list_notifications(settings: Settings, who: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The latest notifications of the legal entities ``who`` may see, newest first (`cspbill notify status`)."""
    require(who, "export")
    with UnitOfWork(engine_for(settings)) as uow:
        visible = [t.id for t in uow.tenants.all() if who.can_see(t.code)]
        return [{"id": r.id, "tenant": code, "kind": r.kind, "recipient": r.recipient, "subject": r.subject,
                 "status": r.status, "attempts": r.attempts, "last_error": r.last_error, "evidence": r.evidence,
                 "created_at": r.created_at.isoformat(), "sent_at": r.sent_at.isoformat() if r.sent_at else None}
                for r, code in uow.notifications.listing(visible, limit)]


def notify_due(settings: Settings, clock: Clock) -> dict[str, int]:
    """The scheduler's notifications job: the counts of each outcome."""
    return dict(Counter(o.action for o in send_notifications(settings, scheduler(settings), clock=clock)))


def _send(settings: Settings, codes: dict[int, str], row_id: int, runner: str, clock: Clock) -> NotifyOutcome:
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.notifications.get(row_id)
        assert row is not None
        code = codes[row.tenant_id]
        base = NotifyOutcome(row.id, code, row.kind, row.recipient, "busy")
        if row.status == "sending":
            if not orphaned(row, now):
                return base
            return _finish(uow, row, base, "uncertain", now, "a run ended while sending this e-mail; it may have "
                                                            "been delivered, so it is not sent again")
        server = _server(settings, code)
        if server is None:
            return _finish(uow, row, base, "failed", now, f"tenant {code!r}: no mail server for notifications "
                                                          "(set notifications.smtp or tenants[].delivery.smtp)")
        if not uow.notifications.claim(row.id, row.status, row.claimed_by, runner, now):
            return base
        mail = smtp.Mail(server.sender, row.recipient, row.subject, row.body, row.message_id, ())
    try:
        evidence = smtp.send(smtp_server(server), mail)
    except DeliveryRefused as exc:
        return _record(settings, row_id, base, "failed", now, str(exc))
    except DeliveryOutcomeUnknown as exc:
        return _record(settings, row_id, base, "uncertain", now, str(exc))
    except DeliveryDeferred as exc:
        return _record(settings, row_id, base, "queued", now, str(exc))
    return _record(settings, row_id, base, "sent", now, None, evidence)


def _server(settings: Settings, tenant_code: str) -> SmtpConfig | None:
    """``notifications.smtp``, or else the legal entity's own ``delivery.smtp``."""
    delivery = settings.tenant(tenant_code).delivery
    return settings.notifications.smtp or (delivery.smtp if delivery else None)


def _record(settings: Settings, row_id: int, base: NotifyOutcome, action: str, now: dt.datetime,
            error: str | None, evidence: str | None = None) -> NotifyOutcome:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.notifications.get(row_id)
        assert row is not None
        if action == "queued" and row.attempts >= MAX_ATTEMPTS:
            action = "failed"
        row.next_attempt_at = now + backoff(row.attempts) if action == "queued" else None
        row.evidence = evidence
        if action == "sent":
            row.sent_at = now
        return _finish(uow, row, base, action, now, error)


def _finish(uow: UnitOfWork, row: Notification, base: NotifyOutcome, action: str, now: dt.datetime,
            error: str | None) -> NotifyOutcome:
    row.status, row.last_error, row.claimed_by, row.updated_at = action, error, None, now
    if action != "sent":
        log.warning("notification %s to %s: %s: %s", row.id, row.recipient, action, error)
    return NotifyOutcome(base.id, base.tenant, base.kind, base.recipient, action, error)
