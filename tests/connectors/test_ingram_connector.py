"""The production Ingram CMP connector against the CMP sandbox over loopback HTTPS.

Nothing is mocked: the sandbox demands the subscription key on every call, issues 1500 s tokens, pages with
``offset``/``limit`` and shows quantities only on the detail call (distributors.md §3, §7.2). Backoffs and timeouts
are small, so every fault is survived or reported typed, quickly.
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
from connectors.ingram import IngramConnector
from sandbox import ingram
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_distributors import ingram_world, month_start_of
from sandbox.tls import TlsFiles, make_tls_files

NIGHT = dt.datetime(2026, 5, 2, 2, 0, tzinfo=dt.UTC)
SEED = 5
PAGE = 4


@pytest.fixture(scope="module")
def cmp_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("cmp-tls")))


@pytest.fixture
def cmp_clock() -> Clock:
    return Clock(NIGHT)


@pytest.fixture
def cmp_server(cmp_clock: Clock, cmp_tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(ingram.build(cmp_clock, seed=SEED), tls=cmp_tls, prefix=ingram.PREFIX) as server:
        yield server


@pytest.fixture
def make_connector(cmp_server: SandboxServer, cmp_tls: TlsFiles) -> Callable[..., IngramConnector]:
    def make(**overrides: Any) -> IngramConnector:
        credentials = {key: overrides.pop(key, ingram.CREDENTIALS[key])
                       for key in ("username", "password", "subscription_key", "marketplace")}
        options: dict[str, Any] = {
            "page_size": PAGE,
            "detail_workers": 3,
            "ca_bundle": str(cmp_tls.ca_cert),
            "policy": HttpPolicy(connect_timeout=2.0, read_timeout=1.0, retries=2, backoff_factor=0.01,
                                 backoff_max=0.05),
            **overrides,
        }
        return IngramConnector(f"{cmp_server.url}{ingram.PREFIX}", credentials["username"], credentials["password"],
                               credentials["subscription_key"], marketplace=credentials["marketplace"], **options)

    return make


def seats_at(now: dt.datetime) -> dict[tuple[str, str], int]:
    """The scenario's seat count per (subscription, product line) at ``now``, independent of the server."""
    world = ingram_world(SEED, month_start_of(NIGHT))
    return {key: timeline.at(now) for key, timeline in world.seats.items()}


def calls(server: SandboxServer, path: str) -> int:
    return sum(1 for _, called in server.app.calls if called == path)


def admin(server: SandboxServer, tls: TlsFiles, route: str, body: dict[str, Any]) -> None:
    response = requests.post(f"{server.url}/__admin/ingram/{route}", json=body, verify=str(tls.ca_cert), timeout=5)
    assert response.status_code == 200, response.text


def test_full_paging_and_one_detail_per_subscription(make_connector: Callable[..., IngramConnector],
                                                     cmp_server: SandboxServer) -> None:
    result = make_connector().pull_licences()

    world = ingram_world(SEED, month_start_of(NIGHT))
    assert result.errors == ()
    assert len(result.customers) == len(world.customers)
    assert {(r.subscription_external_id, r.line_external_id): int(r.quantity) for r in result.licences} == seats_at(
        NIGHT)
    assert calls(cmp_server, "/subscriptions") == math.ceil(len(world.subscriptions) / PAGE) > 4
    assert sum(1 for _, path in cmp_server.app.calls if path.startswith("/subscriptions/")) == len(
        world.subscriptions)
    two = [r for r in result.licences if r.subscription_external_id == world.named["two_products"]]
    assert len(two) == 2 and len({r.line_external_id for r in two}) == 2
    assert {r.vendor_subscription_id for r in two} != {None}
    line = two[0]
    assert (line.commitment_term, line.billing_frequency, line.billing_type) == ("P1Y", "P1M", "license")
    assert line.unit_cost == Decimal("18.2000") and str(line.unit_cost) == "18.2000"  # four decimals, as sent
    assert line.unit_cost_field == "products[].unitCost.amount" and line.currency == "EUR"
    assert isinstance(line.term_start, dt.date) and isinstance(line.source_updated_at, dt.date)
    assert not isinstance(line.source_updated_at, dt.datetime)  # date-only stays a date
    statuses = {r.subscription_external_id: r.status for r in result.licences}
    assert statuses[world.named["hold"]] == "suspended"
    assert statuses[world.named["terminated"]] == "cancelled"
    assert statuses[world.named["pending"]] == "pending"


def test_periods_from_plans_when_the_detail_has_the_old_shape(make_connector: Callable[..., IngramConnector],
                                                              cmp_server: SandboxServer, cmp_tls: TlsFiles) -> None:
    admin(cmp_server, cmp_tls, "settings", {"newer_fields": False})

    result = make_connector().pull_licences()

    assert result.errors == () and len(result.licences) == len(seats_at(NIGHT))
    assert {r.billing_frequency for r in result.licences} <= {"P1M", "P1Y"}
    plan_calls = [path for _, path in cmp_server.app.calls if path.startswith("/plans/")]
    assert plan_calls and len(plan_calls) == len(set(plan_calls))  # each plan read once


@pytest.mark.parametrize("wrong", [{"password": "nope"}, {"subscription_key": "not-the-key"}], ids=["basic", "key"])
def test_wrong_credentials_are_refused(make_connector: Callable[..., IngramConnector], wrong: dict[str, str]) -> None:
    with pytest.raises(AuthenticationFailed, match="401"):
        make_connector(**wrong).pull_licences()


@pytest.mark.parametrize(
    "route, fault",
    [
        ("GET /subscriptions", {"kind": "status", "status": 429, "headers": {"Retry-After": "1"}}),
        ("GET /subscriptions/.+", {"kind": "status", "status": 429}),
        ("GET /customers", {"kind": "status", "status": 500}),
        ("GET /subscriptions/.+", {"kind": "status", "status": 408}),
        ("GET /subscriptions/.+", {"kind": "delay", "seconds": 1.5}),  # beyond the 1 s read timeout
        ("POST /token", {"kind": "status", "status": 503}),
    ],
    ids=["429-retry-after", "429-backoff", "500", "408", "latency", "token-503"],
)
def test_transient_faults_are_survived(make_connector: Callable[..., IngramConnector], cmp_server: SandboxServer,
                                       route: str, fault: dict[str, Any]) -> None:
    cmp_server.app.faults.arm(route, after=1 if route != "POST /token" else 0, times=1, **fault)

    result = make_connector().pull_licences()

    assert len(result.licences) == len(seats_at(NIGHT)) and result.errors == ()


def test_persistent_failure_of_one_detail_fails_the_pull(make_connector: Callable[..., IngramConnector],
                                                         cmp_server: SandboxServer) -> None:
    subscription = ingram_world(SEED, month_start_of(NIGHT)).named["monthly"]
    cmp_server.app.faults.arm(f"GET /subscriptions/{subscription}", kind="status", status=500, times=-1)

    with pytest.raises(SourceUnavailable, match=f"/subscriptions/{subscription} -> 500"):
        make_connector().pull_licences()

    assert calls(cmp_server, f"/subscriptions/{subscription}") == 3  # one try plus two bounded retries


def test_per_key_quota_exhausted_fails_typed(make_connector: Callable[..., IngramConnector],
                                             cmp_server: SandboxServer, cmp_tls: TlsFiles) -> None:
    admin(cmp_server, cmp_tls, "settings", {"quota_per_minute": 5, "quota_retry_after": False})

    with pytest.raises(SourceUnavailable, match="429"):
        make_connector().pull_licences()


def test_token_expiry_mid_run(make_connector: Callable[..., IngramConnector], cmp_server: SandboxServer,
                              cmp_clock: Clock) -> None:
    cmp_server.app.faults.arm("GET /subscriptions/.+", kind="expire_token", after=5, times=1)

    result = make_connector(detail_workers=1).pull_licences()

    assert len(result.licences) == len(seats_at(NIGHT))
    assert calls(cmp_server, "/token") == 2


def test_token_expired_by_the_clock_between_calls(make_connector: Callable[..., IngramConnector],
                                                  cmp_server: SandboxServer, cmp_clock: Clock) -> None:
    connector = make_connector()
    connector.pull_customers()
    cmp_clock.advance(seconds=1600)  # past the 1500 s lifetime on the sandbox's clock, not ours

    assert len(connector.pull_customers().customers) == 10
    assert calls(cmp_server, "/token") == 2


def test_broken_page_fails_the_whole_pull(make_connector: Callable[..., IngramConnector],
                                          cmp_server: SandboxServer) -> None:
    cmp_server.app.faults.arm("GET /subscriptions", kind="broken_page", after=2, times=1)

    with pytest.raises(SourceUnavailable, match="unreadable JSON"):
        make_connector().pull_licences()


def test_malformed_line_is_reported_and_the_rest_come_through(make_connector: Callable[..., IngramConnector],
                                                              cmp_server: SandboxServer) -> None:
    world = ingram_world(SEED, month_start_of(NIGHT))
    two = world.named["two_products"]
    cmp_server.app.faults.arm(f"GET /subscriptions/{two}", kind="malformed",
                              body={"field": "products.1.unitCost.amount", "value": "12,50"})
    cmp_server.app.faults.arm("GET /customers", kind="malformed", body={"index": 1, "field": "name", "value": None})

    result = make_connector().pull_licences()

    fields = sorted((error.record_id, error.field) for error in result.errors)
    bad_customer = world.customers[1]["id"]
    assert (two, "products[1].unitCost.amount") in fields and (bad_customer, "name") in fields
    lines = {(r.subscription_external_id, r.line_external_id) for r in result.licences}
    assert (two, world.subscriptions[1]["products"][0]["id"]) in lines  # the valid line of the same subscription
    orphaned = {s["id"] for s in world.subscriptions if s["customerId"] == bad_customer}
    assert all(error.field == "customerId" for error in result.errors if error.record_id in orphaned)
    expected = len(seats_at(NIGHT)) - 1 - sum(len(s["products"]) for s in world.subscriptions if s["id"] in orphaned)
    assert len(result.licences) == expected


def test_night_by_night_shows_seat_changes(make_connector: Callable[..., IngramConnector],
                                           cmp_server: SandboxServer, cmp_clock: Clock, cmp_tls: TlsFiles) -> None:
    world = ingram_world(SEED, month_start_of(NIGHT))
    connector = make_connector()
    seen = []
    for night in range(3):
        cmp_clock.set(NIGHT + dt.timedelta(days=night))
        counts = {(r.subscription_external_id, r.line_external_id): int(r.quantity)
                  for r in connector.pull_licences().licences}
        assert counts == seats_at(NIGHT + dt.timedelta(days=night))
        seen.append(counts)
    monthly = world.named["monthly"]
    key = (monthly, world.subscriptions[0]["products"][0]["id"])
    assert (seen[0][key], seen[1][key]) == (25, 27)
    assert calls(cmp_server, "/token") == 3  # each night's first call found the 1500 s token expired

    cmp_clock.advance(hours=6)
    admin(cmp_server, cmp_tls, "quantity", {"subscriptionId": monthly, "productId": key[1], "quantity": 30})
    cmp_clock.advance(hours=18)
    after = {(r.subscription_external_id, r.line_external_id): r.quantity for r in connector.pull_licences().licences}
    assert after[key] == Decimal(30)


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("attributes", [], None),
    ("attributes", {"costCenter": "42"}, None),
    ("planId", "88211", None),
    ("planId", 88211, None),
    ("attributes", "none", "expected an object or a list, got str"),
    ("planId", {"id": "88211"}, "expected a string or an integer, got dict"),
    ("planId", True, "expected a string or an integer, got bool"),
])
def test_attribute_and_plan_id_shapes(make_connector: Callable[..., IngramConnector], cmp_server: SandboxServer,
                                      field: str, value: Any, problem: str | None) -> None:
    """``attributes`` as ``[]`` or an object and ``planId`` as a string or an integer are the contract (reference
    distributors.md §3.3 shows ``"planId": "88213"``); any other shape is a typed error naming source, record and
    field, and the other subscriptions still come through."""
    world = ingram_world(SEED, month_start_of(NIGHT))
    one = world.subscriptions[0]["id"]
    cmp_server.app.faults.arm(f"GET /subscriptions/{one}", kind="malformed", body={"field": field, "value": value})
    result = make_connector().pull_licences()
    errors = [(e.source, e.record_id, e.field, e.problem) for e in result.errors]
    assert errors == ([] if problem is None else [("ingram_cmp", one, field, problem)])
    stored = {r.subscription_external_id for r in result.licences}
    assert (one in stored) is (problem is None) and len(stored) == len(world.subscriptions) - (problem is not None)


def test_change_order_sets_seats_and_is_found_again_by_po_number(make_connector: Callable[..., IngramConnector],
                                                                 cmp_server: SandboxServer) -> None:
    """``POST /orders`` with ``type: change``, ``subscriptionId`` and ``products[{mpn, quantity}]`` (Marketplace API
    1.6 ``createOrder`` / ``OrderDetailed``, spec copy sandereek/cloudmarketplace ``cmp.yaml``;
    https://apidocs.cloud.im/1.5/howto/subscriptions was not reachable from here: distributors.md §3 followed)."""
    world = ingram_world(SEED, month_start_of(NIGHT))
    subscription = next(s for s in world.subscriptions if s["status"] == "active")
    line = subscription["products"][0]
    seats = world.seats[(subscription["id"], line["id"])].at(NIGHT)
    connector = make_connector()
    assert connector.find_change(subscription["customerId"], subscription["id"], "cspbill-m1") is None
    order = connector.place_change(subscription["customerId"], subscription["id"], line["mpn"], seats + 2, "cspbill-m1")
    assert connector.find_change(subscription["customerId"], subscription["id"], "cspbill-m1") == order
    assert connector.quantity_of(subscription["id"], line["id"]) == seats + 2
    assert sum(1 for r in cmp_server.app.received if r.method == "POST" and r.path == "/orders") == 1


def test_change_order_refused_with_the_vendor_text(make_connector: Callable[..., IngramConnector]) -> None:
    world = ingram_world(SEED, month_start_of(NIGHT))
    subscription = next(s for s in world.subscriptions if s["status"] == "active")
    with pytest.raises(VendorRefused, match="mpn"):
        make_connector().place_change(subscription["customerId"], subscription["id"], "no-such-mpn", 3, "cspbill-m2")


def test_customer_address_is_mapped(make_connector: Callable[..., IngramConnector]) -> None:
    """CMP Customer.address (streetAddress, city, postalCode, countryCode), as reference/distributors.md describes."""
    world = ingram_world(SEED, month_start_of(NIGHT))
    by_id = {record.external_id: record for record in make_connector().pull_customers().customers}
    for customer in world.customers:
        record, address = by_id[customer["id"]], customer["address"]
        assert (record.street, record.city, record.postal_code, record.country) == (
            address["streetAddress"], address["city"], address["postalCode"], address["countryCode"])
