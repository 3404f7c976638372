"""`cspbill payments remind`: reminders (dunning letters) for overdue invoices go out by e-mail, with the letter as
PDF, once per invoice and level, through the legal entity's SMTP server (``delivery.smtp``).

Why an outbox like the invoice delivery's (``services.delivery.outbox``, whose claims and backoff it shares): a
``reminders`` row per invoice and level (unique), created in the transaction that decides to remind, carrying a
Message-ID derived from invoice and level and the PDF as generated then. The row moves ``queued -> sending`` in its
own committed transaction before the mail server is called. A mail server keeps no memory of what it took, so a row
found ``sending`` with its run gone, or whose message went out without a final reply, becomes ``uncertain``: shown
to finance, never sent again on its own. Only the highest level an invoice has reached is queued: a letter for a
level it skipped (the run was off for weeks) would say less than the one it needs now.

Reminders are off until ``payments.reminders.enabled``; a customer listed in ``payments.reminders.paused_customers``
(reference or name) gets none; a customer without an e-mail address gets a ``failed`` row naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from config import Settings
from config.schema import Tenant as TenantConfig
from delivery_channels import smtp
from delivery_channels.base import Attachment, DeliveryDeferred, DeliveryOutcomeUnknown, DeliveryRefused
from erp_export.letters import ReminderLetter, reminder_pdf
from ledger.models import Customer, Reminder
from rating.payments.reference import creditor_reference, printed
from services.access import Actor, readable_tenants, require, scheduler
from services.clock import Clock, SystemClock
from services.delivery.channels import mail_server
from services.errors import BadSetting, NotConfigured
from services.export.claims import backoff, orphaned, run_claim
from services.identity import confirm
from services.payments.applying import money
from services.payments.dunning import ladder, late_items, text_of
from services.payments.statement import customer_party, seller_party
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.payments.reminders")

MAX_ATTEMPTS = 8

AfterSend = Callable[[int], None]


@dataclass
class ReminderSummary:
    tenant: str
    queued: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        done = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items())) or "nothing to send"
        return f"{self.tenant}: {self.queued} reminders newly queued; {done}"


def send_reminders(settings: Settings, who: Actor, tenant: str | None = None, *, clock: Clock | None = None,
                   before_reply: AfterSend | None = None) -> list[ReminderSummary]:
    """Queue the reminders due on the clock's day for ``tenant`` (default: every visible tenant with a ladder) and
    send what is due. ``before_reply`` runs after the message went out, before the outcome is committed (a test hook
    for a crash at exactly that point)."""
    clock = clock or SystemClock()
    if not settings.payments.reminders.enabled:
        raise NotConfigured("payments.reminders.enabled is false: reminders are not sent")
    with UnitOfWork(engine_for(settings)) as uow:
        confirm(uow, who)
    summaries = []
    for config in _tenants(settings, who, tenant):
        summary = ReminderSummary(config.code, queued=_queue(settings, who, config, clock))
        _drain(settings, who, config, clock, summary, before_reply)
        summaries.append(summary)
    return summaries


def remind_due(settings: Settings, clock: Clock) -> dict[str, int]:
    """The scheduler's part (only when ``payments.reminders.enabled``)."""
    counts: dict[str, int] = {}
    if not settings.payments.reminders.enabled:
        return counts
    for summary in send_reminders(settings, scheduler(settings), clock=clock):
        counts["queued"] = counts.get("queued", 0) + summary.queued
        for status, n in summary.outcomes.items():
            counts[status] = counts.get(status, 0) + n
    return counts


def _tenants(settings: Settings, who: Actor, tenant: str | None) -> list[TenantConfig]:
    if tenant is not None:
        require(who, "export", tenant)
        if not ladder(settings, tenant):
            raise NotConfigured(f"tenant {tenant!r}: payments.dunning has no reminder levels for it")
        config = settings.tenant(tenant)
        if config.delivery is None or config.delivery.smtp is None:
            raise BadSetting(f"tenant {tenant!r}: delivery.smtp is not configured (reminders go out by e-mail)")
        return [config]
    require(who, "export")
    configs = [settings.tenant(d.tenant) for d in settings.payments.dunning if who.can_see(d.tenant)]
    return [c for c in configs if c.delivery is not None and c.delivery.smtp is not None]


def _paused(settings: Settings, customer: Customer) -> bool:
    paused = {p.casefold() for p in settings.payments.reminders.paused_customers}
    return customer.name.casefold() in paused or (customer.reference or "").casefold() in paused


def _queue(settings: Settings, who: Actor, config: TenantConfig, clock: Clock) -> int:
    """Decide and lay out the letters (read, then PDFs), then store the rows that are still missing (write)."""
    now = clock.now()
    today = now.date()
    _server, sender = mail_server(config)
    domain = sender.rsplit("@", 1)[-1]
    letters = []
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            raise NotConfigured(f"tenant {config.code!r}: not in the ledger (run `cspbill init`)")
        done = uow.payments_out.reminded_levels(tenant.id)
        for row, late in late_items(uow, settings, tenant.id, config.code, today):
            if late.level is None or (row.id, late.level.level) in done:
                continue
            customer = uow.session.get(Customer, row.customer_id)
            assert customer is not None and row.issue_date is not None
            if _paused(settings, customer):
                continue
            open_amount = Decimal(money(row.gross - row.paid, row.currency))
            text = text_of(row, late) or ""
            letter = ReminderLetter(seller_party(config), customer_party(customer), today, late.level.level, text,
                                    row.number, row.issue_date, late.due_date, late.days, open_amount, row.currency,
                                    printed(creditor_reference(row.number)))
            letters.append((row.id, customer, letter))
    made = [(invoice_id, customer, letter, reminder_pdf(letter)) for invoice_id, customer, letter in letters]
    queued = 0
    with UnitOfWork(engine_for(settings), write=True) as uow:
        assert tenant is not None
        uow.payments_out.lock_tenant(tenant.id)
        done = uow.payments_out.reminded_levels(tenant.id)
        for invoice_id, customer, letter, pdf in made:
            if (invoice_id, letter.level) in done:
                continue
            problem = None if customer.email else f"customer {customer.id} ({customer.name}): email is empty " \
                                                  "(reminders go out by e-mail)"
            row = Reminder(tenant_id=tenant.id, invoice_id=invoice_id, customer_id=customer.id, level=letter.level,
                           recipient=customer.email or "", text=letter.text, open_amount=letter.open_amount,
                           currency=letter.currency, pdf=pdf, attempts=0, created_at=now, updated_at=now,
                           message_ref=f"<REM-{config.code.upper()}-{letter.invoice_number}-{letter.level}@{domain}>",
                           status="failed" if problem else "queued", last_error=problem,
                           next_attempt_at=None if problem else now)
            uow.session.add(row)
            uow.flush()
            queued += 1
            uow.audit.record(who.username, "reminder.queue", "invoice", letter.invoice_number, tenant.id,
                             after={"reminder_id": row.id, "level": row.level, "recipient": row.recipient,
                                    "open": str(row.open_amount), "status": row.status}, detail=problem, at=now)
    return queued


def _drain(settings: Settings, who: Actor, config: TenantConfig, clock: Clock, summary: ReminderSummary,
           before_reply: AfterSend | None) -> None:
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        due = [r.id for r in uow.payments_out.due_reminders(tenant.id, clock.now())] if tenant else []
    with run_claim() as runner:
        for reminder_id in due:
            status = _send(settings, who, config, reminder_id, runner, clock, before_reply)
            summary.outcomes[status] = summary.outcomes.get(status, 0) + 1


def _send(settings: Settings, who: Actor, config: TenantConfig, reminder_id: int, runner: str, clock: Clock,
          before_reply: AfterSend | None) -> str:
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.payments_out.reminder(reminder_id)
        assert row is not None
        if row.status == "sending" and not orphaned(row, now):
            return "busy"
        crashed = row.status == "sending"
        if not crashed and not uow.payments_out.claim_reminder(row.id, row.status, row.claimed_by, runner, now):
            return "busy"
        invoice = uow.exports.invoice(row.invoice_id)
        assert invoice is not None
        number, level, recipient, ref = invoice.number or str(invoice.id), row.level, row.recipient, row.message_ref
        text, pdf = row.text, row.pdf or b""
    if crashed:
        return _record(settings, who, reminder_id, number, "uncertain", clock,
                       "a run ended while sending this reminder; it may have been delivered: check before re-sending")
    seller = config.seller.legal_name or config.name
    try:
        server, sender = mail_server(config)
        mail = smtp.Mail(sender, recipient, f"Payment reminder {level}: invoice {number} from {seller}",
                         f"{text}\n", ref, (Attachment(f"reminder-{number}-{level}.pdf", "application/pdf", pdf),))
        evidence = smtp.send(server, mail)
        if before_reply:
            before_reply(reminder_id)
        return _record(settings, who, reminder_id, number, "sent", clock, None, evidence)
    except DeliveryRefused as exc:
        return _record(settings, who, reminder_id, number, "bounced" if exc.bounced else "failed", clock, str(exc))
    except DeliveryOutcomeUnknown as exc:
        return _record(settings, who, reminder_id, number, "uncertain", clock, str(exc))
    except DeliveryDeferred as exc:
        return _record(settings, who, reminder_id, number, "queued", clock, str(exc))


def _record(settings: Settings, who: Actor, reminder_id: int, invoice: str, status: str, clock: Clock,
            error: str | None, evidence: str | None = None) -> str:
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.payments_out.reminder(reminder_id)
        assert row is not None
        if status == "queued" and row.attempts >= MAX_ATTEMPTS:
            status, error = "failed", f"{error} (gave up after {row.attempts} attempts)"
        row.status, row.last_error, row.claimed_by, row.updated_at = status, error, None, now
        row.evidence = evidence or row.evidence
        row.next_attempt_at = now + backoff(row.attempts) if status == "queued" else None
        if status == "sent":
            row.sent_at = now
        uow.audit.record(who.username, f"reminder.{status}", "invoice", invoice, row.tenant_id,
                         after={"reminder_id": row.id, "level": row.level, "recipient": row.recipient,
                                "message_ref": row.message_ref, "attempts": row.attempts, "evidence": row.evidence},
                         detail=error, at=now)
    log.log(logging.INFO if status == "sent" else logging.WARNING, "reminder %s: invoice=%s%s", status, invoice,
            f": {error}" if error else "")
    return status


def reminder_list(settings: Settings, who: Actor, tenant: str | None = None) -> list[dict[str, object]]:
    """The reminders sent or waiting, newest first (finance)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        return [{"id": r.id, "tenant": tenants[r.tenant_id], "invoice": i.number, "customer": c.name,
                 "level": r.level, "recipient": r.recipient, "status": r.status, "error": r.last_error,
                 "open": money(r.open_amount, r.currency), "currency": r.currency,
                 "sent_at": r.sent_at.isoformat() if r.sent_at else None}
                for r, i, c in uow.payments_out.reminders(list(tenants))]

