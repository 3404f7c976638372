"""The Pax8 sandbox speaks the documented wire contract (distributors.md §2, §7.1), and the connector stays inside it.

``CONTRACT`` is the one table of documented paths, query parameters and response fields; it is asserted against
what the sandbox serves and against every request the production connector makes during a full pull.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.http import HttpPolicy
from connectors.pax8 import Pax8Connector
from sandbox import pax8
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_distributors import Pax8World, month_start_of, pax8_world

NOW = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)
SEED = 2

SUBSCRIPTION = ("id", "companyId", "productId", "parentSubscriptionId", "vendorSubscriptionId", "vendorSkuId",
                "quantity", "startDate", "endDate", "createdDate", "updatedDate", "billingStart", "status", "price",
                "partnerCost", "currencyCode", "productName", "billingTerm", "commitmentTerm", "provisioningDetails")
COMPANY = ("id", "name", "address", "phone", "website", "externalId", "billOnBehalfOfEnabled", "selfServiceAllowed",
           "orderApprovalRequired", "status", "updatedDate", "contacts")
INVOICE = ("id", "invoiceDate", "dueDate", "balance", "carriedBalance", "total", "currencyCode", "partnerName",
           "companyId", "externalId", "status")
INVOICE_ITEM = ("id", "companyId", "companyName", "externalId", "purchaseOrderNumber", "type", "startPeriod",
                "endPeriod", "quantity", "unitOfMeasure", "term", "sku", "description", "details", "productId",
                "productName", "vendorName", "rateType", "chargeType", "price", "subTotal", "total", "cost",
                "costTotal", "offeredBy", "billedByPax8", "billingFee", "billingFeeRate", "amountDue", "currencyCode",
                "salesTax", "subscriptionId")
USAGE_SUMMARY = ("id", "companyId", "productId", "subscriptionId", "resourceGroup", "vendorName", "currentCharges",
                 "partnerTotal", "currencyCode", "isTrial")
USAGE_LINE = ("usageSummaryId", "usageDate", "productName", "productId", "unitOfMeasure", "quantity",
              "currentCharges", "currentProfit", "partnerTotal", "unitPrice", "currencyCode", "isTrial")
PRICING = ("billingTerm", "commitmentTerm", "commitmentTermInMonths", "type", "unitOfMeasurement", "rates")
PAGE = ("size", "totalElements", "totalPages", "number")

# path template, documented query parameters (distributors.md §2.2), documented fields of each returned object
CONTRACT: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("/companies", ("page", "size", "sort", "city", "country", "stateOrProvince", "postalCode", "selfServiceAllowed",
                    "billOnBehalfOfEnabled", "orderApprovalRequired", "status"), COMPANY),
    ("/companies/{companyId}", (), COMPANY),
    ("/subscriptions", ("page", "size", "sort", "status", "billingTerm", "companyId", "productId"), SUBSCRIPTION),
    ("/subscriptions/{subscriptionId}", (), SUBSCRIPTION),
    ("/subscriptions/{subscriptionId}/history", (), ("id", "action", "date", "quantity", "previousQuantity")),
    ("/products/{productId}", (), ("id", "name")),
    ("/products/{productId}/pricing", ("companyId",), PRICING),
    ("/invoices", ("page", "size", "sort", "status", "invoiceDate", "invoiceDateRangeStart", "invoiceDateRangeEnd",
                   "dueDate", "total", "balance", "carriedBalance", "companyId"), INVOICE),
    ("/invoices/{invoiceId}", (), INVOICE),
    ("/invoices/{invoiceId}/items", ("page", "size"), INVOICE_ITEM),
    ("/invoices/draftItems", ("page", "size", "monthOffset", "companyId"), INVOICE_ITEM),
    ("/invoices/draft-items", ("page", "size", "monthOffset", "companyId"), INVOICE_ITEM),
    ("/subscriptions/{subscriptionId}/usage-summaries", ("page", "size", "sort", "resourceGroup", "companyId"),
     USAGE_SUMMARY),
    ("/usage-summaries/{usageSummaryId}", (), USAGE_SUMMARY),
    ("/usage-summaries/{usageSummaryId}/usage-lines", ("usageDate", "productId", "page", "size"), USAGE_LINE),
)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def server(clock: Clock) -> Iterator[SandboxServer]:
    with SandboxServer(pax8.build(clock, seed=SEED), prefix=pax8.PREFIX) as running:
        yield running


@pytest.fixture
def world() -> Pax8World:
    return pax8_world(SEED, month_start_of(NOW))


def base(server: SandboxServer) -> str:
    return f"{server.url}{pax8.PREFIX}"


def token(server: SandboxServer) -> str:
    body = {"client_id": pax8.CREDENTIALS["client_id"], "client_secret": pax8.CREDENTIALS["client_secret"],
            "grant_type": "client_credentials", "audience": "https://api.pax8.com"}
    response = requests.post(f"{base(server)}/token", json=body, timeout=5)
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "expires_in", "token_type"}
    return response.json()["access_token"]


def get(server: SandboxServer, path: str, bearer: str | None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return requests.get(f"{base(server)}{path}", params=params, headers=headers, timeout=5)


def admin(server: SandboxServer, route: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/__admin/{route}", json=body, timeout=5)


def template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template)))


def concrete(template: str, world: Pax8World) -> tuple[str, dict[str, str]]:
    """A request for a contract row: placeholders filled from the world, documented filters given real values."""
    azure = world.named["azure"]
    summary = world.usage_summaries[0]["id"]
    ids = {"{companyId}": world.companies[0]["id"], "{subscriptionId}": azure if "usage" in template
           else world.named["monthly_nce"], "{productId}": world.subscriptions[0]["productId"],
           "{invoiceId}": world.invoices[0]["id"], "{usageSummaryId}": summary}
    path = template
    for placeholder, value in ids.items():
        path = path.replace(placeholder, value)
    params = {"page": "0", "size": "5"} if template.endswith(("s", "items", "Items", "lines")) else {}
    if template.endswith("usage-lines"):
        params["usageDate"] = (NOW - dt.timedelta(days=2)).date().isoformat()
    if template == "/invoices":
        params.update(invoiceDateRangeStart="2026-01-01", invoiceDateRangeEnd="2026-12-31")
    if template.startswith("/invoices/draft"):
        params["monthOffset"] = "0"
    if template == "/subscriptions":
        params.update(sort="quantity,desc", status="Active")
    return path, params


@pytest.mark.parametrize("template, documented, fields", CONTRACT, ids=[row[0] for row in CONTRACT])
def test_sandbox_serves_the_documented_contract(server: SandboxServer, world: Pax8World, template: str,
                                                documented: tuple[str, ...], fields: tuple[str, ...]) -> None:
    bearer = token(server)
    path, params = concrete(template, world)
    assert set(params) <= set(documented)

    response = get(server, path, bearer, **params)

    assert response.status_code == 200, response.text
    body = response.json()
    objects = body.get("content", [body])
    if "page" in body:
        assert set(body["page"]) == set(PAGE) and body["page"]["number"] == 0
    assert objects, f"{template} served nothing to check"
    for item in objects:
        missing = set(fields) - set(item)
        assert not missing, f"{template}: missing {sorted(missing)}"


def test_connector_requests_stay_inside_the_contract(server: SandboxServer) -> None:
    connector = Pax8Connector(base(server), pax8.CREDENTIALS["client_id"], pax8.CREDENTIALS["client_secret"],
                              page_size=7, policy=HttpPolicy(read_timeout=2.0, retries=1, backoff_factor=0.01))
    sent: list[tuple[str, dict[str, list[str]]]] = []
    connector.session.hooks["response"].append(
        lambda response, *args, **kwargs: sent.append((response.request.method, parse_qs(urlsplit(
            response.request.url).query))))

    connector.pull_licences()
    connector.pull_cost_lines(dt.date(2026, 5, 1), dt.date(2026, 5, 31))

    rows = [(template_regex(template), set(documented)) for template, documented, _ in CONTRACT]
    requested = [(method, path) for method, path in server.app.calls if not path.startswith("/__admin/")]
    assert requested[0] == ("POST", "/token")
    assert {path for _, path in requested} >= {"/companies", "/subscriptions", "/invoices"}
    for (method, path), (sent_method, query) in zip(requested, sent, strict=True):
        assert method == sent_method
        if path == "/token":
            continue
        documented = next((params for pattern, params in rows if pattern.fullmatch(path)), None)
        assert documented is not None, f"{method} {path} is not a documented Pax8 path"
        assert set(query) <= documented, f"{path}: undocumented parameters {set(query) - documented}"


def test_auth_errors_use_the_real_envelopes(server: SandboxServer) -> None:
    refused = requests.post(f"{base(server)}/token", json={"client_id": "x", "client_secret": "y",
                                                           "grant_type": "client_credentials",
                                                           "audience": "https://api.pax8.com"}, timeout=5)
    assert (refused.status_code, refused.json()) == (401, {"error": "access_denied",
                                                           "error_description": "Unauthorized"})

    missing = get(server, "/subscriptions", None)

    assert missing.status_code == 401
    assert set(missing.json()) == {"type", "message", "instance", "status", "details"}
    assert missing.json()["instance"] == f"{pax8.PREFIX}/subscriptions" and missing.json()["status"] == 401


def test_token_lives_24_hours(server: SandboxServer) -> None:
    body = {"client_id": pax8.CREDENTIALS["client_id"], "client_secret": pax8.CREDENTIALS["client_secret"],
            "grant_type": "client_credentials", "audience": "https://api.pax8.com"}

    issued = requests.post(f"{base(server)}/token", json=body, timeout=5).json()

    assert (issued["expires_in"], issued["token_type"]) == (86400, "Bearer")


def test_camel_case_token_variant(server: SandboxServer) -> None:
    response = requests.post(f"{base(server)}/auth/token", json={
        "clientId": pax8.CREDENTIALS["client_id"], "clientSecret": pax8.CREDENTIALS["client_secret"],
        "audience": "api://p8p.client", "grantType": "client_credentials"}, timeout=5)

    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiresIn", "tokenType", "expiresAt"}


def test_paging_defaults_limits_and_filters(server: SandboxServer, world: Pax8World) -> None:
    bearer = token(server)
    default = get(server, "/subscriptions", bearer).json()
    assert default["page"] == {"size": 10, "totalElements": len(world.subscriptions),
                               "totalPages": -(-len(world.subscriptions) // 10), "number": 0}
    assert get(server, "/subscriptions", bearer, size=201).status_code == 422
    assert get(server, "/subscriptions", bearer, size=200).json()["page"]["totalPages"] == 1
    admin(server, "pax8/settings", {"oversize": "clamp"})
    assert get(server, "/subscriptions", bearer, size=500).json()["page"]["size"] == 200

    company = world.companies[0]["id"]
    mine = get(server, "/subscriptions", bearer, companyId=company, size=50).json()["content"]
    assert mine and {s["companyId"] for s in mine} == {company}
    annual = get(server, "/subscriptions", bearer, billingTerm="Annual", size=200).json()["content"]
    assert annual and {s["billingTerm"] for s in annual} == {"Annual"}
    ordered = get(server, "/subscriptions", bearer, sort="quantity,desc", size=200).json()["content"]
    assert [s["quantity"] for s in ordered] == sorted((s["quantity"] for s in ordered), reverse=True)
    assert get(server, "/subscriptions", bearer, sort="colour").status_code == 400


def test_seed_data_covers_the_documented_cases(server: SandboxServer) -> None:
    subscriptions = get(server, "/subscriptions", token(server), size=200).json()["content"]
    statuses = {s["status"] for s in subscriptions}
    terms = {s["billingTerm"] for s in subscriptions}
    assert {"Active", "PendingCancel", "Trial", "Cancelled"} <= statuses
    assert {"Monthly", "Annual", "One-Time", "Trial"} <= terms
    assert any(s["commitmentTerm"] is None and s["billingTerm"] == "Monthly" for s in subscriptions)
    assert any((s["commitmentTerm"] or {}).get("term") == "1-Year" and s["commitmentTerm"].get("endDate")
               for s in subscriptions)
    pairs = [(s["companyId"], s["productId"]) for s in subscriptions]
    assert len(pairs) > len(set(pairs))  # one company holds the same product twice
    in_dollars = [s for s in subscriptions if s["currencyCode"] != "EUR"]  # the euro book, and one USD offer
    assert [(s["currencyCode"], s["billingTerm"], s["status"]) for s in in_dollars] == [("USD", "Monthly", "Active")]
    formats = {("Z" if s["startDate"].endswith("Z") else "T" if "T" in s["startDate"] else "date")
               for s in subscriptions}
    assert formats == {"Z", "T", "date"}  # mixed date formats on the wire

    admin(server, "pax8/settings", {"mixed_dates": False})

    uniform = get(server, "/subscriptions", token(server), size=200).json()["content"]
    assert all(s[name].endswith("Z") for s in uniform for name in ("startDate", "createdDate", "updatedDate"))


def test_invoice_knobs(server: SandboxServer) -> None:
    bearer = token(server)
    empty = get(server, "/invoices", bearer, invoiceDateRangeStart="2030-01-01").json()
    assert "content" not in empty and empty["page"]["totalElements"] == 0
    assert all("status" in invoice for invoice in get(server, "/invoices", bearer).json()["content"])

    admin(server, "pax8/settings", {"omit_empty_content": False, "invoice_status": False})

    assert get(server, "/invoices", bearer, invoiceDateRangeStart="2030-01-01").json()["content"] == []
    assert all("status" not in invoice for invoice in get(server, "/invoices", bearer).json()["content"])


def test_usage_lines_need_a_usage_date(server: SandboxServer, world: Pax8World) -> None:
    bearer = token(server)
    summary = world.usage_summaries[0]["id"]

    missing = get(server, f"/usage-summaries/{summary}/usage-lines", bearer)
    daily = get(server, f"/usage-summaries/{summary}/usage-lines", bearer, usageDate="2026-05-03").json()

    assert missing.status_code == 422 and missing.json()["type"] == "UNPROCESSABLE_ENTITY"
    assert len(daily["content"]) == 3 and {line["usageDate"] for line in daily["content"]} == {"2026-05-03"}
    assert get(server, f"/usage-summaries/{summary}/usage-lines", bearer, usageDate="2026-05-20").json()[
        "page"]["totalElements"] == 0  # the future has no usage yet


def test_quantity_mutation_appends_history_and_a_prorate_item(server: SandboxServer, world: Pax8World,
                                                              clock: Clock) -> None:
    bearer = token(server)
    annual = world.named["annual"]
    before = get(server, f"/subscriptions/{annual}", bearer).json()["quantity"]

    assert admin(server, "pax8/quantity", {"subscriptionId": annual, "quantity": before + 4}).status_code == 200

    assert get(server, f"/subscriptions/{annual}", bearer).json()["quantity"] == before + 4
    history = get(server, f"/subscriptions/{annual}/history", bearer).json()["content"]
    assert history[-1]["quantity"] == before + 4 and history[-1]["previousQuantity"] == before
    drafts = get(server, "/invoices/draftItems", bearer, monthOffset=0, size=200).json()["content"]
    prorate = [item for item in drafts if item["type"] == "prorate"]
    assert len(prorate) == 1 and prorate[0]["quantity"] == 4 and prorate[0]["subscriptionId"] == annual
    assert (prorate[0]["startPeriod"], prorate[0]["endPeriod"]) == ("2026-05-12", "2026-05-31")
    admin(server, "pax8/settings", {"history_shape": "spec"})
    assert get(server, f"/subscriptions/{annual}/history", bearer).json()["content"][-1]["id"] == annual


def test_token_lifetime_follows_the_sandbox_clock(server: SandboxServer, clock: Clock) -> None:
    admin(server, "pax8/settings", {"token_ttl": 60})
    bearer = token(server)
    assert get(server, "/companies", bearer).status_code == 200

    clock.advance(seconds=61)

    assert get(server, "/companies", bearer).status_code == 401


def test_rate_limit_with_and_without_retry_after(server: SandboxServer) -> None:
    bearer = token(server)
    admin(server, "pax8/settings", {"rate_limit_per_minute": 2})
    assert [get(server, "/companies", bearer).status_code for _ in range(2)] == [200, 200]
    limited = get(server, "/companies", bearer)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1

    admin(server, "pax8/settings", {"rate_limit_retry_after": False})

    bare = get(server, "/companies", bearer)
    assert bare.status_code == 429 and "Retry-After" not in bare.headers


def test_faults_armed_over_http(server: SandboxServer) -> None:
    bearer = token(server)
    envelope = {"type": "REQUEST_TIMEOUT", "message": "timeout", "instance": "/v1/invoices/draftItems",
                "status": 408, "details": []}
    admin(server, "faults", {"route": "GET /invoices/draftItems", "kind": "status", "status": 408, "body": envelope})
    admin(server, "faults", {"route": "GET /companies", "kind": "expire_token"})

    assert get(server, "/invoices/draftItems", bearer).status_code == 408
    assert get(server, "/invoices/draftItems", bearer).status_code == 200
    assert get(server, "/companies", bearer).status_code == 401
    assert get(server, "/subscriptions", bearer).status_code == 401  # the token stays revoked


def test_same_seed_same_world_other_seed_other_world(clock: Clock) -> None:
    def subscriptions(seed: int) -> Any:
        with SandboxServer(pax8.build(clock, seed=seed), prefix=pax8.PREFIX) as running:
            return get(running, "/subscriptions", token(running), size=200).json()["content"]

    first = subscriptions(9)
    assert subscriptions(9) == first
    assert subscriptions(10) != first
