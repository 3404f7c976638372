"""Where each invoice's delivery stands, for finance (CLI ``cspbill deliver status``, the desk's deliveries page)."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.access import Actor, readable_tenants
from services.runtime import engine_for
from services.uow import UnitOfWork

ATTENTION = ("uncertain", "failed", "bounced")  # states a person must look at (the CLI's FAILED exit code)


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    tenant: str
    invoice_number: str
    customer: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    evidence: str | None
    updated_at: str
    sent_at: str | None


def delivery_status(settings: Settings, who: Actor, *, tenant: str | None = None, status: str | None = None,
                    month: str | None = None) -> list[DeliveryRow]:
    """Every delivery ``who`` may see (finance), newest first, optionally of one status or batch month."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        return [DeliveryRow(d.id, code, invoice.number or str(invoice.id), customer.name, d.channel, d.recipient,
                            d.status, d.attempts, d.last_error, d.evidence,
                            d.updated_at.isoformat(timespec="seconds"),
                            d.sent_at.isoformat(timespec="seconds") if d.sent_at else None)
                for d, invoice, customer, code in uow.deliveries.listing(list(tenants), status, month)]
