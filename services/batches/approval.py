"""`cspbill batch approve` and `cspbill batch reject`: four-eyes approval of a draft batch.

Approve needs a signed-in person with the ``approver`` role for the tenant, whose session still stands at the moment
of approval, and who is none of the batch's makers (everyone who built or changed the draft); months are approved in
order, so invoice numbers follow the months. It locks the batch (status approved, invoices immutable), decides which
invoices are credit notes (negative total: type 381, referring to the invoice they correct) and numbers them
gaplessly, all in one unit of work; it refuses while a finding of the batch blocks (``services.batches.findings``:
missing master data, or a finding nobody acknowledged with a reason); both identities and how each signed in are
recorded on the batch and in the audit event. Reject keeps the batch a draft and records who rejected it and why,
so the builder can fix and rebuild.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from config import Settings
from ledger.models import Batch
from ledger.models import Tenant as TenantRow
from services.access import Actor, require, require_person
from services.batches.credit_notes import CREDIT_NOTE, decide_types
from services.batches.desired import tenant_config
from services.batches.findings import refuse_if_blocking
from services.batches.months import parse_month
from services.batches.numbering import Numbered, number_documents
from services.clock import Clock, SystemClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApprovalReport:
    batch_id: int
    tenant: str
    month: str
    status: str
    invoices: int
    first_number: str | None
    last_number: str | None
    issue_date: dt.date
    credit_notes: int = 0  # of ``invoices``, those with a negative total (type 381)
    first_credit_note: str | None = None  # only when credit notes have a number series of their own
    last_credit_note: str | None = None


@dataclass(frozen=True)
class RejectionReport:
    batch_id: int
    tenant: str
    month: str
    status: str
    reason: str


def _approver(who: Actor, tenant_code: str, action: str) -> Actor:
    require_person(who, action)
    require(who, "approver", tenant_code)
    return who


def _draft(uow: UnitOfWork, who: Actor, tenant_code: str, month: str) -> tuple[TenantRow, Batch]:
    confirm(uow, who)
    tenant = uow.tenants.by_code(tenant_code)
    if tenant is None:
        raise NotFound(f"tenant {tenant_code!r}: not in the ledger (run `cspbill init`)")
    batch = uow.batches.for_month(tenant.id, month, lock=True)
    if batch is None:
        raise NotFound(f"batch {tenant_code} {month}: not built yet (run `cspbill batch build`)")
    if batch.status != "draft":
        raise NotAllowed(f"batch {tenant_code} {month} status: already {batch.status}")
    return tenant, batch


def approve_batch(settings: Settings, tenant_code: str, month: str, who: Actor,
                  clock: Clock | None = None) -> ApprovalReport:
    """Approve the draft batch: four-eyes check, month order, gapless numbers, invoices locked, audit event."""
    _approver(who, tenant_code, "batch approval")
    config = tenant_config(settings, tenant_code)
    parse_month(month)
    now = (clock or SystemClock()).now()
    issue_date = now.astimezone(ZoneInfo(config.timezone)).date()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant, batch = _draft(uow, who, tenant_code, month)
        makers = {batch.built_by, batch.changed_by, *(batch.makers or [])} - {None}
        if who.username in makers:
            raise NotAllowed(f"batch {tenant_code} {month} approved_by: {who.username!r} built or changed it; "
                             f"a second person must approve (four-eyes)")
        earlier = sorted(m for m, status in uow.batches.statuses(tenant.id).items() if m < month and status == "draft")
        if earlier:
            raise NotAllowed(f"batch {tenant_code} {month}: the earlier batch {earlier[0]} is still a draft; approve "
                             f"or remove it first (invoice numbers follow month order)")
        if (batch.totals or {}).get("problem_count"):
            log.warning("approving batch tenant=%s month=%s with %s problems", tenant_code, month,
                        batch.totals["problem_count"])
        refuse_if_blocking(uow, tenant_code, month, batch)
        ordered = uow.invoices.numbering_order(batch.id)
        types = decide_types(uow, tenant.id, ordered)
        credit_notes = sum(1 for row in types if row["document_type"] == CREDIT_NOTE)
        numbered = number_documents(uow, tenant_code, tenant.id, config.invoice_numbers, issue_date.year,
                                    [(row["id"], row["document_type"] == CREDIT_NOTE) for row in types])
        uow.invoices.mark_credit_notes(types)
        uow.invoices.issue([{"id": row.id, "number": numbered.numbers[row.id]} for row in ordered], issue_date,
                           "approved")
        batch.status = "approved"
        batch.approved_by, batch.approved_at, batch.approved_auth = who.username, now, who.authentication()
        first, last = numbered.invoices or (None, None)
        credit_first, credit_last = numbered.credit_notes or (None, None)
        uow.audit.record(who.username, "batch.approve", "batch", batch.id, tenant.id,
                         before={"status": "draft", "totals": batch.totals},
                         after={"status": "approved", "totals": batch.totals, "first_number": first,
                                "last_number": last, "invoices": len(ordered), "credit_notes": credit_notes,
                                "first_credit_note": credit_first, "last_credit_note": credit_last,
                                "built": batch.built_auth or {"username": batch.built_by},
                                "makers": sorted(makers), "approved": batch.approved_auth},
                         detail=f"{tenant_code} {month}: " + _numbered_text(len(ordered), credit_notes, numbered),
                         at=now)
        log.info("batch approved tenant=%s month=%s batch=%s invoices=%s credit_notes=%s numbers=%s..%s",
                 tenant_code, month, batch.id, len(ordered), credit_notes, first, last)
        return ApprovalReport(batch.id, tenant_code, month, "approved", len(ordered), first, last, issue_date,
                              credit_notes, credit_first, credit_last)


def _numbered_text(count: int, credit_notes: int, numbered: Numbered) -> str:
    if not count:
        return "no invoices"
    first, last = numbered.invoices or ("-", "-")
    text = f"{count} invoices numbered {first}..{last}" if numbered.invoices else f"{count} invoices"
    if numbered.credit_notes:
        text += f", credit notes {numbered.credit_notes[0]}..{numbered.credit_notes[1]}"
    return text + (f" ({credit_notes} credit notes)" if credit_notes else "")


def reject_batch(settings: Settings, tenant_code: str, month: str, who: Actor, reason: str,
                 clock: Clock | None = None) -> RejectionReport:
    """Send the draft back to its builder with a reason; it stays a draft and keeps no number."""
    _approver(who, tenant_code, "batch rejection")
    tenant_config(settings, tenant_code)
    parse_month(month)
    if not reason or not reason.strip():
        raise ValidationFailed(f"batch {tenant_code} {month} rejection_reason: give --reason TEXT")
    now = (clock or SystemClock()).now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant, batch = _draft(uow, who, tenant_code, month)
        batch.rejected_by, batch.rejected_at, batch.rejection_reason = who.username, now, reason.strip()
        uow.audit.record(who.username, "batch.reject", "batch", batch.id, tenant.id,
                         before={"status": "draft", "totals": batch.totals},
                         after={"status": "draft", "totals": batch.totals, "reason": reason.strip()},
                         detail=f"{tenant_code} {month}: rejected: {reason.strip()}", at=now)
        return RejectionReport(batch.id, tenant_code, month, batch.status, reason.strip())
