"""Contract: the Microsoft connectors and sandboxes speak the wire format of reference/microsoft.md, not a dialect.

One table lists every documented request the connectors make (method, path, query parameters, request headers or
body fields) and the documented response fields with their casing. The production connectors run against the
sandboxes; every request they send must match a row, every row must have been used, and every sandbox answer must
carry the documented fields.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from connectors.auth import TokenProvider
from connectors.azure_costs import SCOPE as ARM_SCOPE
from connectors.azure_costs import AzureCosts, customer_scope
from connectors.http import HttpPolicy
from connectors.partner_billing_export import GRAPH_SCOPE, PartnerBillingExport
from connectors.partner_center import SCOPE as PC_SCOPE
from connectors.partner_center import PartnerCenter
from connectors.partner_center_writes import PartnerCenterWrites
from sandbox import cost_management, entra, partner_center
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_microsoft import scenario
from sandbox.tls import TlsFiles
from tests.connectors.conftest import NOW, SEED

WORLD = scenario(SEED, NOW.date().replace(day=1))
# v1 recon line items are read where Microsoft still served them: before 21 April 2025 (sandbox "pc_v1")
V1_NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=dt.UTC)
V1_WORLD = scenario(SEED, V1_NOW.date().replace(day=1))
ANY = None  # a parameter that must be present, with any value
GRAPH = r"/graph/v1\.0/reports/partners/billing"

PC_HEADERS = ("authorization", "accept", "ms-requestid", "ms-correlationid")
PC_COLLECTION = ("totalCount", "items", "links.self.uri", "attributes.objectType")
SUBSCRIPTION_FIELDS = (
    "id",
    "offerId",
    "offerName",
    "quantity",
    "unitType",
    "status",
    "autoRenewEnabled",
    "billingType",
    "billingCycle",
    "termDuration",
    "effectiveStartDate",
    "creationDate",
    "commitmentEndDate",
    "commitmentEndDateTime",
    "billingCycleEndDate",
    "refundableQuantity.totalQuantity",
    "refundableQuantity.details",
    "productType.id",
    "orderId",
    "attributes.etag",
    "attributes.objectType",
)
RECON_FIELDS = (
    "partnerId",
    "customerId",
    "customerName",
    "invoiceNumber",
    "orderId",
    "orderDate",
    "productId",
    "skuId",
    "availabilityId",
    "productName",
    "chargeType",
    "unitPrice",
    "effectiveUnitPrice",
    "unitType",
    "quantity",
    "billableQuantity",
    "subtotal",
    "taxTotal",
    "totalForCustomer",
    "currency",
    "pcToBCExchangeRate",
    "subscriptionId",
    "subscriptionStartDate",
    "subscriptionEndDate",
    "chargeStartDate",
    "chargeEndDate",
    "billingFrequency",
    "referenceId",
    "attributes.objectType",
)


@dataclass(frozen=True)
class Row:
    name: str
    sandbox: str  # "entra" | "pc" | "arm"
    method: str
    path: str  # regex over the path below the sandbox prefix
    query: dict[str, str | None]  # documented parameters the connector sends (value None = any)
    request: tuple[str, ...]  # request headers (lower case) or, for POST bodies, dotted body fields
    response: tuple[str, ...]  # dotted JSON response fields (``items.0.x`` = first item's x)
    status: int = 200
    response_headers: tuple[str, ...] = ()


CONTRACT: tuple[Row, ...] = (
    Row(
        "OIDC discovery",
        "entra",
        "GET",
        r"/[^/]+/v2\.0/\.well-known/openid-configuration",
        {},
        (),
        ("issuer", "authorization_endpoint", "token_endpoint"),
    ),
    Row(
        "token (client credentials)",
        "entra",
        "POST",
        r"/[^/]+/oauth2/v2\.0/token",
        {},
        ("client_id", "client_secret", "grant_type=client_credentials", "scope"),
        ("token_type", "expires_in", "ext_expires_in", "access_token"),
    ),
    Row(
        "customers",
        "pc",
        "GET",
        r"/v1/customers",
        {"size": ANY},
        PC_HEADERS,
        (
            *PC_COLLECTION,
            "links.next.uri",
            "links.next.headers",
            "items.0.id",
            "items.0.companyProfile.tenantId",
            "items.0.companyProfile.companyName",
            "items.0.companyProfile.domain",
            "items.0.attributes.objectType",
        ),
    ),
    Row(
        "customers, next page",
        "pc",
        "GET",
        r"/v1/customers",
        {"size": ANY, "seekOperation": "Next"},
        (*PC_HEADERS, "ms-continuationtoken"),
        PC_COLLECTION,
    ),
    Row(
        "subscriptions",
        "pc",
        "GET",
        r"/v1/customers/[0-9a-f-]{36}/subscriptions",
        {},
        PC_HEADERS,
        (*PC_COLLECTION, *(f"items.0.{f}" for f in SUBSCRIPTION_FIELDS)),
    ),
    Row(
        "invoices",
        "pc",
        "GET",
        r"/v1/invoices",
        {"size": ANY},
        PC_HEADERS,
        (*PC_COLLECTION, "items.0.id", "items.0.billingPeriodStartDate", "items.0.billingPeriodEndDate",
         "items.0.invoiceDate", "items.0.currencyCode", "items.0.attributes.objectType"),
    ),
    Row(
        "invoices, next page",
        "pc",
        "GET",
        r"/v1/invoices",
        {"size": ANY, "offset": ANY},
        PC_HEADERS,
        (*PC_COLLECTION, "items.0.id", "items.0.billingPeriodStartDate", "items.0.billingPeriodEndDate"),
    ),
    Row(
        "unbilled recon line items",
        "pc_v1",
        "GET",
        r"/v1/invoices/unbilled/lineitems",
        {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": "EUR",
            "period": "current",
            "size": ANY,
        },
        PC_HEADERS,
        (*PC_COLLECTION, *(f"items.0.{f}" for f in RECON_FIELDS)),
    ),
    Row(
        "billed recon line items",
        "pc_v1",
        "GET",
        r"/v1/invoices/G[0-9]+/lineitems",
        {"provider": "onetime", "invoicelineitemtype": "billinglineitems", "currencycode": "EUR", "size": ANY},
        PC_HEADERS,
        (*PC_COLLECTION, *(f"items.0.{f}" for f in RECON_FIELDS)),
    ),
    Row(
        "customer by id",
        "pc",
        "GET",
        r"/v1/customers/[0-9a-f-]{36}",
        {},
        PC_HEADERS,
        ("id", "companyProfile.tenantId", "companyProfile.companyName", "attributes.objectType"),
    ),
    Row(
        "subscription by id",
        "pc",
        "GET",
        r"/v1/customers/[0-9a-f-]{36}/subscriptions/[0-9a-f-]{36}",
        {},
        PC_HEADERS,
        SUBSCRIPTION_FIELDS,
    ),
    Row(
        "subscription update (full object with etag)",
        "pc",
        "PATCH",
        r"/v1/customers/[0-9a-f-]{36}/subscriptions/[0-9a-f-]{36}",
        {},
        (*PC_HEADERS, "id", "offerId", "quantity", "status", "attributes.etag"),
        SUBSCRIPTION_FIELDS,
    ),
    Row(
        "transition eligibilities (immediate)",
        "pc",
        "GET",
        r"/v1/customers/[0-9a-f-]{36}/subscriptions/[0-9a-f-]{36}/transitioneligibilities",
        {"eligibilityType": "immediate"},
        PC_HEADERS,
        ("totalCount", "items.0.catalogItemId", "items.0.title", "items.0.eligibilities.0.isEligible",
         "items.0.eligibilities.0.transitionType", "items.0.eligibilities.0.errors"),
    ),
    Row(
        "transition (upgrade)",
        "pc",
        "POST",
        r"/v1/customers/[0-9a-f-]{36}/subscriptions/[0-9a-f-]{36}/transitions",
        {},
        (*PC_HEADERS, "toCatalogItemId", "quantity", "transitionType"),
        ("id", "fromSubscriptionId", "toSubscriptionId", "toCatalogItemId", "quantity", "transitionType", "status"),
    ),
    Row(
        "transitions of a subscription",
        "pc",
        "GET",
        r"/v1/customers/[0-9a-f-]{36}/subscriptions/[0-9a-f-]{36}/transitions",
        {},
        PC_HEADERS,
        ("totalCount", "items.0.id", "items.0.status", "items.0.toCatalogItemId", "items.0.quantity"),
    ),
    Row(
        "recon export, unbilled (Graph)",
        "pc",
        "POST",
        rf"{GRAPH}/reconciliation/unbilled/export",
        {},
        ("authorization", "currencyCode", "billingPeriod", "attributeSet"),
        (),
        202,
        ("Location",),
    ),
    Row(
        "recon export, billed (Graph)",
        "pc",
        "POST",
        rf"{GRAPH}/reconciliation/billed/export",
        {},
        ("authorization", "invoiceId", "attributeSet"),
        (),
        202,
        ("Location",),
    ),
    Row(
        "export operation (Graph)",
        "pc",
        "GET",
        rf"{GRAPH}/operations/[0-9a-f-]{{36}}",
        {},
        ("authorization",),
        ("@odata.type", "id", "status", "createdDateTime", "resourceLocation@odata.navigationLink"),
    ),
    Row(
        "export manifest (Graph)",
        "pc",
        "GET",
        rf"{GRAPH}/manifests/[0-9a-f-]{{36}}",
        {},
        ("authorization",),
        (
            "id",
            "schemaVersion",
            "dataFormat",
            "createdDateTime",
            "eTag",
            "partnerTenantId",
            "rootDirectory",
            "sasToken",
            "partitionType",
            "blobCount",
            "blobs.0.name",
            "blobs.0.partitionValue",
        ),
    ),
    Row(
        "export blob (SAS, no bearer)",
        "pc",
        "GET",
        r"/blob/exports/[0-9a-f-]{36}/part-\d+\.json\.gz",
        {"sv": ANY, "sr": ANY, "sp": ANY, "sig": ANY},
        (),
        (),
    ),
    Row(
        "cost query",
        "arm",
        "POST",
        r"/providers/Microsoft\.Billing/billingAccounts/[^/]+/customers/[^/]+"
        r"/providers/Microsoft\.CostManagement/query",
        {"api-version": ANY},
        (
            "type=ActualCost",
            "timeframe=Custom",
            "timePeriod.from",
            "timePeriod.to",
            "dataset.granularity",
            "dataset.aggregation",
            "dataset.grouping",
            "dataset.filter",
        ),
        ("id", "name", "type", "properties.nextLink", "properties.columns", "properties.rows"),
    ),
    Row(
        "cost query, next page",
        "arm",
        "POST",
        r"/providers/Microsoft\.Billing/billingAccounts/[^/]+/customers/"
        r"[^/]+/providers/Microsoft\.CostManagement/query",
        {"api-version": ANY, "$skiptoken": ANY},
        ("type", "dataset.aggregation"),
        ("properties.columns", "properties.rows"),
    ),
    Row(
        "meters at billing-account scope",
        "arm",
        "POST",
        r"/providers/Microsoft\.Billing/billingAccounts/[^/]+/providers/Microsoft\.CostManagement/query",
        {"api-version": ANY},
        ("type", "dataset.grouping"),
        ("properties.columns", "properties.rows"),
    ),
    Row(
        "billing customers",
        "arm",
        "GET",
        r"/providers/Microsoft\.Billing/billingAccounts/[^/]+/customers",
        {"api-version": "2020-05-01"},
        ("authorization",),
        (
            "value.0.id",
            "value.0.name",
            "value.0.properties.displayName",
            "value.0.properties.billingProfileId",
            "value.0.properties.tenantId",
            "nextLink",
        ),
    ),
)


def dig(document: Any, dotted: str) -> Any:
    """The value at a dotted path (numeric parts index lists); raises KeyError naming the path when absent."""
    value = document
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        rest = ".".join(parts[index:])
        if isinstance(value, dict) and rest in value:  # keys with dots, such as "@odata.type"
            return value[rest]
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(dotted)
    return value


def request_fields(received: Any) -> dict[str, Any]:
    """Headers plus the body's fields (JSON or form), so one row can name either."""
    fields: dict[str, Any] = dict(received.headers)
    if received.body:
        try:
            fields.update(json.loads(received.body))
        except ValueError:
            fields.update({k: v[0] for k, v in parse_qs(received.body.decode()).items()})
    return fields


def satisfies(received: Any, row: Row) -> bool:
    if received.method != row.method or not re.fullmatch(row.path, received.path, re.IGNORECASE):
        return False
    query = {k: v[0] for k, v in received.query.items()}
    if set(query) != set(row.query):
        return False
    if any(want is not ANY and query[name] != want for name, want in row.query.items()):
        return False
    fields = request_fields(received)
    for need in row.request:
        name, _, want = need.partition("=")
        try:
            value = dig(fields, name)
        except KeyError:
            return False
        if want and value != want:
            return False
    return True


@pytest.fixture(scope="module")
def traffic(tls: TlsFiles) -> Iterator[dict[str, SandboxServer]]:
    """Run every connector entry point once (with paging) and hand back the servers with what they received.

    Module-scoped: the traffic is read-only evidence shared by the assertions below. The ARM quotas are relaxed so
    reading every customer does not wait on the QPU or per-scope buckets (that wait is tested in test_azure_costs).
    """
    clock = Clock(NOW)
    apps = {
        "entra": (entra.build(clock, SEED), entra.PREFIX),
        "pc": (partner_center.build(clock, SEED), partner_center.PREFIX),
        "pc_v1": (partner_center.build(Clock(V1_NOW), SEED), partner_center.PREFIX),
        "arm": (
            cost_management.build(clock, SEED, qpu_buckets=(("QueriesPer10Sec", 1000, 1.0),),
                                  entity_buckets=(("QueriesPerMin", 1000, 1.0),)),
            cost_management.PREFIX,
        ),
    }
    servers = {name: SandboxServer(app, tls=tls, prefix=prefix).start() for name, (app, prefix) in apps.items()}
    try:
        policy = contract_policy(tls)
        pc = PartnerCenter(
            f"{servers['pc'].url}/pc",
            tokens(servers["entra"], PC_SCOPE, policy),
            account_id="p",
            currency="EUR",
            policy=policy,
            page_size=2,
        )
        pc.pull()
        pc.invoices()
        pc_v1 = PartnerCenter(f"{servers['pc_v1'].url}/pc", tokens(servers["entra"], PC_SCOPE, policy),
                              account_id="p", currency="EUR", policy=policy, page_size=2)
        pc_v1.unbilled_line_items("EUR", "current")
        pc_v1.billed_line_items(V1_WORLD.invoice_id(dt.date(2025, 2, 1)), "EUR")
        owner = next(c for c in WORLD.customers if c.subscriptions[0].purchased_at <= NOW)
        first = owner.subscriptions[0]
        writes = PartnerCenterWrites(f"{servers['pc'].url}/pc", tokens(servers["entra"], PC_SCOPE, policy),
                                     account_id="p", currency="EUR", policy=policy)
        writes.change_quantity(owner.id, first.id, first.quantity_at(NOW) + 1, request_id="contract-1")
        upgrade = next(t for t in writes.transition_eligibilities(owner.id, first.id) if t.eligible)
        writes.transition(owner.id, first.id, upgrade.catalog_item_id, 1, "transition_only", "contract-2")
        writes.transitions(owner.id, first.id)
        graph_tokens = tokens(servers["entra"], GRAPH_SCOPE, policy)
        export = PartnerBillingExport(
            f"{servers['pc'].url}/graph/v1.0", graph_tokens, policy=policy, poll_interval=0.01
        )
        export.unbilled("EUR", "current")
        export.billed(WORLD.invoice_id(dt.date(2026, 4, 1)))
        servers["arm"].app.faults.arm("POST .*/query", "paginate", times=-1, body={"size": 200})
        AzureCosts(servers["arm"].url, tokens(servers["entra"], ARM_SCOPE, policy), policy=policy).pull(
            WORLD.billing_account_id, dt.date(2026, 5, 1), dt.date(2026, 5, 19)
        )
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def contract_policy(tls: TlsFiles) -> HttpPolicy:
    return HttpPolicy(retries=1, backoff_factor=0.01, read_timeout=5.0, verify=str(tls.ca_cert))


def tokens(entra_server: SandboxServer, scope: str, policy: HttpPolicy) -> TokenProvider:
    return TokenProvider(
        "contract",
        f"{entra_server.url}/{entra.CREDENTIALS['tenant_id']}",
        entra.CREDENTIALS["client_id"],
        entra.CREDENTIALS["client_secret"],
        scope,
        policy=policy,
    )


def test_every_request_the_connectors_send_is_documented(traffic: dict[str, SandboxServer]) -> None:
    for sandbox, server in traffic.items():
        rows = [row for row in CONTRACT if row.sandbox == sandbox]
        for received in server.app.received:
            if received.path.startswith("/__admin/"):
                continue
            assert any(satisfies(received, row) for row in rows), (
                f"{sandbox}: undocumented request {received.method} {received.path} {received.query}"
            )


@pytest.mark.parametrize("row", CONTRACT, ids=[row.name for row in CONTRACT])
def test_each_documented_request_is_used_and_answered_with_documented_fields(
    traffic: dict[str, SandboxServer], tls: TlsFiles, row: Row
) -> None:
    server = traffic[row.sandbox]
    matching = [r for r in server.app.received if satisfies(r, row)]
    assert matching, f"the connectors never sent {row.name}"
    sample = matching[0]
    scope = GRAPH_SCOPE if "/graph/" in row.path else {"pc": PC_SCOPE, "pc_v1": PC_SCOPE,
                                                       "arm": ARM_SCOPE}.get(row.sandbox)
    if row.path.startswith("/blob/"):
        scope = None
    policy = contract_policy(tls)
    token = tokens(traffic["entra"], scope, policy).token() if scope else None
    replay = _replay(server, sample, policy, token, row.sandbox)
    assert replay.status_code == row.status, replay.text
    assert all(header in replay.headers for header in row.response_headers)
    if row.path.startswith("/blob/"):
        assert "authorization" not in sample.headers
    body = replay.json() if row.response else {}
    missing = [field for field in row.response if not _present(body, field)]
    assert not missing, f"{row.name}: response lacks documented fields {missing}"


def _present(body: Any, field: str) -> bool:
    try:
        dig(body, field)
    except KeyError:
        return False
    return True


def _replay(
    server: SandboxServer, received: Any, policy: HttpPolicy, token: str | None, sandbox: str
) -> requests.Response:
    """Send the recorded request again (fresh token) to read the answer the connector got."""
    prefix = "/pc" if sandbox in ("pc", "pc_v1") and received.path.startswith("/v1/") else ""
    headers = {k: v for k, v in received.headers.items() if k not in ("host", "content-length", "authorization")}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if sandbox == "entra" and received.method == "POST":
        headers["content-type"] = "application/x-www-form-urlencoded"
    query = {k: v[0] for k, v in received.query.items()}
    return requests.request(
        received.method,
        f"{server.url}{prefix}{received.path}",
        params=query,
        headers=headers,
        data=received.body or None,
        verify=policy.verify,
        timeout=5,
    )


def test_continuation_token_travels_unmodified_as_a_header(traffic: dict[str, SandboxServer]) -> None:
    pages = [r for r in traffic["pc"].app.received if r.query.get("seekOperation") == ["Next"]]
    assert pages
    for page in pages:
        token = page.headers["ms-continuationtoken"]
        assert all(ch in token for ch in ",/+=") and token not in str(page.query)


def test_sandbox_refuses_requests_without_a_bearer(
    pc_server: SandboxServer, arm_server: SandboxServer, policy: HttpPolicy
) -> None:
    pc = requests.get(f"{pc_server.url}/pc/v1/customers?size=1", verify=policy.verify, timeout=5)
    assert pc.status_code == 401 and "Bearer" in pc.headers["WWW-Authenticate"]
    arm = requests.post(
        f"{arm_server.url}/{customer_scope(WORLD.billing_account_id, 'x')}/providers/"
        "Microsoft.CostManagement/query?api-version=2025-03-01",
        json={},
        verify=policy.verify,
        timeout=5,
    )
    assert arm.status_code == 401 and arm.json()["error"]["code"] == "AuthenticationFailed"
    assert entra.CREDENTIALS["client_secret"] not in pc.text + arm.text
