"""A failed unit of work leaves nothing behind; a successful one commits everything together."""

from __future__ import annotations

import pytest

from config import Settings
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork


class Boom(Exception):
    pass


def test_failure_half_way_rolls_back_everything(settings: Settings) -> None:
    initialise(settings)
    engine = engine_for(settings)
    with pytest.raises(Boom), UnitOfWork(engine, write=True) as uow:
        tenant = uow.tenants.by_code("nl-bv")
        customer = uow.customers.add(tenant.id, "Contoso")
        uow.customers.link(customer, "pax8", "c-1")
        uow.audit.record("dana", "customer.create", "customer", customer.id, tenant.id)
        uow.flush()
        raise Boom("crash after the writes were flushed, before commit")
    with UnitOfWork(engine) as uow:
        assert uow.customers.by_external_id("pax8", "c-1") is None
        assert uow.audit.list(action="customer.create") == []


def test_success_commits_all_writes(settings: Settings) -> None:
    initialise(settings)
    engine = engine_for(settings)
    with UnitOfWork(engine, write=True) as uow:
        tenant = uow.tenants.by_code("de-gmbh")
        customer = uow.customers.add(tenant.id, "Contoso GmbH")
        uow.customers.link(customer, "ingram_cmp", "C-77")
        uow.customers.link(customer, "ingram_cmp", "C-77")
    with UnitOfWork(engine) as uow:
        found = uow.customers.by_external_id("ingram_cmp", "C-77")
        assert found is not None and found.name == "Contoso GmbH"
        assert len(found.external_ids) == 1


def test_repositories_only_inside_the_block(settings: Settings) -> None:
    uow = UnitOfWork(engine_for(settings))
    with pytest.raises(RuntimeError, match="with-block"):
        uow.tenants  # noqa: B018
    with pytest.raises(AttributeError):
        UnitOfWork(engine_for(settings)).no_such_repository  # noqa: B018
