"""VAT ids confirmed at VIES (the sandbox of its SOAP contract): on demand from the desk and the nightly re-check of
stale answers; ``unavailable`` recorded without blocking, ``invalid`` turning reverse charge off at the next build."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from config.vat import ViesConfig
from ledger.models import AuditEvent
from sandbox import vies
from sandbox.core import Clock, SandboxServer
from sandbox.tls import make_tls_files
from services.clock import FixedClock
from services.desk import check_vat, customer_detail, update_master_data
from services.errors import NotConfigured, NotFound, ValidationFailed
from services.operations import initialise
from services.operations.jobs import job_specs
from services.runtime import engine_for
from services.sync import recheck_vat_ids
from services.uow import UnitOfWork
from tests.identity import actor, nightly
from tests.services.batches.test_batch_support import add_customer

NOW = dt.datetime(2026, 10, 5, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    tls = make_tls_files(tmp_path / "tls")
    with SandboxServer(vies.build(Clock(NOW)), tls=tls, prefix=vies.PREFIX) as running:
        running.ca = str(tls.ca_cert)  # type: ignore[attr-defined]
        yield running


@pytest.fixture
def ledger(settings: Settings, sandbox: SandboxServer) -> Settings:
    initialise(settings)
    return settings.model_copy(update={"vies": ViesConfig(enabled=True, wsdl_url=f"{sandbox.url}{vies.WSDL_PATH}",
                                                          ca_bundle=sandbox.ca, recheck_days=30)})


def customer(settings: Settings, name: str, country: str, vat_id: str | None) -> int:
    return add_customer(settings, "de-gmbh", name, country=country, vat_id=vat_id)


def test_the_desk_checks_a_vat_id_and_the_answer_is_recorded_and_audited(ledger: Settings) -> None:
    wien = customer(ledger, "Wiener Kaffee GmbH", "AT", "ATU13585627")
    view = check_vat(ledger, actor(ledger, "dana"), wien, FixedClock(NOW))
    assert (view.vat_check_result, view.vat_checked_at) == ("valid", NOW)
    with UnitOfWork(engine_for(ledger)) as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.vat_check")).all()
        assert event.actor == "dana" and "VIES ATU13585627: valid, registered as TRADER" in event.detail


def test_an_outage_is_recorded_as_unavailable(ledger: Settings, sandbox: SandboxServer) -> None:
    wien = customer(ledger, "Wiener Kaffee GmbH", "AT", "ATU13585627")
    sandbox.app.faults.arm("POST .*", "vies_fault", body="MS_UNAVAILABLE")
    assert check_vat(ledger, actor(ledger, "dana"), wien, FixedClock(NOW)).vat_check_result == "unavailable"


def test_nothing_to_check_is_refused_naming_the_field(ledger: Settings) -> None:
    nobody = customer(ledger, "Schmidt", "DE", None)
    swiss = customer(ledger, "Uhren AG", "CH", "CHE-116.281.710 MWST")
    with pytest.raises(ValidationFailed, match=f"customer {nobody} vat_id: Schmidt has no VAT id"):
        check_vat(ledger, actor(ledger, "dana"), nobody, FixedClock(NOW))
    with pytest.raises(ValidationFailed, match="VIES knows VAT ids of EU member states only"):
        check_vat(ledger, actor(ledger, "dana"), swiss, FixedClock(NOW))
    with pytest.raises(NotFound):
        check_vat(ledger, actor(ledger, "finn"), nobody, FixedClock(NOW))


def test_vies_off_is_a_configuration_error(settings: Settings) -> None:
    initialise(settings)
    wien = customer(settings, "Wiener Kaffee GmbH", "AT", "ATU13585627")
    off = settings.model_copy(update={"vies": ViesConfig()})
    with pytest.raises(NotConfigured, match=r"vies\.enabled"):
        check_vat(off, actor(off, "dana"), wien, FixedClock(NOW))
    assert "sync:vies" not in {spec.id for spec in job_specs(off)}


def test_the_nightly_recheck_asks_only_stale_unanswered_or_never_checked_ids(ledger: Settings,
                                                                             sandbox: SandboxServer) -> None:
    fresh = customer(ledger, "Fresh SARL", "FR", "FR40303265045")
    old = customer(ledger, "Old BV", "NL", "NL004495445B01")
    never = customer(ledger, "Never BVBA", "BE", "BE0428759497")
    customer(ledger, "Domestic without id", "DE", None)
    check_vat(ledger, actor(ledger, "dana"), fresh, FixedClock(NOW - dt.timedelta(days=3)))
    check_vat(ledger, actor(ledger, "dana"), old, FixedClock(NOW - dt.timedelta(days=40)))
    requests_before = len(sandbox.app.received)
    sandbox.app.faults.arm("POST .*", "vies_fault", body="TIMEOUT")  # the first one asked (never checked) times out
    report = recheck_vat_ids(ledger, FixedClock(NOW), who=nightly(ledger))
    assert (report.checked, report.valid, report.unavailable) == (2, 1, 1)
    assert len([r for r in sandbox.app.received[requests_before:] if r.method == "POST"]) == 2
    assert customer_detail(ledger, actor(ledger, "dana"), never).vat_check_result == "unavailable"
    assert customer_detail(ledger, actor(ledger, "dana"), old).vat_checked_at == NOW
    assert customer_detail(ledger, actor(ledger, "dana"), fresh).vat_checked_at == NOW - dt.timedelta(days=3)
    again = recheck_vat_ids(ledger, FixedClock(NOW + dt.timedelta(days=1)), who=nightly(ledger))
    assert (again.checked, again.valid) == (1, 1)  # the unavailable one is asked again the next night
    assert "sync:vies" in {spec.id for spec in job_specs(ledger)}


def test_a_changed_vat_id_forgets_the_old_answer(ledger: Settings) -> None:
    wien = customer(ledger, "Wiener Kaffee GmbH", "AT", "ATU13585627")
    check_vat(ledger, actor(ledger, "dana"), wien, FixedClock(NOW))
    view = update_master_data(ledger, actor(ledger, "dana"), wien, {"vat_id": "ATU12011204"}, FixedClock(NOW))
    assert (view.vat_check_result, view.vat_checked_at) == (None, None)
