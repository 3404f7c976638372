"""Provisioning at the vendor: the outbox that carries desk mutations to Partner Center, Pax8 and Ingram, once.

Why an outbox, like the ERP export's (``services.export.outbox``): a vendor write that got no answer may have been
applied, and a process can die between the vendor's answer and our record of it. So a mutation of a subscription of
a source with ``provisioning: true`` gets one ``provisionings`` row, queued in the transaction that saves the
mutation, with a request id derived from the mutation id (the same on every retry). A run claims a row in its own
committed transaction (``sending``, claimed by ``host:pid:token``), asks the vendor, and records the answer:
``applied`` (or adopted, when the look-up found the change already there), ``refused`` with the vendor's code and
sentence (the mutation becomes ``refused``; the desk sees why), or queued again with a backoff. A row left in
``sending`` by a run that is gone (``services.runners``, the ERP outbox's claim rule) is simply taken again: every
attempt reads the vendor first (``services.desk.vendor_writes``) and only writes when the change is not there, and
Partner Center answers a repeated ``MS-RequestId`` with its first result. A later snapshot that shows the change
confirms it (status ``confirmed``; the mutation ``provisioned``): each run starts by confirming, and the scheduler
runs it after every nightly sync.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from config import Settings
from config.schema import SourceConfig
from connectors.errors import SourceError, VendorRefused
from ledger.models import Mutation, Provisioning, Snapshot, Subscription
from services.access import Actor, require
from services.clock import Clock, SystemClock
from services.desk.vendor_writes import Job, Outcome, Unsupported, Writer, open_writer
from services.errors import BadSetting, NotFound, ValidationFailed
from services.identity import confirm
from services.runners import gone_because, running
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.provisioning")

REQUEST_NAMESPACE = uuid.UUID("6f1c2a4e-52d1-4c3b-9f0e-8a7d3b2c1e55")  # fixed: request ids must never change
MAX_ATTEMPTS = 8  # after this many attempts a retryable error becomes a failure a person must look at
BACKOFF_BASE = dt.timedelta(minutes=5)
BACKOFF_CAP = dt.timedelta(hours=6)
CLAIM_TTL = dt.timedelta(minutes=30)  # a claim by a run on another host is presumed dead after this long
ACTIONS = {"increase": "quantity", "decrease": "quantity", "cancel": "cancel", "upgrade": "transition"}

AfterWrite = Callable[[int, Outcome], None]


def request_id_for(mutation_id: int) -> str:
    """The vendor request id of a mutation: a UUID derived from its id, so every retry sends the same one."""
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"cspbill-mutation-{mutation_id}"))


def provisioned_source(settings: Settings, source: str) -> SourceConfig | None:
    """The enabled source named ``source`` when it opted in to provisioning (``provisioning: true``)."""
    return next((s for s in settings.sources if s.name == source and s.enabled and s.provisioning), None)


def queue_for_vendor(uow: UnitOfWork, settings: Settings, mutation: Mutation, subscription: Subscription,
                     now: dt.datetime) -> Provisioning | None:
    """Inside the transaction that saves an ``open`` mutation: queue it for the vendor when its source opted in."""
    if mutation.status != "open" or provisioned_source(settings, subscription.source) is None:
        return None
    action = ACTIONS[mutation.kind]
    target = Decimal(0) if action in ("cancel", "transition") else mutation.new_quantity
    return uow.provisionings.add(
        tenant_id=mutation.tenant_id, mutation_id=mutation.id, subscription_id=subscription.id,
        source=subscription.source, action=action, request_id=request_id_for(mutation.id), target_quantity=target,
        target_product=mutation.target_product, status="queued", attempts=0, answer={}, queued_at=now,
    )


def vendor_ids(uow: UnitOfWork, subscription: Subscription) -> dict[str, str | None]:
    """The vendor's ids of a subscription, from the normalised record of its latest snapshot."""
    latest = uow.snapshots.latest(subscription.id)
    record = (latest.raw.get("record") if latest else None) or {}
    return {"customer": record.get("customer_external_id"),
            "subscription": record.get("subscription_external_id") or subscription.external_id,
            "line": record.get("line_external_id") or subscription.external_id, "sku": record.get("sku")}


@dataclass
class ProvisionSummary:
    """One run: what each due mutation became, plus how many earlier ones a snapshot has now confirmed."""

    confirmed: int = 0
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)  # (mutation id, status, detail)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"confirmed": self.confirmed}
        for _, status, _ in self.outcomes:
            counts[status] = counts.get(status, 0) + 1
        return counts


def provision(settings: Settings, who: Actor, clock: Clock | None = None, *,
              after_write: AfterWrite | None = None) -> ProvisionSummary:
    """Confirm what the vendor now shows, then send every due mutation of the legal entities ``who`` may see.

    ``after_write`` runs after the vendor answered and before the answer is recorded (a test hook for a crash at
    exactly that point)."""
    require(who, "sync")
    clock = clock or SystemClock()
    with UnitOfWork(engine_for(settings)) as uow:
        confirm(uow, who)
        tenants = [t.id for t in uow.tenants.all() if who.can_see(t.code)]
    summary = ProvisionSummary(confirmed=confirm_applied(settings, who, tenants, clock))
    with UnitOfWork(engine_for(settings)) as uow:
        due = [(row.id, row.source) for row in uow.provisionings.due(tenants, clock.now())]
    with running() as runner:
        for source in dict.fromkeys(name for _, name in due):
            rows = [row_id for row_id, name in due if name == source]
            config = provisioned_source(settings, source)
            if config is None:
                continue  # opted out since the rows were queued: they wait until it opts in again
            with open_writer(settings, config) as writer:
                for row_id in rows:
                    job = _claim(settings, row_id, runner, clock)
                    if job is not None:
                        summary.outcomes.append(_send(settings, who, row_id, job, writer, clock, after_write))
    return summary


def _claim(settings: Settings, row_id: int, runner: str, clock: Clock) -> Job | None:
    """Take one due row in its own committed transaction; ``None`` when another live run holds it."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.provisionings.get(row_id, lock=True)  # another run's claim or the desk's withdrawal waits
        if row is None or row.status not in ("queued", "sending"):
            return None
        if row.status == "sending" and gone_because(row.claimed_by, row.claimed_at, now, CLAIM_TTL) is None:
            return None
        if row.status == "sending":
            log.warning("provisioning %s of mutation %s: its run %s is gone; looking at the vendor again",
                        row.id, row.mutation_id, row.claimed_by)
        subscription = uow.subscriptions.get(row.subscription_id)
        ids = vendor_ids(uow, subscription)
        row.status, row.claimed_by, row.claimed_at, row.attempts = "sending", runner, now, row.attempts + 1
        return Job(row.action, row.request_id, ids["customer"] or "", ids["subscription"] or "", ids["line"] or "",
                   ids["sku"], row.target_quantity, row.target_product)


def _send(settings: Settings, who: Actor, row_id: int, job: Job, writer: Writer, clock: Clock,
          after_write: AfterWrite | None) -> tuple[int, str, str]:
    try:
        outcome = writer.apply(job)
    except Unsupported as unsupported:  # nothing was asked of the vendor: a person provisions it by hand
        return _record(settings, who, row_id, clock, error=str(unsupported), final=True)
    except VendorRefused as refused:
        return _record(settings, who, row_id, clock, refused=refused)
    except (SourceError, BadSetting) as error:
        return _record(settings, who, row_id, clock, error=str(error))
    if after_write is not None:
        after_write(row_id, outcome)
    return _record(settings, who, row_id, clock, outcome=outcome)


def _record(settings: Settings, who: Actor, row_id: int, clock: Clock, *, outcome: Outcome | None = None,
            refused: VendorRefused | None = None, error: str | None = None,
            final: bool = False) -> tuple[int, str, str]:
    """Store the vendor's answer (or the failure) and move the mutation along; audited."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.provisionings.get(row_id)
        mutation = uow.mutations.get(row.mutation_id)
        row.claimed_by = row.claimed_at = None
        if outcome is not None:
            row.status, row.applied_at, row.next_attempt_at, row.last_error = "applied", now, None, None
            row.vendor_reference, row.answer = outcome.reference, _jsonable(outcome.answer)
            detail = f"{'found already applied' if outcome.adopted else 'applied'} at {row.source}"
        elif refused is not None:
            row.status, row.vendor_code, row.vendor_reason = "refused", refused.code, refused.reason
            mutation.status = "refused"
            detail = f"{row.source} refused ({refused.code}): {refused.reason}"
        elif final or row.attempts >= MAX_ATTEMPTS:
            row.status, row.last_error = "failed", error
            detail = f"failed after {row.attempts} attempt(s): {error}"
        else:
            row.status, row.last_error = "queued", error
            row.next_attempt_at = now + min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (row.attempts - 1))
            detail = f"will retry from {row.next_attempt_at:%Y-%m-%d %H:%M}: {error}"
        uow.audit.record(who.username, f"mutation.provisioning.{row.status}", "mutation", mutation.id,
                         mutation.tenant_id, after={"status": row.status, "request_id": row.request_id,
                                                    "vendor_reference": row.vendor_reference},
                         detail=detail, at=now)
        log.info("mutation %s: %s", mutation.id, detail)
        return mutation.id, row.status, detail


def _jsonable(answer: dict[str, object]) -> dict[str, object]:
    return {key: value if isinstance(value, (str, int, bool, type(None), list, dict)) else str(value)
            for key, value in answer.items()}


def confirm_applied(settings: Settings, who: Actor, tenants: list[int], clock: Clock) -> int:
    """Mark applied rows confirmed once a snapshot observed after the vendor's answer shows the change. Any such
    snapshot counts, not only the latest: a second change to the subscription (the next ticket, a portal change) may
    already have followed it."""
    confirmed = 0
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        for row in uow.provisionings.applied(tenants):
            if row.applied_at is None:
                continue
            shown = next((snap for snap in uow.snapshots.history(row.subscription_id)
                          if snap.observed_at >= row.applied_at and _shows(row, snap)), None)
            if shown is None:
                continue
            row.status, row.confirmed_at = "confirmed", now
            mutation = uow.mutations.get(row.mutation_id)
            if mutation.status == "open":
                mutation.status = "provisioned"
            uow.audit.record(who.username, "mutation.provisioning.confirmed", "mutation", mutation.id,
                             mutation.tenant_id, after={"status": "confirmed", "snapshot": shown.id}, at=now)
            confirmed += 1
    return confirmed


def _shows(row: Provisioning, snapshot: Snapshot) -> bool:
    """Whether the vendor's snapshot shows what the provisioning asked for."""
    return snapshot.status == "cancelled" if row.action == "cancel" else snapshot.quantity == row.target_quantity


def withdraw(uow: UnitOfWork, mutation: Mutation) -> None:
    """Inside ``cancel_mutation``: a mutation still queued for the vendor is withdrawn; one already sent cannot be."""
    row = uow.provisionings.for_mutation(mutation.id, lock=True)  # a run claiming it waits, or is waited for
    if row is None or row.status in ("refused", "failed", "withdrawn"):
        return
    if row.status != "queued":
        raise ValidationFailed(f"Mutation {mutation.id} cannot be withdrawn: it was already sent to {row.source} "
                               f"(provisioning {row.status}). Enter a new mutation to change the seats back.")
    row.status = "withdrawn"


def checked_upgrade_target(settings: Settings, who: Actor, subscription_id: int, target: str) -> str:
    """Before an upgrade of a subscription of a provisioned Partner Center source is saved: the target must be one
    of the vendor's immediate transition targets (by catalog item id or title). Returns the catalog item id; refused
    with Partner Center's reasons otherwise. Other sources keep the free-text target."""
    with UnitOfWork(engine_for(settings)) as uow:
        subscription = uow.subscriptions.get(subscription_id)
        tenant = next((t.code for t in uow.tenants.all() if subscription and t.id == subscription.tenant_id), None)
        if subscription is None or tenant is None or not who.can_see(tenant):
            raise NotFound(f"subscription {subscription_id}: not found")
        ids = vendor_ids(uow, subscription)
    config = provisioned_source(settings, subscription.source)
    if config is None or config.kind != "partner_center":
        return target
    with open_writer(settings, config) as writer:
        targets = writer.eligible_targets(ids["customer"] or "", ids["subscription"] or "")
    wanted = target.strip().lower()
    match = next((t for t in targets if wanted in (t.catalog_item_id.lower(), t.title.lower())), None)
    if match is None:
        offered = ", ".join(f"{t.catalog_item_id} ({t.title})" for t in targets if t.eligible) or "none"
        raise ValidationFailed(f"upgrade of sub {subscription_id}: {target!r} is not a transition target at "
                               f"{config.name}; eligible now: {offered}")
    if not match.eligible:
        raise ValidationFailed(f"upgrade of sub {subscription_id} to {match.catalog_item_id} refused by "
                               f"{config.name}: {'; '.join(match.reasons) or 'not eligible'}")
    return match.catalog_item_id
