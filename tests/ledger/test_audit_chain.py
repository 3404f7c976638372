"""Audit events form one gapless hash chain per legal entity, on SQLite and PostgreSQL, also under concurrent writers,
and the content hashes the same after a round trip through either database."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from alembic import command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, text

from config import Settings
from ledger.audit_chain import GENESIS, GLOBAL_CHAIN, chain_of, check, event_hash
from ledger.db import make_engine
from ledger.migrate import alembic_config, current_revisions, head_revisions, upgrade
from ledger.models import AuditEvent
from ledger.types import UtcDateTime
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

REPLAYED = dt.datetime(2026, 5, 3, 0, 30, tzinfo=dt.UTC)


def _ledger(settings_: Settings) -> tuple[object, dict[str, int]]:
    initialise(settings_)
    engine = engine_for(settings_)
    with UnitOfWork(engine) as uow:
        return engine, {t.code: t.id for t in uow.tenants.all()}


def _chain(engine: object, chain: str) -> list[AuditEvent]:
    with UnitOfWork(engine) as uow:
        return list(uow.audit.chain_events(chain))


def test_each_legal_entity_has_its_own_gapless_chain(settings: Settings) -> None:
    engine, tenants = _ledger(settings)
    for n in range(3):
        with UnitOfWork(engine, write=True) as uow:
            uow.audit.record("finn", "batch.build", "batch", n, tenants["nl-bv"], after={"n": n}, at=REPLAYED)
            uow.audit.record("greta", "batch.build", "batch", n, tenants["de-gmbh"], detail=f"build {n}")
    nl = _chain(engine, chain_of(tenants["nl-bv"]))
    assert [e.seq for e in nl] == [1, 2, 3]
    assert nl[0].prev_hash == GENESIS
    assert [e.prev_hash for e in nl[1:]] == [e.hash for e in nl[:-1]]
    assert all(e.hash == event_hash(e, e.prev_hash) for e in nl)
    assert [e.seq for e in _chain(engine, chain_of(tenants["de-gmbh"]))] == [1, 2, 3]
    assert [e.action for e in _chain(engine, GLOBAL_CHAIN)] == ["prices.config", "init"]  # from initialise
    with UnitOfWork(engine) as uow:
        for chain in uow.audit.chains():
            head = uow.audit.head(chain)
            assert check(chain, uow.audit.chain_events(chain), head.last_seq, head.last_hash).intact


def test_at_is_the_callers_instant_and_recorded_at_the_wall_clock(settings: Settings) -> None:
    engine, tenants = _ledger(settings)
    before = dt.datetime.now(dt.UTC)
    with UnitOfWork(engine, write=True) as uow:
        uow.audit.record("finn", "batch.build", "batch", 1, tenants["nl-bv"], at=REPLAYED)
        uow.audit.record("finn", "batch.show", "batch", 1, tenants["nl-bv"])
    replayed, wall = _chain(engine, chain_of(tenants["nl-bv"]))
    after = dt.datetime.now(dt.UTC)
    assert replayed.at == REPLAYED and before <= replayed.recorded_at <= after
    assert wall.at == wall.recorded_at and before <= wall.recorded_at <= after


def test_nothing_is_chained_when_the_unit_of_work_rolls_back(settings: Settings) -> None:
    engine, tenants = _ledger(settings)
    try:
        with UnitOfWork(engine, write=True) as uow:
            uow.audit.record("finn", "batch.build", "batch", 1, tenants["nl-bv"])
            raise RuntimeError("build failed")
    except RuntimeError:
        pass
    with UnitOfWork(engine, write=True) as uow:
        uow.audit.record("finn", "batch.build", "batch", 2, tenants["nl-bv"])
    assert [(e.seq, e.entity_id) for e in _chain(engine, chain_of(tenants["nl-bv"]))] == [(1, "2")]


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**15, 10**15), st.text(max_size=20),
                      st.decimals(allow_nan=False, allow_infinity=False, places=4),
                      st.dates(), st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


@hypothesis_settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(after=st.dictionaries(st.text(max_size=8), JSON, max_size=4),
       # stored text is UTF-8: PostgreSQL text holds no NUL, and neither database a lone surrogate (vendor text is
       # made storable at the edge, connectors.errors.storable)
       detail=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40))
def test_content_hashes_the_same_after_a_round_trip(settings: Settings, after: dict, detail: str) -> None:
    engine = engine_for(settings)
    upgrade(engine)
    with UnitOfWork(engine, write=True) as uow:
        uow.audit.record("finn", "prices.import", "price_import", 7, None, before={"total": Decimal("12.50")},
                         after=after, detail=detail, at=REPLAYED)
    with UnitOfWork(engine) as uow:
        stored = list(uow.audit.chain_events(GLOBAL_CHAIN))[-1]
    assert stored.before == {"total": "12.50"}
    assert stored.hash == event_hash(stored, stored.prev_hash)


def test_concurrent_writers_give_one_gapless_chain(settings: Settings) -> None:
    engine, tenants = _ledger(settings)
    tenant_id, errors = tenants["nl-bv"], []

    def writer(name: str) -> None:
        try:
            for n in range(6):
                with UnitOfWork(engine_for(settings), write=True) as uow:
                    uow.audit.record(name, "mutation.add", "mutation", n, tenant_id, after={"n": n})
                    uow.audit.record(name, "mutation.cancel", "mutation", n, tenant_id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"writer-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = _chain(engine, chain_of(tenant_id))
    assert [e.seq for e in events] == list(range(1, 49))
    with UnitOfWork(engine) as uow:
        head = uow.audit.head(chain_of(tenant_id))
        assert check(chain_of(tenant_id), events, head.last_seq, head.last_hash).intact
    # each transaction's two events are neighbours: a chain position is taken per transaction, not interleaved
    assert all(a.actor == b.actor for a, b in zip(events[::2], events[1::2], strict=True))


@pytest.mark.empty_ledger
def test_the_migration_chains_existing_events_in_id_order(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008_one_time_purchases")
    instant = bindparam("at", type_=UtcDateTime())
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tenants (code, name, currency, country, created_at) "
                                "VALUES ('nl-bv', 'NL BV', 'EUR', 'NL', :at)").bindparams(instant), {"at": REPLAYED})
        for n, tenant in enumerate([1, None, 1, 1]):
            connection.execute(
                text("INSERT INTO audit_events (at, actor, action, tenant_id, entity, entity_id, after) "
                     "VALUES (:at, 'finn', 'batch.build', :tenant, 'batch', :n, :after)").bindparams(instant),
                {"at": dt.datetime(2026, 5, 1, 8, n, 30, 123456, tzinfo=dt.UTC), "tenant": tenant, "n": str(n),
                 "after": json.dumps({"net": "1.50", "n": n})})
    assert upgrade(engine) == head_revisions() == current_revisions(engine)
    nl = _chain(engine, "tenant:1")
    assert [(e.seq, e.entity_id) for e in nl] == [(1, "0"), (2, "2"), (3, "3")]
    assert nl[0].recorded_at == nl[0].at == dt.datetime(2026, 5, 1, 8, 0, 30, 123456, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        for chain in ("tenant:1", GLOBAL_CHAIN):
            head = uow.audit.head(chain)
            assert check(chain, uow.audit.chain_events(chain), head.last_seq, head.last_hash).intact
    with UnitOfWork(engine, write=True) as uow:  # new events continue the migrated chain
        uow.audit.record("finn", "batch.approve", "batch", 9, 1)
    assert [e.seq for e in _chain(engine, "tenant:1")] == [1, 2, 3, 4]
