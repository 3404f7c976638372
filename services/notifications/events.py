"""The events finance is told about, queued in the transaction that records them: a draft batch ready for
approval, an export that failed for good, new blocking findings of a reconcile run.

Why each hook takes the caller's unit of work: the notification is part of the event. A build that rolls back
notifies nobody; a build that commits has its e-mails queued with it (the outbox, ``services.notifications.outbox``,
sends them later). Each hook is one call in its use case and does nothing while notifications are off or the legal
entity has no recipients for the kind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

from sqlalchemy import select

from config import Settings
from config.notifications import NotificationKind
from ledger.models import Batch, Discrepancy, Export
from services.uow import UnitOfWork

MAX_LISTED = 20  # findings named in one e-mail; the rest are counted


def batch_ready(uow: UnitOfWork, settings: Settings, tenant_code: str, batch: Batch, now: dt.datetime) -> None:
    """A draft built or changed: the approvers may look (a rebuild without changes keeps its revision: no mail)."""
    totals = batch.totals or {}
    amounts = ", ".join(f"{code} net {figures['net']}" for code, figures in (totals.get("currencies") or {}).items())
    body = (f"The draft batch {tenant_code} {batch.month} (revision {batch.revision}) is ready for approval: "
            f"{totals.get('invoices', 0)} invoices, {totals.get('lines', 0)} lines"
            f"{'; ' + amounts if amounts else ''}.\n"
            f"Problems found while building: {totals.get('problem_count', 0)}.\n\n"
            f"Review and approve it in the desk: /batches/{batch.id}\n")
    _queue(uow, settings, tenant_code, batch.tenant_id, "batch_ready", f"batch_ready:{batch.id}:r{batch.revision}",
           f"Batch {tenant_code} {batch.month} is ready for approval", body, now)


def export_failed(uow: UnitOfWork, settings: Settings, tenant_code: str, row: Export, invoice_number: str,
                  now: dt.datetime) -> None:
    """An export row that ended ``failed`` (a retryable error that will be tried again is not news)."""
    if row.status != "failed":
        return
    body = (f"Invoice {invoice_number} of {tenant_code} could not be exported to {row.target} after "
            f"{row.attempts} attempt(s):\n{row.last_error or 'no reason given'}\n\n"
            f"Fix the cause and retry it from the batch's invoice page or with `cspbill export --retry-failed`.\n")
    _queue(uow, settings, tenant_code, row.tenant_id, "export_failed", f"export_failed:{row.id}:{row.attempts}",
           f"Export of invoice {invoice_number} ({tenant_code}) failed", body, now)


def new_findings(uow: UnitOfWork, settings: Settings, tenants: Mapping[int, str], now: dt.datetime) -> None:
    """Findings of the blocking kinds first seen in this run (``first_seen_at`` is the run's now): one e-mail per
    legal entity listing them."""
    kinds = settings.notifications.blocking_kinds
    if not settings.notifications.enabled or not kinds:
        return
    rows = uow.session.scalars(select(Discrepancy).where(Discrepancy.tenant_id.in_(list(tenants)),
                                                         Discrepancy.kind.in_(kinds),
                                                         Discrepancy.first_seen_at >= now)
                               .order_by(Discrepancy.id)).all()
    for tenant_id, code in tenants.items():
        found = [d for d in rows if d.tenant_id == tenant_id]
        if not found:
            continue
        listed = "\n".join(f"- {d.kind}: {d.sentence}" for d in found[:MAX_LISTED])
        more = f"\n... and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
        body = (f"Reconciliation found {len(found)} new blocking finding(s) for {code}:\n{listed}{more}\n\n"
                f"See them in the desk: /discrepancies?tenant={code}\n")
        _queue(uow, settings, code, tenant_id, "blocking_finding", f"blocking_finding:{tenant_id}:{found[-1].id}",
               f"{len(found)} new blocking finding(s) for {code}", body, now)


def _queue(uow: UnitOfWork, settings: Settings, tenant_code: str, tenant_id: int, kind: NotificationKind,
           event_key: str, subject: str, body: str, now: dt.datetime) -> None:
    for recipient in settings.notifications.recipients_for(tenant_code, kind):
        digest = hashlib.sha256(f"{event_key}\n{recipient}".encode()).hexdigest()[:32]
        uow.notifications.queue(tenant_id, kind, event_key, recipient, f"[cspbill] {subject}", body,
                                f"<notify-{digest}@cspbill.invalid>", now)
