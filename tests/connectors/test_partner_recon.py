"""connectors.partner_recon against the Partner Center sandbox over HTTPS: invoice discovery, each billing period read
through the API Microsoft serves it from, and one line id per charge however and whenever it is read.

The rule under test ("Key migration dates and scenarios",
https://learn.microsoft.com/partner-center/developer/get-invoiceline-items): periods before February 2024 through
v1 REST, periods from February 2024 through the Graph v2 export
(https://learn.microsoft.com/partner-center/developer/billed-invoice-reconciliation); invoices are discovered with
``GET /v1/invoices`` (https://learn.microsoft.com/rest/api/partner-center/manage-billing/get-a-collection-of-invoices).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from connectors.partner_billing_export import GRAPH_SCOPE, PartnerBillingExport
from connectors.partner_center import SCOPE, PartnerCenter
from connectors.partner_recon import PartnerRecon, uses_v2
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_microsoft import scenario
from tests.connectors.conftest import SEED


def at(moment: dt.datetime) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("clock", [Clock(moment)], ids=[moment.date().isoformat()])


@pytest.fixture
def recon(pc_server: SandboxServer, make_tokens: Callable[..., TokenProvider], policy: HttpPolicy
          ) -> Callable[..., PartnerRecon]:
    def make(billed_months: int = 1) -> PartnerRecon:
        center = PartnerCenter(f"{pc_server.url}/pc", make_tokens(SCOPE), account_id="p", currency="EUR",
                               policy=policy, page_size=2)
        export = PartnerBillingExport(f"{pc_server.url}/graph/v1.0", make_tokens(GRAPH_SCOPE), policy=policy,
                                      poll_interval=0.01)
        return PartnerRecon(center, export, "EUR", billed_months)

    return make


def calls(server: SandboxServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.app.received if not r.path.startswith("/blob/")
            and "/operations/" not in r.path and "/manifests/" not in r.path]


@pytest.mark.parametrize(("day", "v2"), [(dt.date(2024, 1, 31), False), (dt.date(2024, 2, 1), True),
                                         (dt.date(2025, 4, 1), True), (dt.date(2023, 12, 1), False)])
def test_the_cut_over_is_february_2024(day: dt.date, v2: bool) -> None:
    assert uses_v2(day) is v2


@at(dt.datetime(2026, 5, 20, 2, 30, tzinfo=dt.UTC))
def test_current_periods_are_read_through_the_v2_export_only(recon, pc_server: SandboxServer, clock: Clock) -> None:
    world = scenario(SEED, dt.date(2026, 5, 1))
    april = world.invoice_id(dt.date(2026, 4, 1))
    result = recon().read(clock.now())
    assert result.errors == ()
    assert calls(pc_server) == [
        ("GET", "/v1/invoices"), ("GET", "/v1/invoices"), ("GET", "/v1/invoices"),  # three pages of two
        ("POST", "/graph/v1.0/reports/partners/billing/reconciliation/billed/export"),
        ("POST", "/graph/v1.0/reports/partners/billing/reconciliation/unbilled/export"),
    ]  # April is invoiced, so its unbilled "last" period is not read again; no v1 line items at all
    billed = [line for line in result.cost_lines if line.invoice_id == april]
    assert billed and all(dt.date(2026, 4, 1) <= line.charge_start <= dt.date(2026, 4, 30) for line in billed)
    assert any(line.charge_start >= dt.date(2026, 5, 1) and line.invoice_id is None for line in result.cost_lines)
    assert len({line.line_id for line in result.cost_lines}) == len(result.cost_lines)


@at(dt.datetime(2026, 5, 5, 2, 30, tzinfo=dt.UTC))
def test_the_last_period_is_read_unbilled_until_its_invoice_is_issued(recon, pc_server: SandboxServer,
                                                                      clock: Clock) -> None:
    result = recon().read(clock.now())
    exports = [path.rsplit("/", 2)[-2] for method, path in calls(pc_server) if method == "POST"]
    assert exports == ["unbilled", "unbilled"]  # current and last; no invoice for April yet
    assert {line.charge_start.month for line in result.cost_lines} >= {4, 5}


@at(dt.datetime(2023, 11, 20, 2, 30, tzinfo=dt.UTC))
def test_periods_before_february_2024_are_read_through_v1(recon, pc_server: SandboxServer, clock: Clock) -> None:
    world = scenario(SEED, dt.date(2023, 11, 1))
    result = recon().read(clock.now())
    assert result.errors == ()
    paths = [path for _, path in calls(pc_server)]
    assert not any(path.startswith("/graph/") for path in paths)
    assert f"/v1/invoices/{world.invoice_id(dt.date(2023, 10, 1))}/lineitems" in paths
    assert "/v1/invoices/unbilled/lineitems" in paths
    assert {line.invoice_id for line in result.cost_lines} == {world.invoice_id(dt.date(2023, 10, 1)), None}


def test_a_charge_keeps_its_line_id_from_unbilled_v1_to_billed_v2(pc_server: SandboxServer, recon,
                                                                  clock: Clock) -> None:
    """Decision: one charge, one cost line. March 2025 is read unbilled through v1 on 20 March (v1 still served it)
    and billed through v2 on 10 May (after v1 retired): same line ids, so the ledger's upsert updates the lines
    (now with their invoice number) instead of adding a second set."""
    clock.set(dt.datetime(2025, 3, 20, 2, 30, tzinfo=dt.UTC))
    early = recon().center.unbilled_line_items("EUR", "current").cost_lines
    clock.set(dt.datetime(2025, 5, 10, 2, 30, tzinfo=dt.UTC))
    later = recon(billed_months=2).read(clock.now()).cost_lines
    march = scenario(SEED, dt.date(2025, 3, 1)).invoice_id(dt.date(2025, 3, 1))
    billed = {line.line_id: line for line in later if line.invoice_id == march}
    assert early and {line.line_id for line in early} <= set(billed)
    assert all(billed[line.line_id].subtotal == line.subtotal for line in early)
    assert not any(path.startswith("/v1/invoices/G") for _, path in calls(pc_server))
