"""The production Pax8 connector against the Pax8 sandbox over loopback HTTPS: paging, faults, tokens, nights.

Nothing is mocked: the sandbox speaks the documented wire contract (distributors.md §2, §7.1) and faults are armed
in its fault book. Retry backoffs and timeouts are small, so every fault is survived or reported typed, quickly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.errors import AuthenticationFailed, SourceUnavailable, VendorRefused
from connectors.http import HttpPolicy
from connectors.pax8 import Pax8Connector
from sandbox import pax8
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_distributors import month_start_of, pax8_world, usage_lines
from sandbox.tls import TlsFiles, make_tls_files

NIGHT = dt.datetime(2026, 5, 2, 2, 0, tzinfo=dt.UTC)
SEED = 3
PAGE = 5


@pytest.fixture(scope="module")
def pax8_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("pax8-tls")))


@pytest.fixture
def pax8_clock() -> Clock:
    return Clock(NIGHT)


@pytest.fixture
def pax8_server(pax8_clock: Clock, pax8_tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(pax8.build(pax8_clock, seed=SEED), tls=pax8_tls, prefix=pax8.PREFIX) as server:
        yield server


@pytest.fixture
def make_connector(pax8_server: SandboxServer, pax8_tls: TlsFiles) -> Callable[..., Pax8Connector]:
    def make(**overrides: Any) -> Pax8Connector:
        options: dict[str, Any] = {
            "page_size": PAGE,
            "ca_bundle": str(pax8_tls.ca_cert),
            "policy": HttpPolicy(connect_timeout=2.0, read_timeout=1.0, retries=2, backoff_factor=0.01,
                                 backoff_max=0.05),
            **overrides,
        }
        credentials = {key: options.pop(key, pax8.CREDENTIALS[key]) for key in ("client_id", "client_secret")}
        return Pax8Connector(f"{pax8_server.url}{pax8.PREFIX}", credentials["client_id"],
                             credentials["client_secret"], **options)

    return make


def world_at(now: dt.datetime) -> dict[str, int]:
    """What the scenario says each subscription's seat count is at ``now`` (independent of the server)."""
    world = pax8_world(SEED, month_start_of(NIGHT))
    return {subscription_id: timeline.at(now) for subscription_id, timeline in world.seats.items()}


def calls(server: SandboxServer, path: str) -> int:
    return sum(1 for method, called in server.app.calls if called == path)


def test_full_paging_maps_every_subscription(make_connector: Callable[..., Pax8Connector],
                                             pax8_server: SandboxServer) -> None:
    result = make_connector().pull_licences()

    world = pax8_world(SEED, month_start_of(NIGHT))
    assert result.errors == ()
    assert len(result.customers) == len(world.companies)
    assert len(result.licences) == len(world.subscriptions)
    assert calls(pax8_server, "/subscriptions") == math.ceil(len(world.subscriptions) / PAGE) > 5
    assert calls(pax8_server, "/token") == 1  # one token for the whole run
    expected = world_at(NIGHT)
    assert {record.subscription_external_id: int(record.quantity) for record in result.licences} == expected
    by_id = {record.subscription_external_id: record for record in result.licences}
    monthly, annual = by_id[world.named["monthly_nce"]], by_id[world.named["annual"]]
    assert (monthly.billing_frequency, monthly.commitment_term) == ("P1M", None)
    assert (annual.billing_frequency, annual.commitment_term, annual.status) == ("P1Y", "P1Y", "active")
    assert annual.term_end is not None and annual.product_id == monthly.product_id
    assert monthly.customer_reference == "DEB-10001"
    assert isinstance(monthly.unit_cost, Decimal) and monthly.unit_cost_field == "partnerCost"
    assert monthly.unit_cost == Decimal("18.2") and monthly.unit_price == Decimal("21.5")
    assert monthly.source_updated_at is not None and monthly.source_updated_at.tzinfo is not None
    assert (by_id[world.named["pending_cancel"]].status, by_id[world.named["pending_cancel"]].status_raw) == (
        "active", "PendingCancel")
    assert (by_id[world.named["trial"]].billing_type, by_id[world.named["trial"]].status) == ("trial", "trial")
    assert by_id[world.named["one_time"]].billing_frequency == "ONE_TIME"
    assert by_id[world.named["cancelled"]].status == "cancelled"
    # every record keeps its subscription's currency: the euro book, and one offer Pax8 bills in US dollars
    assert {r.subscription_external_id: r.currency for r in result.licences} == {
        s["id"]: s["currencyCode"] for s in world.subscriptions}
    assert {r.currency for r in result.licences} == {"EUR", "USD"} and by_id[world.named["usd"]].currency == "USD"
    assert all(record.term_start is not None for record in result.licences)  # mixed date formats all parsed


def test_wrong_secret_is_refused(make_connector: Callable[..., Pax8Connector]) -> None:
    with pytest.raises(AuthenticationFailed, match="access_denied"):
        make_connector(client_secret="wrong").pull_licences()


def test_camel_case_token_variant(make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer) -> None:
    connector = make_connector(token_style="camel", token_url=f"{pax8_server.url}{pax8.PREFIX}/auth/token",
                               audience="api://p8p.client")
    assert len(connector.pull_customers().customers) == 12


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 429, "headers": {"Retry-After": "1"}},
        {"kind": "status", "status": 429},
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 408},
        {"kind": "delay", "seconds": 1.5},  # beyond the 1 s read timeout: the GET is retried
        {"kind": "drop"},
    ],
    ids=["429-retry-after", "429-backoff", "500", "408", "latency", "dropped"],
)
def test_transient_faults_are_survived(make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer,
                                       fault: dict[str, Any]) -> None:
    pax8_server.app.faults.arm("GET /subscriptions", after=2, times=1, **fault)

    result = make_connector().pull_licences()

    assert len(result.licences) == len(world_at(NIGHT)) and result.errors == ()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_persistent_failure_fails_the_pull_after_bounded_retries(
    make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer, status: int
) -> None:
    pax8_server.app.faults.arm("GET /subscriptions", kind="status", status=status, after=1, times=-1)

    with pytest.raises(SourceUnavailable, match=f"/subscriptions -> {status}"):
        make_connector().pull_licences()

    assert calls(pax8_server, "/subscriptions") == 1 + 3  # page 0, then page 1 tried once plus two retries


def test_token_revoked_mid_run_is_refreshed_once(make_connector: Callable[..., Pax8Connector],
                                                 pax8_server: SandboxServer) -> None:
    pax8_server.app.faults.arm("GET /subscriptions", kind="expire_token", after=3, times=1)

    result = make_connector().pull_licences()

    assert len(result.licences) == len(world_at(NIGHT))
    assert calls(pax8_server, "/token") == 2


def test_broken_page_fails_the_whole_pull(make_connector: Callable[..., Pax8Connector],
                                          pax8_server: SandboxServer) -> None:
    pax8_server.app.faults.arm("GET /subscriptions", kind="broken_page", after=3, times=1)

    with pytest.raises(SourceUnavailable, match="unreadable JSON"):
        make_connector().pull_licences()


def test_malformed_records_are_reported_and_the_rest_come_through(
    make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer
) -> None:
    pax8_server.app.faults.arm("GET /subscriptions", kind="malformed", after=1, times=1,
                               body={"index": 2, "field": "quantity", "value": "twelve"})
    pax8_server.app.faults.arm("GET /subscriptions", kind="malformed", after=4, times=1,
                               body={"index": 0, "field": "currencyCode", "value": "euro"})

    result = make_connector().pull_licences()

    assert len(result.licences) == len(world_at(NIGHT)) - 2
    assert sorted(error.field for error in result.errors) == ["currencyCode", "quantity"]
    bad = next(error for error in result.errors if error.field == "quantity")
    assert bad.source == "pax8" and bad.record_id in world_at(NIGHT) and "twelve" in bad.problem
    assert bad.record_id not in {record.subscription_external_id for record in result.licences}


def test_a_record_holding_an_unpaired_surrogate_is_reported_and_the_rest_come_through(
    make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer
) -> None:
    """JSON may carry a ``\\ud800`` escape without its pair: Python decodes it into a string with no UTF-8 form, which
    no ledger stores (the raw payload is kept with every snapshot). The record holding one, even in a field cspbill
    does not read, is reported naming that field; an escaped pair (an emoji) is text and comes through."""
    pax8_server.app.faults.arm("GET /subscriptions", kind="malformed", after=1, times=1,
                               body={"index": 1, "field": "vendorNote", "value": "seats \ud800 added"})
    pax8_server.app.faults.arm("GET /subscriptions", kind="malformed", after=2, times=1,
                               body={"index": 0, "field": "vendorNote", "value": "seats \U0001F600 added"})

    result = make_connector().pull_licences()

    assert len(result.licences) == len(world_at(NIGHT)) - 1
    [bad] = result.errors
    assert bad.field == "vendorNote" and "unpaired UTF-16 surrogate" in bad.problem and bad.record_id
    assert bad.record_id not in {record.subscription_external_id for record in result.licences}
    assert [r.raw["vendorNote"] for r in result.licences if "vendorNote" in r.raw] == ["seats \U0001F600 added"]


def test_night_by_night_shows_seat_changes(make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer,
                                           pax8_clock: Clock) -> None:
    connector = make_connector()
    seen: list[dict[str, int]] = []
    for night in range(4):
        pax8_clock.set(NIGHT + dt.timedelta(days=night))
        result = connector.pull_licences()
        counts = {record.subscription_external_id: int(record.quantity) for record in result.licences}
        assert counts == world_at(NIGHT + dt.timedelta(days=night))
        seen.append(counts)

    monthly = pax8_world(SEED, month_start_of(NIGHT)).named["monthly_nce"]
    assert (seen[0][monthly], seen[1][monthly]) == (12, 14)  # changed on the 2nd at 11:00, seen the next night
    assert any(seen[night] != seen[night + 1] for night in range(1, 3))
    assert calls(pax8_server, "/token") >= 2  # the 24 h token ran out on the sandbox clock and was renewed


def test_admin_mutation_is_seen_next_night(make_connector: Callable[..., Pax8Connector], pax8_server: SandboxServer,
                                           pax8_clock: Clock, pax8_tls: TlsFiles) -> None:
    annual = pax8_world(SEED, month_start_of(NIGHT)).named["annual"]
    pax8_clock.set(NIGHT + dt.timedelta(hours=8))
    response = requests.post(f"{pax8_server.url}/__admin/pax8/quantity", json={"subscriptionId": annual,
                             "quantity": 33}, verify=str(pax8_tls.ca_cert), timeout=5)
    assert response.status_code == 200
    pax8_clock.set(NIGHT + dt.timedelta(days=1))

    by_id = {record.subscription_external_id: record for record in make_connector().pull_licences().licences}

    assert by_id[annual].quantity == Decimal(33)


def test_cost_lines_from_invoice_items(make_connector: Callable[..., Pax8Connector]) -> None:
    world = pax8_world(SEED, month_start_of(NIGHT))
    result = make_connector().pull_cost_lines(dt.date(2026, 5, 1), dt.date(2026, 5, 31))

    assert result.errors == ()
    assert len(result.cost_lines) == sum(len(items) for items in world.invoice_items.values())
    prorate = next(line for line in result.cost_lines if line.charge_type == "prorate")
    assert prorate.charge_start == dt.date(2026, 4, 17) and prorate.charge_end == dt.date(2026, 4, 30)
    assert all(isinstance(line.subtotal, Decimal) and line.currency == "EUR" for line in result.cost_lines)
    assert sum(line.subtotal for line in result.cost_lines) == sum(
        item["costTotal"] for items in world.invoice_items.values() for item in items)


def test_empty_invoice_listing_without_content_is_empty(make_connector: Callable[..., Pax8Connector]) -> None:
    result = make_connector().pull_cost_lines(dt.date(2030, 1, 1), dt.date(2030, 1, 31))

    assert result.cost_lines == () and result.errors == ()


def test_usage_of_a_metered_subscription(make_connector: Callable[..., Pax8Connector],
                                         pax8_server: SandboxServer) -> None:
    world = pax8_world(SEED, month_start_of(NIGHT))
    day = dt.date(2026, 5, 1)
    pax8_server.app.faults.arm("GET /usage-summaries/.+/usage-lines", kind="malformed",
                               body={"index": 1, "field": "partnerTotal", "value": "n/a"})

    result = make_connector().pull_usage(day, [world.named["azure"]])

    expected = [line for summary in world.usage_summaries for line in usage_lines(SEED, summary, day)]
    assert len(result.usage) == len(expected) - 1
    assert [error.field for error in result.errors] == ["partnerTotal"]
    assert {record.resource_group for record in result.usage} == {"rg-production", "rg-test"}
    assert len({record.row_key for record in result.usage}) == len(result.usage)
    delivered = {(line["usageSummaryId"], line["productName"]): line["partnerTotal"] for line in expected}
    for record in result.usage:
        assert record.cost == delivered[(record.row_key.split(":")[0], record.meter_name)]
        assert record.usage_date == day and record.currency == "EUR"


def test_one_time_purchase_cancelled_inside_its_window(make_connector: Callable[..., Pax8Connector],
                                                      pax8_clock: Clock) -> None:
    world = pax8_world(SEED, month_start_of(NIGHT))
    returned = world.named["one_time_cancelled"]
    pax8_clock.set(NIGHT + dt.timedelta(days=7))  # the 9th, before the cancellation at 15:00
    before = {r.subscription_external_id: r for r in make_connector().pull_licences().licences}[returned]
    pax8_clock.set(NIGHT + dt.timedelta(days=8))
    after = {r.subscription_external_id: r for r in make_connector().pull_licences().licences}[returned]
    assert (before.billing_type, before.status, before.term_start) == ("one_time", "active", dt.date(2026, 5, 8))
    assert (after.status, after.status_raw) == ("cancelled", "Cancelled")
    assert after.source_updated_at == dt.datetime(2026, 5, 9, 15, tzinfo=dt.UTC)


def active_subscription() -> tuple[str, int]:
    world = pax8_world(SEED, month_start_of(NIGHT))
    found = next(s for s in world.subscriptions if s["status"] == "Active" and world.seats[s["id"]].at(NIGHT) > 1)
    return found["id"], world.seats[found["id"]].at(NIGHT)


def test_quantity_update_is_a_put_and_shows_in_the_next_read(make_connector: Callable[..., Pax8Connector],
                                                             pax8_server: SandboxServer) -> None:
    """``PUT /subscriptions/{id}`` with ``quantity`` (distributors.md §2 "Writes"; Pax8 partner-endpoints spec
    https://devx.pax8.com/docs/public-api-details , spec copy in api-evangelist/pax8 ``pax8-partner-endpoints``)."""
    subscription, seats = active_subscription()
    assert make_connector().set_quantity(subscription, seats + 3) == seats + 3
    puts = [r for r in pax8_server.app.received if r.method == "PUT"]
    assert [(r.path, r.body) for r in puts] == [(f"/subscriptions/{subscription}", b'{"quantity": ' +
                                                 str(seats + 3).encode() + b"}")]
    assert make_connector().quantity_of(subscription) == seats + 3


def test_quantity_refusal_carries_the_error_envelope(make_connector: Callable[..., Pax8Connector]) -> None:
    """A refused update answers Pax8's ``{type, message, instance, status, details}`` envelope."""
    subscription, _ = active_subscription()
    with pytest.raises(VendorRefused) as refused:
        make_connector().set_quantity(subscription, 0)
    assert refused.value.code == "UNPROCESSABLE_ENTITY" and "at least 1" in refused.value.reason


def test_company_address_is_mapped(make_connector: Callable[..., Pax8Connector]) -> None:
    """Company.address{street, street2, city, stateOrProvince, postalCode, country} (https://devx.pax8.com/reference/
    findcompanies; reference/distributors.md)."""
    world = pax8_world(SEED, month_start_of(NIGHT))
    by_id = {record.external_id: record for record in make_connector().pull_customers().customers}
    for company in world.companies:
        record, address = by_id[company["id"]], company["address"]
        assert (record.street, record.city, record.postal_code, record.country) == (
            address["street"], address["city"], address["postalCode"], address["country"])
