"""Storing what a reconcile run found: one row per subscription and cause, kept current, closed once it is gone.

Why a module of its own: reconciliation (``services.desk.reconcile``) decides *what* differs; this decides what
happens to the ledger's findings run after run, by one rule for every kind:
- a finding seen again keeps its row (same fingerprint) and moves its range, amount and sentence;
- a finding reconcile had closed and now sees again is reopened (audited), a person's resolution is kept;
- an open finding of a subscription this run checked, in the month it reconciled, that the run no longer sees is
  closed: ``resolved`` by ``reconcile`` with the reason ("cause gone: vendor now shows 14"), audited.
Rows written before findings were grouped (one per change or day) are closed as regrouped into the new row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.models import Discrepancy, Subscription
from rating.money import Money
from services.access import Actor
from services.uow import UnitOfWork

RECONCILE_KINDS = ("vendor_change_unexplained", "mutation_not_provisioned", "billed_vs_vendor", "negative_margin",
                   "unreconcilable")
ANY_MONTH = frozenset({"mutation_not_provisioned"})  # the mutation is the cause, whatever month is reconciled
CLOSED_BY = "reconcile"
MOVES = ("sentence", "day", "last_day", "amount", "currency")  # what a finding seen again takes from this run


@dataclass(frozen=True)
class Finding:
    """One cause on one subscription: its days ``first``..``last`` (inclusive) and the money at stake."""

    kind: str
    fingerprint: str
    first: dt.date | None
    last: dt.date | None
    sentence: str
    amount: Money | None = None


def fingerprint(kind: str, subscription_id: int, month: str) -> str:
    """The identity of a per-subscription, per-month cause: the same cause next run is the same row."""
    return f"{kind}:{subscription_id}:{month}"


class FindingBook:
    """One legal entity's findings in one reconcile run of ``month``."""

    def __init__(self, uow: UnitOfWork, who: Actor, tenant_id: int, month: str, now: dt.datetime) -> None:
        self.uow, self.who, self.tenant_id, self.month, self.now = uow, who, tenant_id, month, now
        self.seen: dict[tuple[str, int], Discrepancy] = {}  # (kind, subscription) -> row seen this run
        # fingerprint -> row: every finding this run can meet again, read in one query (not one per finding)
        self.known: dict[str, Discrepancy] = uow.discrepancies.of_month(tenant_id, month, tuple(ANY_MONTH))
        self.fingerprints: set[str] = set()
        self.situation: dict[int, str] = {}  # subscription checked this run -> how things stand now
        self.reasons: dict[str, str] = {}  # fingerprint -> why its cause is gone (see ``explain``)
        self.raised = self.reopened = self.closed = 0

    def checked(self, subscription_id: int, situation: str) -> None:
        """Mark a subscription as compared in this run; ``situation`` is the reason given when a cause is gone."""
        self.situation[subscription_id] = situation

    def explain(self, fingerprint: str, reason: str) -> None:
        """Why the finding ``fingerprint`` is gone, when it says more than how the subscription stands now."""
        self.reasons[fingerprint] = reason

    def record(self, sub: Subscription, finding: Finding) -> str:
        """Store the finding (new, updated or reopened); returns its sentence."""
        money = finding.amount
        row, created = self.uow.discrepancies.raise_(
            finding.fingerprint, self.now, MOVES, self.known, tenant_id=self.tenant_id, customer_id=sub.customer_id,
            subscription_id=sub.id, kind=finding.kind, day=finding.first, last_day=finding.last,
            sentence=finding.sentence, details={"month": self.month}, month=self.month,
            amount=money.amount if money else None, currency=money.currency if money else None,
        )
        self.raised += int(created)
        if created:
            self.known[finding.fingerprint] = row
        elif row.status == "resolved" and row.resolved_by == CLOSED_BY:
            self._reopen(row)
        self.seen[(finding.kind, sub.id)] = row
        self.fingerprints.add(finding.fingerprint)
        return finding.sentence

    def close_gone(self) -> None:
        """Close every open finding whose cause this run looked for and no longer found."""
        for row in self.uow.discrepancies.open_of(self.tenant_id, RECONCILE_KINDS):
            if row.fingerprint in self.fingerprints or row.subscription_id not in self.situation:
                continue
            if row.kind not in ANY_MONTH and (row.month or (row.details or {}).get("month")) != self.month:
                continue
            regrouped = self.seen.get((row.kind, row.subscription_id))  # flushed (with an id) by the query above
            reason = (f"regrouped into finding {regrouped.id}" if regrouped is not None
                      else f"cause gone: {self.reasons.get(row.fingerprint, self.situation[row.subscription_id])}")
            self._close(row, reason)

    def _close(self, row: Discrepancy, reason: str) -> None:
        row.status, row.resolved_by, row.resolved_at, row.resolution_note = "resolved", CLOSED_BY, self.now, reason
        self.closed += 1
        self.uow.audit.record(self.who.username, "discrepancy.close", "discrepancy", row.id, self.tenant_id,
                              before={"status": "open"}, after={"status": "resolved", "note": reason}, at=self.now)

    def _reopen(self, row: Discrepancy) -> None:
        before = {"status": row.status, "note": row.resolution_note}
        row.status, row.resolved_by, row.resolved_at, row.resolution_note = "open", None, None, None
        self.reopened += 1
        self.uow.audit.record(self.who.username, "discrepancy.reopen", "discrepancy", row.id, self.tenant_id,
                              before=before, after={"status": "open", "sentence": row.sentence}, at=self.now)
