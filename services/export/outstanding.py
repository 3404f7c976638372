"""What did not go out: the outbox rows of a legal entity's ERP that are still due after a run, by kind.

Why one place: ``cspbill export`` exits 0 only when everything due went out, and its last line counts what is left.
A run's own outcomes cannot say that (after the circuit breaker trips the rest of the queue is never touched), so
the answer is read from the outbox itself. Which statuses count as what is decided here and nowhere else:
``queued`` (will be retried by itself), ``uncertain`` (sent, and whether the ERP applied it is not known yet: a
``sending`` row, or an ``uncertain`` one once sends that time out are kept apart) and ``failed`` (a person must look).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from config import Settings
from ledger.models import Export
from services.access import Actor, require
from services.runtime import engine_for
from services.uow import UnitOfWork

KINDS = ("queued", "uncertain", "failed")
KIND_OF_STATUS = {"queued": "queued", "sending": "uncertain", "uncertain": "uncertain", "failed": "failed"}


def outstanding(settings: Settings, who: Actor, targets: Iterable[tuple[str, str]]) -> dict[str, int]:
    """How many invoices of these ``(tenant code, ERP target)`` pairs are queued, uncertain or failed right now."""
    counts = dict.fromkeys(KINDS, 0)
    with UnitOfWork(engine_for(settings)) as uow:
        for code, target in targets:
            require(who, "finance", code)
            tenant = uow.tenants.by_code(code)
            if tenant is None:
                continue
            stmt = (select(Export.status, func.count()).where(Export.tenant_id == tenant.id, Export.target == target,
                                                              Export.status.in_(KIND_OF_STATUS))
                    .group_by(Export.status))
            for status, n in uow.session.execute(stmt):
                counts[KIND_OF_STATUS[status]] += n
    return counts
