"""What a delivery run reports: one outcome per invoice, one summary per legal entity (CLI, desk, scheduler, demo)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one invoice's delivery in one run. ``action``: sent, submitted (the access point has it,
    evidence pending), queued (retried later), bounced, failed, uncertain (may have gone out: a person decides),
    busy (another run holds it)."""

    tenant: str
    invoice_number: str
    channel: str
    recipient: str
    action: str
    delivery_id: int
    error: str | None = None


@dataclass
class DeliverySummary:
    tenant: str
    queued: int = 0  # invoices this run put into the delivery outbox
    outcomes: list[DeliveryOutcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for outcome in self.outcomes:
            result[outcome.action] = result.get(outcome.action, 0) + 1
        return result
