"""Discrepancies as the service desk works them: the list (filters, sorting, counts and totals), acknowledging,
resolving and assigning them, one or many at once with one note.

Reconciliation (``services.desk.reconcile``) raises them, one per subscription and cause with its day range and the
money at stake; the sync raises ``unmapped_customer``, ``unmapped_usage`` and ``missing_at_vendor``. One view type,
``DiscrepancyView``, serves the CLI, the web desk and the reconcile report. Acknowledging leaves a finding open (it
still counts where open findings block, e.g. beside a batch's Approve); resolving closes it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from config import Settings
from ledger.models import Discrepancy
from rating.money import minor_units
from services.access import Actor, configured, readable_tenants, require
from services.clock import Clock
from services.errors import NotFound, ValidationFailed
from services.paging import Page, bounds, page_of
from services.runtime import engine_for
from services.uow import UnitOfWork

SORT_ORDERS = ("day", "amount", "days", "customer", "kind")  # the list's orders; "day": latest first
ACTIONS = ("acknowledge", "resolve")


@dataclass(frozen=True)
class DiscrepancyView:
    id: int
    tenant: str
    kind: str
    day: dt.date | None  # the first day of the finding's range
    sentence: str
    status: str
    subscription_id: int | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    resolved_by: str | None
    resolution_note: str | None
    customer_id: int | None = None
    customer: str | None = None
    last_day: dt.date | None = None  # inclusive
    amount: Decimal | None = None  # at stake, in ``currency``
    currency: str | None = None
    month: str | None = None
    owner: str | None = None
    acknowledged_by: str | None = None
    acknowledgement_note: str | None = None
    resolved_at: dt.datetime | None = None

    @property
    def days(self) -> int | None:
        return span_days(self.day, self.last_day)


def span_days(day: dt.date | None, last_day: dt.date | None) -> int | None:
    """How many days a finding covers (None without a day)."""
    if day is None:
        return None
    return ((last_day or day) - day).days + 1


def view(row: Any, codes: dict[int, str], customer: str | None = None) -> DiscrepancyView:
    """A ledger ``Discrepancy`` row as people see it, with its tenant's code from ``codes`` (tenant id -> code)."""
    return DiscrepancyView(row.id, codes[row.tenant_id], row.kind, row.day, row.sentence, row.status,
                           row.subscription_id, row.first_seen_at, row.last_seen_at, row.resolved_by,
                           row.resolution_note, row.customer_id, customer, row.last_day,
                           _at_minor_unit(row.amount, row.currency), row.currency,
                           row.month or (row.details or {}).get("month"), row.owner, row.acknowledged_by,
                           row.acknowledgement_note, row.resolved_at)


def _at_minor_unit(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """The stored exact amount written to the currency's minor unit (130.4 -> 130.40); it was rounded once."""
    if amount is None or not currency:
        return amount
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


@dataclass(frozen=True)
class FindingQuery:
    """What the list shows: filters (empty = any) and the order."""

    tenant: str | None = None
    kind: str | None = None
    status: str | None = "open"
    customer: str | None = None  # part of the customer's name
    owner: str | None = None
    month: str | None = None  # YYYY-MM
    sort: str = "day"


@dataclass(frozen=True)
class FindingList:
    """One page of findings, with the counts per kind and the amount at stake per currency of all that match."""

    page: Page
    counts: dict[str, int]
    totals: dict[str, Decimal]  # currency -> amount at stake
    matching: int


def discrepancy_kinds(settings: Settings, who: Actor) -> list[str]:
    """The kinds present for the actor's tenants, for the filter's choices."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        stmt = select(Discrepancy.kind).where(Discrepancy.tenant_id.in_(tenants)).distinct().order_by(Discrepancy.kind)
        return list(uow.session.scalars(stmt))


def list_discrepancies(
    settings: Settings,
    who: Actor,
    tenant: str | None = None,
    kind: str | None = None,
    status: str | None = "open",
    offset: int = 0,
    limit: int = 25,
) -> Page:
    """Discrepancies filtered by tenant, kind and status (latest day first)."""
    return find_discrepancies(settings, who, FindingQuery(tenant, kind, status), offset, limit).page


def find_discrepancies(settings: Settings, who: Actor, query: FindingQuery, offset: int = 0,
                       limit: int = 25) -> FindingList:
    """The findings matching ``query`` in its order, one window of them, and their counts and totals."""
    if query.sort not in SORT_ORDERS:
        raise ValidationFailed(f"discrepancies sort: {query.sort!r} is not one of {', '.join(SORT_ORDERS)}")
    if query.month and not _is_month(query.month):
        raise ValidationFailed(f"discrepancies month: {query.month!r} is not a month (YYYY-MM)")
    offset, limit = bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk", query.tenant)
        found = sorted(uow.discrepancies.findings(list(tenants), kind=query.kind, status=query.status,
                                                  customer=query.customer, owner=query.owner, month=query.month),
                       key=_ORDERS[query.sort])
        window = [item.id for item in found[offset:offset + limit + 1]]
        rows = uow.discrepancies.with_customers(window)
        shown = [view(row, tenants, name) for row, name in (rows[finding_id] for finding_id in window)]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in found:
        if item.amount is not None and item.currency:
            totals[item.currency] += _at_minor_unit(item.amount, item.currency)
    counts = Counter(item.kind for item in found)
    return FindingList(page_of(shown, offset, limit, lambda item: item), dict(sorted(counts.items())),
                       dict(sorted(totals.items())), len(found))


_ORDERS: dict[str, Any] = {  # over the list's rows (``DiscrepancyRepository.findings``)
    "day": lambda d: (-(d.day or dt.date.min).toordinal(), -d.id),
    "amount": lambda d: (d.amount is None, -(_at_minor_unit(d.amount, d.currency) or 0), d.id),
    "days": lambda d: (-(span_days(d.day, d.last_day) or 0), d.id),
    "customer": lambda d: ((d.customer or "").casefold(), d.id),
    "kind": lambda d: (d.kind, d.id),
}


def _is_month(text: str) -> bool:
    try:
        dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        return False
    return len(text) == 7


def resolve_discrepancy(settings: Settings, who: Actor, discrepancy_id: int, note: str,
                        clock: Clock) -> DiscrepancyView:
    """Close a finding with a note (what was done about it); resolving twice keeps the first resolution."""
    (done,) = act_on_discrepancies(settings, who, [discrepancy_id], "resolve", note, clock)
    return done


def act_on_discrepancies(settings: Settings, who: Actor, ids: Sequence[int], action: str, note: str,
                         clock: Clock) -> list[DiscrepancyView]:
    """Acknowledge or resolve the findings ``ids`` with one note, all or none (each audited)."""
    require(who, "desk")
    if action not in ACTIONS:
        raise ValidationFailed(f"discrepancies action: {action!r} is not one of {', '.join(ACTIONS)}")
    if not ids:
        raise ValidationFailed("discrepancies: select at least one finding")
    if not note.strip():
        what = "a resolution" if action == "resolve" else "an acknowledgement"
        raise ValidationFailed(f"discrepancy {ids[0]}: {what} note is required")
    now, text = clock.now(), note.strip()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        codes = {t.id: t.code for t in uow.tenants.all()}
        done = []
        for row in _visible(uow, who, codes, ids):
            if action == "resolve" and row.status != "resolved":
                row.status, row.resolved_by, row.resolved_at, row.resolution_note = "resolved", who.username, now, text
                uow.audit.record(who.username, "discrepancy.resolve", "discrepancy", row.id, row.tenant_id,
                                 before={"status": "open"}, after={"status": "resolved", "note": text}, at=now)
            elif action == "acknowledge" and row.status == "open":
                before = {"acknowledged_by": row.acknowledged_by, "note": row.acknowledgement_note}
                row.acknowledged_by, row.acknowledged_at, row.acknowledgement_note = who.username, now, text
                uow.audit.record(who.username, "discrepancy.acknowledge", "discrepancy", row.id, row.tenant_id,
                                 before=before, after={"acknowledged_by": who.username, "note": text}, at=now)
            done.append(view(row, codes))
        return done


def assign_discrepancies(settings: Settings, who: Actor, ids: Sequence[int], owner: str | None,
                         clock: Clock) -> list[DiscrepancyView]:
    """Make ``owner`` (a configured person with the desk role in the finding's entity; None: nobody) own the
    findings ``ids``, all or none (each audited)."""
    require(who, "desk")
    if not ids:
        raise ValidationFailed("discrepancies: select at least one finding")
    person = None
    if owner:
        try:
            person = configured(settings, owner.strip())
        except NotFound:
            raise ValidationFailed(f"discrepancy {ids[0]} owner: {owner!r} is not a person in config.yaml "
                                   "users") from None
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        codes = {t.id: t.code for t in uow.tenants.all()}
        done = []
        for row in _visible(uow, who, codes, ids):
            if person is not None and not (person.has_role("desk") and person.can_see(codes[row.tenant_id])):
                raise ValidationFailed(f"discrepancy {row.id} owner: {person.username!r} does not work the desk of "
                                       f"{codes[row.tenant_id]}")
            if row.owner != (person.username if person else None):
                uow.audit.record(who.username, "discrepancy.assign", "discrepancy", row.id, row.tenant_id,
                                 before={"owner": row.owner},
                                 after={"owner": person.username if person else None}, at=now)
                row.owner = person.username if person else None
            done.append(view(row, codes))
        return done


def finding_owners(settings: Settings, who: Actor) -> list[tuple[str, str]]:
    """(username, display name) of the people who may own findings of an entity ``who`` sees (the assign choices)."""
    visible = who.visible_tenants(settings)
    people = [(user.username, user.display_name, configured(settings, user.username)) for user in settings.users]
    return [(name, shown) for name, shown, person in people
            if person.has_role("desk") and any(person.can_see(code) for code in visible)]


def _visible(uow: UnitOfWork, who: Actor, codes: dict[int, str], ids: Sequence[int]) -> list[Discrepancy]:
    """The rows ``ids`` in that order; NotFound naming the first one ``who`` may not see (or that does not exist)."""
    rows = []
    for discrepancy_id in dict.fromkeys(ids):
        found = uow.discrepancies.get(discrepancy_id)
        if found is None or not who.can_see(codes.get(found.tenant_id, "")):
            raise NotFound(f"discrepancy {discrepancy_id}: not found")
        rows.append(found)
    return rows
