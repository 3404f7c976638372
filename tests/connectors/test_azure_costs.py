"""connectors.azure_costs (azure-mgmt-costmanagement) against the ARM and Entra sandboxes over HTTPS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests

from connectors.auth import TokenProvider
from connectors.azure_costs import SCOPE, AzureCosts, customer_scope, subscription_scope
from connectors.errors import AuthenticationFailed, SourceUnavailable
from connectors.http import HttpPolicy
from sandbox import cost_management
from sandbox.core import SandboxServer
from sandbox.scenario_microsoft import scenario
from tests.connectors.conftest import NOW, SEED

WORLD = scenario(SEED, NOW.date().replace(day=1))
CUSTOMER = WORLD.customers[0]
SCOPE_OF_CUSTOMER = customer_scope(WORLD.billing_account_id, CUSTOMER.billing_customer_id)
FIRST, LAST = dt.date(2026, 5, 1), dt.date(2026, 5, 31)
QUERY = "POST .*/query"


def expected_rows(first: dt.date = FIRST, last: dt.date = LAST) -> list[dict]:
    return [f for f in WORLD.usage(first, last, NOW) if f["BillingCustomerId"] == CUSTOMER.billing_customer_id]


@pytest.fixture
def connect(
    arm_server: SandboxServer, make_tokens: Callable[..., TokenProvider], policy: HttpPolicy
) -> Callable[..., AzureCosts]:
    def make(scope: str = SCOPE) -> AzureCosts:
        return AzureCosts(arm_server.url, make_tokens(scope), policy=policy)

    return make


def daily(connector: AzureCosts, first: dt.date = FIRST, last: dt.date = LAST):
    return connector.daily_costs(SCOPE_OF_CUSTOMER, first, last, CUSTOMER.id)


def test_daily_costs_per_subscription_group_meter_and_tag(connect, arm_server: SandboxServer) -> None:
    arm_server.app.faults.arm(QUERY, "paginate", times=-1, body={"size": 100})
    result = daily(connect())
    facts = expected_rows()
    assert result.errors == ()
    assert len(result.usage) == len(facts)
    assert sum(1 for call in arm_server.app.calls if call[0] == "POST") > 5  # several pages per query
    by_key = {(u.usage_date, u.raw["ResourceId"], u.meter_id): u for u in result.usage}
    for fact in facts:
        row = by_key[(fact["UsageDate"], fact["ResourceId"], fact["MeterId"])]
        assert (row.subscription_external_id, row.resource_group) == (fact["SubscriptionId"], fact["ResourceGroupName"])
        assert row.cost == Decimal(repr(float(fact["Cost"])))
        assert row.quantity == Decimal(repr(float(fact["UsageQuantity"])))
        assert row.meter_name == fact["Meter"] and row.meter_category == fact["MeterCategory"]
        assert row.resource_location == fact["ResourceLocation"]
        assert dict(row.tags) == fact["tags"]
        assert row.customer_external_id == CUSTOMER.id and row.currency == "EUR"
    assert {dict(u.tags).get("environment") for u in result.usage} >= {"Prod", "Test", "Dev"}
    assert len({u.row_key for u in result.usage}) == len(result.usage)


def test_paged_and_unpaged_reads_agree(connect, arm_server: SandboxServer) -> None:
    whole = daily(connect())
    arm_server.app.faults.arm(QUERY, "paginate", times=-1, body={"size": 7})
    paged = daily(connect(), FIRST, FIRST + dt.timedelta(days=3))
    assert {u.row_key: u.cost for u in paged.usage} == {
        u.row_key: u.cost for u in whole.usage if u.usage_date <= FIRST + dt.timedelta(days=3)
    }


def test_restated_days_keep_their_row_keys(connect, arm_server: SandboxServer) -> None:
    before = {u.row_key: u.cost for u in daily(connect()).usage}
    arm_server.app.faults.arm(QUERY, "restate", times=-1, body={"days": 2, "factor": "1.25"})
    after = {u.row_key: u.cost for u in daily(connect()).usage}
    assert set(before) == set(after)
    changed = [key for key in before if before[key] != after[key]]
    assert changed and len(changed) < len(before)


def test_subscription_scope(connect) -> None:
    subscription = CUSTOMER.resources[0].subscription_id
    result = connect().daily_costs(subscription_scope(subscription), FIRST, LAST, CUSTOMER.id)
    assert result.usage and {u.subscription_external_id for u in result.usage} == {subscription}


def test_pull_over_billing_customers_waits_out_the_qpu_quota(clock, tls, make_tokens, policy: HttpPolicy) -> None:
    """Every customer is read; the sandbox's QPU bucket (8 per second here, 12 per 10 s in the real API) runs out on
    the way and the connector waits for ``x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after``."""
    app = cost_management.build(clock, seed=SEED, qpu_buckets=(("QueriesPer10Sec", 8, 1.0),))
    with SandboxServer(app, tls=tls) as server:
        last = NOW.date() - dt.timedelta(days=1)
        result = AzureCosts(server.url, make_tokens(SCOPE), policy=policy).pull(WORLD.billing_account_id, last, last)
        posts = sum(1 for method, _ in server.app.calls if method == "POST")
    assert {c.tenant_id for c in result.customers} == {c.id for c in WORLD.customers}
    assert {u.customer_external_id for u in result.usage} == {c.id for c in WORLD.customers}
    assert len(result.usage) == len(WORLD.usage(last, last, NOW))
    queries = 2 + 4 * len(WORLD.customers)  # meters once; cost, quantity, location, tag per customer; one page each
    assert posts > queries  # some were refused with 429 and sent again after the wait


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("throttle", {"seconds": 1}),  # only x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after
        ("throttle", {"seconds": 1, "body": {"header": "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after"}}),
        ("status", {"status": 503}),
        ("status", {"status": 500}),
        ("delay", {"seconds": 1.6}),  # beyond the 1 s read timeout
        ("drop", {}),
        ("broken_page", {}),
        ("expire_token", {}),
    ],
)
def test_fault_is_survived(connect, arm_server: SandboxServer, kind: str, options: dict) -> None:
    arm_server.app.faults.arm(QUERY, "paginate", times=-1, body={"size": 100})
    arm_server.app.faults.arm(QUERY, kind, after=1, times=1, **options)
    result = daily(connect(), FIRST, FIRST + dt.timedelta(days=9))
    assert result.errors == ()
    assert len(result.usage) == len(expected_rows(FIRST, FIRST + dt.timedelta(days=9)))


def test_persistent_throttling_becomes_source_unavailable(connect, arm_server: SandboxServer) -> None:
    arm_server.app.faults.arm(
        QUERY,
        "status",
        times=-1,
        status=429,
        headers={"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "0"},
        body={"error": {"code": "429", "message": "Too many requests. Please retry."}},
    )
    with pytest.raises(SourceUnavailable, match="429"):
        daily(connect())


def test_wrong_credentials_are_refused(arm_server: SandboxServer, make_tokens, policy: HttpPolicy) -> None:
    connector = AzureCosts(arm_server.url, make_tokens(SCOPE, secret="wrong"), policy=policy)
    with pytest.raises(AuthenticationFailed):
        daily(connector)


def test_token_rejected_twice_is_authentication_failed(connect, arm_server: SandboxServer) -> None:
    arm_server.app.faults.arm(QUERY, "expire_token", times=-1)
    with pytest.raises(AuthenticationFailed):
        daily(connect())


def test_provider_for_another_scope_is_refused(connect) -> None:
    with pytest.raises(AuthenticationFailed, match="scope"):
        daily(connect("https://api.partnercenter.microsoft.com/.default"))


def test_malformed_row_is_reported_and_the_rest_come_through(connect, arm_server: SandboxServer) -> None:
    arm_server.app.faults.arm(QUERY, "malformed", times=1, body={"index": 3})
    result = daily(connect())
    assert [(e.source, e.field) for e in result.errors] == [("azure_costs", "Cost")]
    assert len(result.usage) == len(expected_rows()) - 1


def test_no_data_as_204(connect, arm_server: SandboxServer) -> None:
    arm_server.app.faults.arm(QUERY, "empty", times=-1)
    result = daily(connect(), dt.date(2026, 7, 1), dt.date(2026, 7, 2))
    assert result.usage == () and result.errors == ()


def test_licence_charges_billed_with_azure_are_left_out(connect, arm_server: SandboxServer) -> None:
    """Cost Management shows New Commerce licences next to Azure; they are Partner Center's, never usage (§4.6)."""
    plain = daily(connect())
    arm_server.app.faults.arm(QUERY, "licence_rows", times=-1)
    with_licences = daily(connect())
    assert WORLD.licence_facts(FIRST, LAST, NOW)
    assert {u.row_key: u.cost for u in with_licences.usage} == {u.row_key: u.cost for u in plain.usage}
    assert all(u.meter_category != "Microsoft 365" for u in with_licences.usage)


def test_scope_quota_answers_429_with_the_entity_header(arm_server: SandboxServer, make_tokens, tls) -> None:
    """Cost Management throttles per scope as well as per tenant: past a handful of queries on one scope it answers
    429 with ``x-ms-ratelimit-microsoft.costmanagement-entity-retry-after`` (and no ``Retry-After``), other scopes go
    on. https://learn.microsoft.com/en-us/azure/cost-management-billing/costs/manage-automation (429, QPU quotas)."""
    token = make_tokens(SCOPE).token()
    body = AzureCosts._body(FIRST, FIRST, "Daily", "Cost", [{"type": "Dimension", "name": "MeterId"}])

    def post(scope: str) -> requests.Response:
        return requests.post(f"{arm_server.url}/{scope}/providers/Microsoft.CostManagement/query",
                             params={"api-version": "2023-11-01"}, json=body, verify=str(tls.ca_cert),
                             headers={"Authorization": f"Bearer {token}"}, timeout=5)

    answers = [post(SCOPE_OF_CUSTOMER) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert int(refused.headers["x-ms-ratelimit-microsoft.costmanagement-entity-retry-after"]) >= 1
    assert "Retry-After" not in refused.headers
    assert refused.json() == {"error": {"code": "429", "message": "Too many requests. Please retry."}}
    other = customer_scope(WORLD.billing_account_id, WORLD.customers[1].billing_customer_id)
    assert post(other).status_code == 200


def test_connector_waits_out_the_scope_quota(connect, arm_server: SandboxServer) -> None:
    """Six queries on one customer scope (meters read there too): the sixth is refused once, waited out and sent
    again; nothing is lost."""
    result = daily(connect(), FIRST, FIRST + dt.timedelta(days=2))
    posts = [r for r in arm_server.app.received if r.method == "POST"]
    assert len(posts) == 7  # six queries of one page each, and the refused one again after the wait
    assert result.errors == () and len(result.usage) == len(expected_rows(FIRST, FIRST + dt.timedelta(days=2)))
