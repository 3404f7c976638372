"""A queued provisioning on PostgreSQL is sent by one run only, and never after the desk withdrew it, whatever the
interleaving (``services.desk.provisioning``).

PostgreSQL does not serialise write transactions as SQLite's ``BEGIN IMMEDIATE`` does: a run that had read the row
queued went on to claim it while another run claimed it too, or while the desk withdrew it. Each test stops run B
just before it writes its claim (a driver event, ``before_cursor_execute``), lets the other party act, then lets B
go on (``tests.interleave``): exactly one of them wins.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest

from config import Settings
from ledger.models import Customer, Mutation, Provisioning, Subscription
from services.clock import FixedClock
from services.desk import cancel_mutation
from services.desk.provisioning import _claim
from services.desk.vendor_writes import Job
from services.errors import ValidationFailed
from services.operations import initialise
from services.runners import running
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.interleave import b_paused_for_a

pytestmark = pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)
CLOCK = FixedClock(dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC))


def queued(settings: Settings) -> tuple[int, int]:
    """A desk mutation (+2 seats) queued for Partner Center: ``(provisioning id, mutation id)``."""
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        customer = Customer(tenant_id=tenant_id, name="Claims B.V.", country="NL", is_business=True)
        uow.session.add(customer)
        uow.session.flush()
        sub = Subscription(tenant_id=tenant_id, customer_id=customer.id, source="partner-center", external_id="sub-1",
                           product_id="CFQ7TTC0LH18:0001", sku="0001", product_name="Microsoft 365 E3", term="P1Y",
                           billing="P1M", start_date=dt.date(2026, 5, 1), status="active", currency="EUR",
                           billing_type="license")
        uow.session.add(sub)
        uow.session.flush()
        mutation = Mutation(tenant_id=tenant_id, customer_id=customer.id, subscription_id=sub.id, kind="increase",
                            effective_date=dt.date(2026, 5, 20), new_quantity=Decimal(7), ticket_ref="T-1",
                            status="open", created_by="dana")
        uow.session.add(mutation)
        uow.session.flush()
        row = uow.provisionings.add(tenant_id=tenant_id, mutation_id=mutation.id, subscription_id=sub.id,
                                    source="partner-center", action="quantity", request_id="claims-1",
                                    target_quantity=Decimal(7))
        return row.id, mutation.id


def claim_as_b(settings: Settings, row_id: int) -> Callable[[threading.Event], Job | None]:
    """Run B's claim; B stays alive until the other party is done, as a run does while it sends what it claimed (a
    claim of a run that is gone is taken over)."""
    def claim(other_done: threading.Event) -> Job | None:
        with running() as runner:
            job = _claim(settings, row_id, runner, CLOCK)
            assert other_done.wait(60)
            return job
    return claim


def test_two_runs_claim_a_row_once(settings: Settings) -> None:
    row_id, _ = queued(settings)
    a: list = []

    def run_a() -> None:
        with running() as runner:
            a.append(_claim(settings, row_id, runner, CLOCK))

    b = b_paused_for_a(engine_for(settings), ("UPDATE provisionings",), claim_as_b(settings, row_id), run_a)
    assert sorted(job is not None for job in [*a, b]) == [False, True], "both runs claimed the row"
    with UnitOfWork(engine_for(settings)) as uow:
        row = uow.session.get(Provisioning, row_id)
        assert (row.status, row.attempts) == ("sending", 1)


def test_a_withdrawn_row_is_not_sent(settings: Settings) -> None:
    row_id, mutation_id = queued(settings)
    withdrawn: list = []

    def desk_withdraws() -> None:
        try:
            withdrawn.append(cancel_mutation(settings, actor(settings, "dana"), mutation_id, CLOCK).status)
        except ValidationFailed as refused:
            withdrawn.append(str(refused))

    b = b_paused_for_a(engine_for(settings), ("UPDATE provisionings",), claim_as_b(settings, row_id), desk_withdraws)
    assert b is not None  # B had read the row queued, and claimed it first
    assert "already sent" in withdrawn[0], withdrawn
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.get(Provisioning, row_id).status == "sending"
        assert uow.mutations.get(mutation_id).status == "open"
