"""`cspbill batch findings` and `cspbill batch acknowledge`: the findings of a batch with their acknowledgements,
and a person's acknowledgement of one finding with a reason.

Why a person and a reason: approval refuses while a finding is open, and accepting one (a negative margin agreed with
the customer, a mutation the vendor will confirm next week) is a money decision that someone answers for later. It
is recorded with who, when (and how they signed in), why and the fingerprint of what they saw, plus an audit event;
the batch keeps it until a rebuild changes the finding. A hard block (missing master data) is never acknowledged:
the customer is completed instead. A decided (approved) batch lists the acknowledgements it was approved with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config import Settings
from ledger.models import Batch, FindingAck
from rating.readiness import Finding
from rating.review import TITLES, ReviewFinding, blocks
from services.access import Actor, require, require_person
from services.batches.findings import acknowledged, draft_findings
from services.batches.months import parse_month
from services.clock import Clock, SystemClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

REASON_LENGTH = 500


@dataclass(frozen=True)
class Acknowledgement:
    batch_id: int
    tenant: str
    month: str
    finding_id: str
    kind: str
    sentence: str
    reason: str
    acknowledged_by: str
    acknowledged_at: dt.datetime


def batch_of(uow: UnitOfWork, tenant_code: str, month: str, lock: bool = False) -> tuple[int, Batch]:
    """The tenant id and its batch of ``month`` (``lock``: a row lock until the transaction ends)."""
    tenant = uow.tenants.by_code(tenant_code)
    batch = uow.batches.for_month(tenant.id, month, lock=lock) if tenant is not None else None
    if batch is None:
        raise NotFound(f"batch {tenant_code} {month}: not built yet (run `cspbill batch build`)")
    return tenant.id, batch


def _ack_dict(ack: FindingAck | None) -> dict[str, Any] | None:
    if ack is None:
        return None
    return {"by": ack.acknowledged_by, "at": ack.acknowledged_at.isoformat(), "reason": ack.reason}


def _finding_dict(finding: ReviewFinding, ack: FindingAck | None, blocking: bool) -> dict[str, Any]:
    return {"id": finding.id, "kind": finding.kind, "title": TITLES.get(finding.kind, finding.kind),
            "hard": finding.hard, "customer_id": finding.customer_id, "customer": finding.customer,
            "subject": finding.subject, "sentence": finding.sentence, "blocking": blocking,
            "acknowledged": _ack_dict(ack)}


def review_findings(uow: UnitOfWork, batch: Batch, master: Sequence[Finding] | None = None) -> list[dict[str, Any]]:
    """The findings as the batch page and `batch show` list them: a draft's current findings with their
    acknowledgement (if any), or the acknowledgements a decided batch was approved with. ``master``: the batch's
    ``batch_findings`` when the caller has them already."""
    acks = acknowledged(uow, batch.id)
    if batch.status != "draft":
        return [{"id": a.finding_id, "kind": a.kind, "title": TITLES.get(a.kind, a.kind), "hard": False,
                 "customer_id": None, "customer": "", "subject": "", "sentence": a.sentence, "blocking": False,
                 "acknowledged": _ack_dict(a)} for a in acks.values()]
    return [_finding_dict(f, acks.get(f.fingerprint), blocks(f, acks)) for f in draft_findings(uow, batch, master)]


def batch_review_findings(settings: Settings, tenant_code: str, month: str, who: Actor) -> list[dict[str, Any]]:
    """Every finding of the tenant's batch of ``month``: id, kind, subject, sentence, whether it still blocks."""
    require(who, "finance", tenant_code)
    parse_month(month)
    with UnitOfWork(engine_for(settings)) as uow:
        _, batch = batch_of(uow, tenant_code, month)
        return review_findings(uow, batch)


def acknowledge_finding(settings: Settings, tenant_code: str, month: str, finding_id: str, reason: str, who: Actor,
                        clock: Clock | None = None) -> Acknowledgement:
    """Record ``who``'s acknowledgement of one finding of the draft batch, with ``reason``; audited."""
    require_person(who, "acknowledging a finding")
    require(who, "finance", tenant_code)
    parse_month(month)
    reason = (reason or "").strip()
    subject = f"batch {tenant_code} {month} finding {finding_id}"
    if not reason:
        raise ValidationFailed(f"{subject} reason: give the reason why this finding may be approved")
    if len(reason) > REASON_LENGTH:
        raise ValidationFailed(f"{subject} reason: at most {REASON_LENGTH} characters (got {len(reason)})")
    now = (clock or SystemClock()).now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        tenant_id, batch = batch_of(uow, tenant_code, month, lock=True)
        if batch.status != "draft":
            raise NotAllowed(f"batch {tenant_code} {month} status: already {batch.status}; nothing to acknowledge")
        finding = next((f for f in draft_findings(uow, batch) if f.id == finding_id.strip()), None)
        if finding is None:
            raise NotFound(f"{subject}: no such finding (list them with `cspbill batch findings {tenant_code} "
                           f"{month}`)")
        if finding.hard:
            raise NotAllowed(f"{subject}: {finding.subject} is missing master data; it cannot be acknowledged, "
                             f"complete the customer (`cspbill customer set`)")
        earlier = acknowledged(uow, batch.id).get(finding.fingerprint)
        if earlier is not None:
            raise NotAllowed(f"{subject}: already acknowledged by {earlier.acknowledged_by} "
                             f"({earlier.acknowledged_at:%Y-%m-%d %H:%M} UTC): {earlier.reason}")
        uow.session.add(FindingAck(tenant_id=tenant_id, batch_id=batch.id, finding_id=finding.id,
                                   fingerprint=finding.fingerprint, kind=finding.kind, sentence=finding.sentence,
                                   reason=reason, acknowledged_by=who.username, acknowledged_at=now,
                                   auth=who.authentication()))
        uow.audit.record(who.username, "finding.acknowledge", "batch", batch.id, tenant_id,
                         after={"finding": finding.id, "fingerprint": finding.fingerprint, "kind": finding.kind,
                                "subject": finding.subject, "sentence": finding.sentence, "reason": reason,
                                "revision": batch.revision, "auth": who.authentication()},
                         detail=f"{tenant_code} {month}: acknowledged {finding}: {reason}", at=now)
        return Acknowledgement(batch.id, tenant_code, month, finding.id, finding.kind, finding.sentence, reason,
                               who.username, now)
