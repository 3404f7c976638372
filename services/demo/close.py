"""The demo's first day: finance closes the month before the demo month, and the desk takes a cancellation inside
the vendor's 7-day window of a term that month billed in advance.

Why: a reseller's month holds corrections of what was billed before. A customer who cancels a new annual term
within 168 hours gets back the rest of the year the previous month's invoice charged in advance; when that credit
outweighs the month's charges, the customer's invoice is a credit note (type 381) referring to the invoice it
corrects. The demo month can only show that if an earlier month was invoiced by cspbill (its go-live), so on the 1st,
after the night's sync, the previous month's batch of each legal entity is built and approved by two people as on
any month end. The sandboxes' worlds hold the matching terms: one bought at Partner Center three days before the
month, which the desk cancels here through the provisioning outbox, and one a customer cancels at Pax8 on the 2nd.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select

from config import Settings
from ledger.models import Subscription
from services.access import Actor
from services.batches import approve_batch, build_batch
from services.clock import Clock
from services.demo.review import acknowledge_findings
from services.desk import MutationRequest, add_mutation, provision
from services.errors import NotAllowed
from services.runtime import engine_for
from services.uow import UnitOfWork

CANCEL_WINDOW = dt.timedelta(hours=168)
CANCEL_TICKET = "DEMO-1004"
Progress = Callable[[str], None]


def previous_month(month: dt.date) -> str:
    """``YYYY-MM`` of the month before ``month``."""
    return f"{month.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def close_previous_month(settings: Settings, month: dt.date, builders: Mapping[str, Actor],
                         approvers: Mapping[str, Actor], clock: Clock, progress: Progress) -> None:
    """Build, review (the builder acknowledges the findings, ``services.demo.review``) and approve (four-eyes) each
    legal entity's batch of the month before ``month``; a batch an earlier demo run approved is left as it is."""
    closed = previous_month(month)
    for tenant in settings.tenants:
        if tenant.code not in builders or tenant.code not in approvers:
            continue
        try:
            built = build_batch(settings, tenant.code, closed, builders[tenant.code], clock)
            acknowledge_findings(settings, closed, {tenant.code: builders[tenant.code]}, clock, progress)
            approved = approve_batch(settings, tenant.code, closed, approvers[tenant.code], clock)
            progress(f"batch {tenant.code} {closed}: {built.invoices} invoices built and approved "
                     f"({approved.invoices} numbered)")
        except NotAllowed as exc:
            progress(f"batch {tenant.code} {closed}: {exc}")


def cancel_inside_window(settings: Settings, desk: Actor, clock: Clock, progress: Progress) -> int:
    """The desk's cancellation ticket: every active, annually billed Partner Center licence bought before today whose
    168-hour window is still open is cancelled as of today and sent to the vendor. Returns how many were cancelled."""
    zone = ZoneInfo(settings.schedule.timezone)
    now = clock.now()
    today = now.astimezone(zone).date()
    with UnitOfWork(engine_for(settings)) as uow:
        candidates = uow.session.scalars(
            select(Subscription).where(Subscription.source == "partner-center", Subscription.status == "active",
                                       Subscription.billing_type == "license", Subscription.billing == "P1Y",
                                       Subscription.start_date < today,
                                       Subscription.start_date >= (now - CANCEL_WINDOW).astimezone(zone).date())
            .order_by(Subscription.external_id)).all()
    for sub in candidates:
        add_mutation(settings, desk, MutationRequest(
            sub.id, today, CANCEL_TICKET, cancel=True,
            reason="customer withdrew the annual order within the 7-day cancellation window"), clock)
    if candidates:
        sent = "; ".join(detail for _, _, detail in provision(settings, desk, clock).outcomes)
        progress(f"desk: {len(candidates)} subscription(s) cancelled inside the 7-day window "
                 f"(ticket {CANCEL_TICKET}): {sent}")
    return len(candidates)
