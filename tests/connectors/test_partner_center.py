"""connectors.partner_center against the Partner Center and Entra sandboxes over HTTPS.

What is checked: full seek paging, every NCE plan mapped, seat batches with their deadlines, recon lines, each fault
knob survived within the bounded retries (or reported as ``SourceUnavailable``), refusals as
``AuthenticationFailed``, and malformed records reported by field while the valid records come through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from connectors.auth import TokenProvider
from connectors.errors import AuthenticationFailed, SourceUnavailable
from connectors.http import HttpPolicy
from connectors.partner_billing_export import GRAPH_SCOPE, PartnerBillingExport
from connectors.partner_center import SCOPE, PartnerCenter
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_microsoft import PLANS, scenario
from tests.connectors.conftest import NOW, SEED

WORLD = scenario(SEED, NOW.date().replace(day=1))
CUSTOMERS = len(WORLD.customers)
SUBSCRIPTIONS = sum(1 for c in WORLD.customers for s in c.subscriptions if s.purchased_at <= NOW)
# v1 recon line items served every period until 21 April 2025 (sandbox/partner_center/invoices.py): the v1 reads are
# tested inside that window, where v2 serves the same periods too.
V1_NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=dt.UTC)
V1_WORLD = scenario(SEED, V1_NOW.date().replace(day=1))


def at(moment: dt.datetime) -> pytest.MarkDecorator:
    """Run the test with the sandboxes' clock at ``moment`` (a fresh clock per test)."""
    return pytest.mark.parametrize("clock", [Clock(moment)], ids=[moment.date().isoformat()])


@pytest.fixture
def connect(pc_server: SandboxServer, make_tokens: Callable[..., TokenProvider], policy: HttpPolicy
            ) -> Callable[..., PartnerCenter]:
    def make(page_size: int = 2, secret: str | None = None) -> PartnerCenter:
        tokens = make_tokens(SCOPE) if secret is None else make_tokens(SCOPE, secret=secret)
        return PartnerCenter(f"{pc_server.url}/pc", tokens, account_id="partner-tenant", currency="EUR",
                             policy=policy, page_size=page_size, now=lambda: NOW)

    return make


def customer_pages(server: SandboxServer) -> int:
    return sum(1 for call in server.app.calls if call == ("GET", "/v1/customers"))


def test_pull_reads_every_page_and_maps_every_plan(connect, pc_server: SandboxServer) -> None:
    result = connect(page_size=2).pull()
    assert result.errors == ()
    assert len(result.customers) == CUSTOMERS
    assert customer_pages(pc_server) == -(-CUSTOMERS // 2)  # several pages, each read once
    assert len(result.licences) == SUBSCRIPTIONS
    plans = {(lic.commitment_term, lic.billing_frequency) for lic in result.licences}
    expected = {(term, {"monthly": "P1M", "annual": "P1Y", "triennial": "P3Y"}[cycle]) for term, cycle in PLANS}
    assert expected <= plans
    by_id = {lic.subscription_external_id: lic for lic in result.licences}
    for customer in WORLD.customers:
        for sub in customer.subscriptions:
            if sub.purchased_at > NOW:
                continue
            licence = by_id[sub.id]
            assert licence.quantity == Decimal(sub.quantity_at(NOW))
            assert licence.customer_name == customer.company_name
            assert licence.vendor_sku == sub.offer_id
            assert licence.term_end == sub.term_end(NOW)
            assert licence.refundable_batches == tuple((Decimal(q), until) for q, until in sub.batches_at(NOW))
            assert all(until - NOW <= dt.timedelta(hours=168) for _, until in licence.refundable_batches)


def test_seat_changes_follow_the_sandbox_clock(connect, clock) -> None:
    early = {lic.subscription_external_id: lic.quantity for lic in connect().pull().licences}
    clock.advance(days=7)
    late = {lic.subscription_external_id: lic.quantity for lic in connect().pull().licences}
    assert early != late
    assert set(early) <= set(late)


@at(V1_NOW)
def test_unbilled_recon_lines(connect) -> None:
    result = connect().unbilled_line_items("EUR", "current")
    assert result.errors == ()
    lines = result.cost_lines
    assert len(lines) == len(V1_WORLD.recon_lines(V1_WORLD.month, V1_WORLD.month_end, V1_NOW))
    assert len({line.line_id for line in lines}) == len(lines)
    kinds = {line.charge_type for line in lines}
    assert {"addQuantity", "cycleCharge"} <= kinds
    for line in lines:
        assert line.subtotal == line.unit_price.quantize(Decimal("0.01"), rounding="ROUND_DOWN") * line.quantity
        assert line.charge_start <= line.charge_end
    refunds = [line for line in lines if line.unit_price < 0]
    assert refunds and all(any(o.reference_id == r.reference_id and o.unit_price > 0 for o in lines)
                           for r in refunds)


@at(V1_NOW)
def test_billed_invoice_lines(connect) -> None:
    invoice = V1_WORLD.invoice_id(dt.date(2025, 2, 1))
    result = connect().billed_line_items(invoice, "EUR")
    assert result.cost_lines and {line.invoice_id for line in result.cost_lines} == {invoice}


@at(V1_NOW)
def test_numbers_as_strings_and_pascal_case_charge_types(connect, pc_server: SandboxServer) -> None:
    plain = connect().unbilled_line_items("EUR")
    pc_server.app.faults.arm("GET /v1/invoices/unbilled/lineitems", "strings", times=-1)
    stringly = connect().unbilled_line_items("EUR")
    assert stringly.errors == ()
    assert [(c.line_id, c.subtotal, c.quantity) for c in stringly.cost_lines] == [
        (c.line_id, c.subtotal, c.quantity) for c in plain.cost_lines]


def test_malformed_records_are_reported_and_the_rest_come_through(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/customers/[^/]+/subscriptions", "malformed", times=1)
    pc_server.app.faults.arm("GET /v1/customers", "malformed", after=1, times=1,
                             body={"field": "companyProfile.companyName", "value": None, "index": 1})
    result = connect(page_size=2).pull()
    fields = sorted(error.field for error in result.errors)
    assert fields == ["companyProfile.companyName", "quantity"]
    bad_customer = next(e for e in result.errors if e.field == "companyProfile.companyName")
    assert bad_customer.source == "partner_center" and bad_customer.record_id == WORLD.customers[3].id
    assert len(result.customers) == CUSTOMERS - 1
    subscriptions_of_bad_customer = sum(1 for s in WORLD.customers[3].subscriptions if s.purchased_at <= NOW)
    assert len(result.licences) == SUBSCRIPTIONS - 1 - subscriptions_of_bad_customer


@at(V1_NOW)
def test_malformed_recon_line_is_reported(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/invoices/unbilled/lineitems", "malformed", times=1, body={"index": 2})
    result = connect().unbilled_line_items("EUR")
    assert [e.field for e in result.errors] == ["chargeStartDate"]
    assert len(result.cost_lines) == len(V1_WORLD.recon_lines(V1_WORLD.month, V1_WORLD.month_end, V1_NOW)) - 1


def test_subscriptions_paged_when_the_server_pages_them(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/customers/[^/]+/subscriptions", "paginate", times=-1, body={"size": 2})
    assert len(connect().pull().licences) == SUBSCRIPTIONS


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("throttle", {"seconds": 1}),
        ("status", {"status": 503}),
        ("status", {"status": 500, "body": {"code": 500, "description": "Internal error"}}),
        ("delay", {"seconds": 1.6}),  # beyond the 1 s read timeout of the test policy
        ("drop", {}),
        ("broken_page", {}),
        ("expire_token", {}),
    ],
)
def test_fault_in_the_middle_of_paging_is_survived(connect, pc_server: SandboxServer, kind: str,
                                                   options: dict) -> None:
    pc_server.app.faults.arm("GET /v1/customers", kind, after=1, times=1, **options)
    result = connect(page_size=2).customers()
    assert len(result.customers) == CUSTOMERS
    assert result.errors == ()


def test_persistent_throttling_becomes_source_unavailable(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/customers", "status", times=-1, status=429,
                             headers={"Retry-After": "0"},
                             body={"statusCode": 429, "message": "Rate limit is exceeded. Try again in 0 seconds."})
    with pytest.raises(SourceUnavailable, match="429"):
        connect().customers()


def test_persistent_server_error_becomes_source_unavailable(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/customers", "status", status=503, times=-1)
    with pytest.raises(SourceUnavailable):
        connect().customers()


def test_persistently_broken_page_becomes_source_unavailable(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/customers", "broken_page", times=-1)
    with pytest.raises(SourceUnavailable, match="unreadable"):
        connect().customers()


def test_wrong_credentials_are_refused(connect) -> None:
    with pytest.raises(AuthenticationFailed):
        connect(secret="not-the-secret").customers()


def test_token_rejected_twice_is_authentication_failed(connect, pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("GET /v1/customers", "expire_token", times=-1)
    with pytest.raises(AuthenticationFailed, match="401"):
        connect().customers()


def test_token_for_another_audience_is_refused(pc_server: SandboxServer, make_tokens, policy: HttpPolicy) -> None:
    arm_tokens = make_tokens("https://management.azure.com/.default")
    connector = PartnerCenter(f"{pc_server.url}/pc", arm_tokens, account_id="p", currency="EUR", policy=policy)
    with pytest.raises(AuthenticationFailed):
        connector.customers()


@pytest.fixture
def export(pc_server: SandboxServer, make_tokens: Callable[..., TokenProvider], policy: HttpPolicy
           ) -> PartnerBillingExport:
    return PartnerBillingExport(f"{pc_server.url}/graph/v1.0", make_tokens(GRAPH_SCOPE), policy=policy,
                                poll_interval=0.01, max_polls=5)


@at(V1_NOW)
def test_graph_export_gives_the_same_lines_as_v1(connect, export: PartnerBillingExport,
                                                 pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("POST /graph/.*/unbilled/export", "slow_export", times=1, body={"polls": 3})
    v2 = export.unbilled("EUR", "current")
    v1 = connect().unbilled_line_items("EUR", "current")
    assert v2.errors == ()
    assert len(v2.cost_lines) > 50  # more than one blob
    assert {(c.line_id, c.subtotal, c.charge_type) for c in v2.cost_lines} == {
        (c.line_id, c.subtotal, c.charge_type) for c in v1.cost_lines}
    assert all("ChargeType" in c.raw for c in v2.cost_lines)
    blob_calls = [r for r in pc_server.app.received if r.path.startswith("/blob/")]
    assert blob_calls and all("authorization" not in r.headers for r in blob_calls)


def test_graph_export_of_a_billed_invoice_and_no_data(export: PartnerBillingExport) -> None:
    invoice = WORLD.invoice_id(dt.date(2026, 4, 1))
    assert {c.invoice_id for c in export.billed(invoice).cost_lines} == {invoice}
    assert export.billed("G999999999").cost_lines == ()  # failedOperation 5000 "No data available"


def test_graph_export_still_running_after_the_poll_limit(export: PartnerBillingExport,
                                                         pc_server: SandboxServer) -> None:
    pc_server.app.faults.arm("POST /graph/.*/unbilled/export", "slow_export", times=1, body={"polls": 50})
    with pytest.raises(SourceUnavailable, match="still running"):
        export.unbilled("EUR")


def test_graph_export_needs_a_graph_token(pc_server: SandboxServer, make_tokens, policy: HttpPolicy) -> None:
    wrong = PartnerBillingExport(f"{pc_server.url}/graph/v1.0", make_tokens(SCOPE), policy=policy)
    with pytest.raises(AuthenticationFailed):
        wrong.unbilled("EUR")


@at(V1_NOW)
def test_one_time_purchases_and_their_refund_are_told_apart_from_licences(connect) -> None:
    """One-time lines (blank ``billingFrequency``) carry order id, order day and product name; their refund is a
    negative line of the same order (https://learn.microsoft.com/partner-center/billing/modern-invoice-reconciliation-file)."""
    lines = connect().unbilled_line_items("EUR", "current").cost_lines
    one_time = sorted((line for line in lines if line.billing_type == "one_time"), key=lambda line: line.ordered_on)
    assert {line.billing_type for line in lines} == {"license", "one_time"}
    assert [(line.charge_type, line.quantity, line.subtotal, line.ordered_on) for line in one_time] == [
        ("new", 4, Decimal("3120.00"), dt.date(2025, 3, 5)), ("refund", 1, Decimal("-780.00"), dt.date(2025, 3, 7)),
        ("new", 1, Decimal("612.00"), dt.date(2025, 3, 12))]
    software, refund, reservation = one_time
    assert software.order_id == refund.order_id != reservation.order_id
    assert software.product_name == "Example Server 2025 Standard - 16 Core License Pack"
    assert all(line.order_id and line.ordered_on for line in lines)


def test_billing_profile_default_address_is_mapped(connect) -> None:
    """billingProfile.defaultAddress is Partner Center's Address resource (addressLine1..3, city, state, postalCode,
    country): https://learn.microsoft.com/en-us/partner-center/developer/get-all-of-a-customer-s-billing-profiles
    and https://learn.microsoft.com/en-us/partner-center/developer/utility-resources#address."""
    by_id = {record.external_id: record for record in connect().pull().customers}
    utrecht = [record for record in by_id.values() if record.country == "NL"]
    assert utrecht and all((r.street, r.city, r.postal_code) == ("Stationsplein 12", "Utrecht", "3511 ED")
                           for r in utrecht)
    assert all(record.city for record in by_id.values())
