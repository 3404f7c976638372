"""`sync_fx` against the ECB sandbox into the real ledger (SQLite and PostgreSQL): which file, idempotent storing,
failures that store nothing, listing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from config import Settings
from config.schema import FxConfig
from ledger.models import FxRate, SyncRun
from ledger.repositories.fx_rates import RateRow
from sandbox import ecb
from sandbox.core import Clock, SandboxServer
from services.clock import FixedClock
from services.errors import NotFound, ValidationFailed
from services.operations import execute, initialise, job_specs
from services.runtime import engine_for
from services.sync import list_fx, sync_fx
from services.uow import UnitOfWork
from tests.identity import actor, nightly

NIGHT = dt.datetime(2026, 10, 2, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(ecb.build(Clock(NIGHT), seed=1)) as running:
        yield running


@pytest.fixture
def ledger(settings: Settings, server: SandboxServer) -> Settings:
    configured = settings.model_copy(update={"fx": FxConfig(base_url=server.url)})
    initialise(configured)
    return configured


def stored(settings: Settings) -> list[tuple[str, str, dt.date, Decimal, str]]:
    with UnitOfWork(engine_for(settings)) as uow:
        return [(r.base, r.quote, r.rate_date, r.rate, r.source)
                for r in uow.session.scalars(select(FxRate).order_by(FxRate.rate_date, FxRate.quote))]


def test_syncing_twice_stores_every_rate_once(ledger: Settings, server: SandboxServer) -> None:
    first = sync_fx(ledger, FixedClock(NIGHT), who=nightly(ledger))
    assert first.status == "succeeded" and first.source == "fx:ecb"
    assert first.counts["rates_stored"] == first.counts["rates_read"] > 0
    assert server.app.calls[-1] == ("GET", "/stats/eurofxref/eurofxref-hist-90d.xml")  # empty ledger: 90 days
    rows = stored(ledger)
    again = sync_fx(ledger, FixedClock(NIGHT), who=nightly(ledger))
    assert server.app.calls[-1] == ("GET", "/stats/eurofxref/eurofxref-daily.xml")  # up to date: the daily file
    assert (again.counts["rates_stored"], again.counts["rates_already_stored"]) == (0, again.counts["rates_read"])
    history = sync_fx(ledger, FixedClock(NIGHT), history=True, who=nightly(ledger))
    assert history.counts["rates_stored"] > 0 and history.counts["rates_already_stored"] == len(rows)
    assert set(rows) <= set(stored(ledger))
    assert len(stored(ledger)) == len(set(stored(ledger)))
    assert {row[0] for row in stored(ledger)} == {"EUR"} and {row[4] for row in stored(ledger)} == {"ECB"}
    with UnitOfWork(engine_for(ledger)) as uow:
        runs = uow.session.scalars(select(SyncRun).where(SyncRun.source == "fx:ecb")).all()
        assert [r.status for r in runs] == ["succeeded"] * 3


def test_a_next_night_adds_only_the_new_fixing(ledger: Settings, server: SandboxServer) -> None:
    sync_fx(ledger, FixedClock(NIGHT), who=nightly(ledger))
    before = len(stored(ledger))
    server.app.clock.set(NIGHT + dt.timedelta(days=1))
    report = sync_fx(ledger, FixedClock(NIGHT + dt.timedelta(days=1)), who=nightly(ledger))
    assert report.counts["days"] == 1 and report.counts["rates_stored"] == report.counts["rates_read"]
    assert len(stored(ledger)) == before + report.counts["rates_stored"]
    assert max(row[2] for row in stored(ledger)) == dt.date(2026, 10, 2)


def test_a_differing_published_rate_never_replaces_a_recorded_one(ledger: Settings) -> None:
    day = dt.date(2026, 10, 1)
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        uow.fx_rates.store([RateRow("EUR", "USD", day, Decimal("9.9999"), "ECB")])
    report = sync_fx(ledger, FixedClock(NIGHT), who=nightly(ledger))
    assert report.status == "partial" and len(report.errors) == 1
    assert "ECB EUR->USD 2026-10-01: published" in report.errors[0]
    with UnitOfWork(engine_for(ledger)) as uow:
        kept = uow.session.scalar(select(FxRate.rate).where(FxRate.quote == "USD", FxRate.rate_date == day))
    assert kept == Decimal("9.9999")


def test_a_failed_read_stores_nothing_and_fails_the_run(ledger: Settings, server: SandboxServer) -> None:
    server.app.faults.arm("*", "broken_file")
    report = sync_fx(ledger, FixedClock(NIGHT), who=nightly(ledger))
    assert report.status == "failed" and "unreadable" in report.error
    with UnitOfWork(engine_for(ledger)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(FxRate)) == 0


def test_listing_by_currency_and_days(ledger: Settings) -> None:
    sync_fx(ledger, FixedClock(NIGHT), who=nightly(ledger))
    who = actor(ledger, "finn")
    usd = list_fx(ledger, who, "usd", dt.date(2026, 9, 28), dt.date(2026, 9, 30))
    assert [(r.quote, r.rate_date) for r in usd] == [("USD", dt.date(2026, 9, 30)), ("USD", dt.date(2026, 9, 29)),
                                                     ("USD", dt.date(2026, 9, 28))]
    with pytest.raises(NotFound, match="fx rates of XAU: none recorded"):
        list_fx(ledger, who, "XAU")
    with pytest.raises(ValidationFailed, match="is not an ISO 4217 code"):
        list_fx(ledger, who, "US")


def test_without_an_fx_section_nothing_is_fetched(settings: Settings) -> None:
    initialise(settings)
    with pytest.raises(ValidationFailed, match="config fx: no exchange-rate source configured"):
        sync_fx(settings.model_copy(update={"fx": None}), who=nightly(settings))


def test_the_nightly_job_reads_the_rates_when_configured(ledger: Settings, settings: Settings) -> None:
    assert "sync:fx" in {spec.id for spec in job_specs(ledger)}
    assert "sync:fx" not in {spec.id for spec in job_specs(settings.model_copy(update={"fx": None}))}
    assert execute(ledger, "sync:fx", FixedClock(NIGHT)) == "succeeded"
    with UnitOfWork(engine_for(ledger)) as uow:
        (job,) = uow.job_runs.recent(5, "sync:fx")
        assert job.counts["status"] == "succeeded" and job.counts["rates_stored"] > 0
