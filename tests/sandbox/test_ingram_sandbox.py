"""The Ingram CMP sandbox speaks the documented wire contract (distributors.md §3, §7.2); the connector stays inside it.

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
from connectors.ingram import IngramConnector
from sandbox import ingram
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_distributors import IngramWorld, ingram_world, month_start_of

NOW = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)
SEED = 4
KEY = {"X-Subscription-Key": ingram.CREDENTIALS["subscription_key"]}

LIST_ITEM = ("id", "name", "customerId", "status", "attributes", "renewalStatus", "creationDate", "renewalDate",
             "lastModifiedDate")
DETAILED = (*LIST_ITEM, "planId", "totalPrice", "totalSubscriptionPrice", "totalSubscriptionCost",
            "totalSubscriptionProviderCost", "orderParameters", "fulfillmentParameters", "products",
            "expirationDate", "billingPeriod", "subscriptionPeriod", "billingModel")
PRODUCT = ("id", "mpn", "vendor", "name", "quantity", "unitPrice", "unitCost", "unitProviderCost", "extendedPrice",
           "vendorSubscriptionId", "totalSubscriptionPrice", "totalSubscriptionCost", "totalSubscriptionProviderCost")
CUSTOMER = ("id", "externalId", "name", "status", "address", "contactPersons", "language", "taxRegId", "attributes")
ORDER = ("id", "type", "status", "details")
PLAN = ("id", "subscriptionPeriods", "billingPeriod", "billingModel", "planSwitches")
REPORT = ("id", "name", "type", "format", "status", "startDate", "endDate", "downloadUrl")

# path template, documented query parameters (distributors.md §3.2, §7.2), documented fields of each returned object
CONTRACT: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("/customers", ("offset", "limit", "name", "email", "externalId", "resellerId"), CUSTOMER),
    ("/customers/{customerId}", (), CUSTOMER),
    ("/subscriptions", ("offset", "limit", "customerId", "status", "creationDateFrom", "creationDateTo"), LIST_ITEM),
    ("/subscriptions/{subscriptionId}", (), DETAILED),
    ("/orders", ("offset", "limit", "customerId", "subscriptionId", "orderNumber", "status", "statusCode",
                 "creationTimeFrom", "creationTimeTo"), ORDER),
    ("/orders/{orderId}", (), ORDER),
    ("/plans/{planId}", (), PLAN),
    ("/reports", ("offset", "limit"), REPORT),
    ("/reports/{reportId}", (), REPORT),
)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def server(clock: Clock) -> Iterator[SandboxServer]:
    with SandboxServer(ingram.build(clock, seed=SEED), prefix=ingram.PREFIX) as running:
        yield running


@pytest.fixture
def world() -> IngramWorld:
    return ingram_world(SEED, month_start_of(NOW))


def base(server: SandboxServer) -> str:
    return f"{server.url}{ingram.PREFIX}"


def issue(server: SandboxServer, headers: dict[str, str] | None = None, marketplace: str = "us",
          password: str = ingram.CREDENTIALS["password"]) -> requests.Response:
    return requests.post(f"{base(server)}/token", json={"marketplace": marketplace},
                         auth=(ingram.CREDENTIALS["username"], password),
                         headers=KEY if headers is None else headers, timeout=5)


def token(server: SandboxServer) -> str:
    response = issue(server)
    assert response.status_code == 200 and set(response.json()) == {"token", "expiresInSeconds"}
    return response.json()["token"]


def get(server: SandboxServer, path: str, bearer: str | None, key: bool = True, **params: Any) -> requests.Response:
    headers = {**(KEY if key else {}), **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    return requests.get(f"{base(server)}{path}", params=params, headers=headers, timeout=5)


def admin(server: SandboxServer, route: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/__admin/ingram/{route}", json=body, timeout=5)


def template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template)))


@pytest.mark.parametrize("template, documented, fields", CONTRACT, ids=[row[0] for row in CONTRACT])
def test_sandbox_serves_the_documented_contract(server: SandboxServer, world: IngramWorld, template: str,
                                                documented: tuple[str, ...], fields: tuple[str, ...]) -> None:
    bearer = token(server)
    ids = {"{customerId}": world.customers[0]["id"], "{subscriptionId}": world.named["two_products"],
           "{planId}": world.subscriptions[0]["planId"], "{reportId}": world.reports[0]["id"],
           "{orderId}": get(server, "/orders", bearer).json()["data"][0]["id"]}
    path = template
    for placeholder, value in ids.items():
        path = path.replace(placeholder, value)
    params = {"offset": "0", "limit": "5"} if "{" not in template else {}
    assert set(params) <= set(documented)

    response = get(server, path, bearer, **params)

    assert response.status_code == 200, response.text
    assert response.headers.get("X-Correlation-ID")
    body = response.json()
    objects = body.get("data", [body])
    if "pagination" in body:
        assert set(body["pagination"]) == {"offset", "limit", "total"} and body["pagination"]["limit"] == 5
    assert objects
    for item in objects:
        missing = set(fields) - set(item)
        assert not missing, f"{template}: missing {sorted(missing)}"
    if template == "/subscriptions":
        assert all("products" not in item and "quantity" not in item for item in objects)  # no quantities in lists
    if template == "/subscriptions/{subscriptionId}":
        assert len(body["products"]) == 2
        for product in body["products"]:
            assert not set(PRODUCT) - set(product)
            assert isinstance(product["quantity"], int)
            for money in ("unitPrice", "unitCost", "unitProviderCost", "extendedPrice"):
                assert set(product[money]) == {"amount", "currency"}
                assert re.fullmatch(r"-?\d+\.\d{4}", product[money]["amount"])  # string money, four decimals
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", body[name]) for name in (
            "creationDate", "renewalDate", "lastModifiedDate", "expirationDate"))  # date-only


def test_connector_requests_stay_inside_the_contract(server: SandboxServer) -> None:
    connector = IngramConnector(base(server), ingram.CREDENTIALS["username"], ingram.CREDENTIALS["password"],
                                ingram.CREDENTIALS["subscription_key"], page_size=6, detail_workers=1,
                                policy=HttpPolicy(read_timeout=2.0, retries=1, backoff_factor=0.01))
    sent: list[tuple[str, str, dict[str, list[str]], bool]] = []
    connector.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append((
        response.request.method, urlsplit(response.request.url).path, parse_qs(urlsplit(response.request.url).query),
        "X-Subscription-Key" in response.request.headers)))
    admin(server, "settings", {"newer_fields": False})  # the 1.6 shape makes the connector read /plans too

    connector.pull_licences()

    rows = [(template_regex(template), set(documented)) for template, documented, _ in CONTRACT]
    requested = [(method, path) for method, path in server.app.calls if not path.startswith("/__admin/")]
    assert requested[0] == ("POST", "/token")
    assert any(path.startswith("/plans/") for _, path in requested)
    assert len(requested) == len(sent)
    for (method, path), (sent_method, sent_path, query, keyed) in zip(requested, sent, strict=True):
        assert (method, f"{ingram.PREFIX}{path}") == (sent_method, sent_path) and keyed
        if path == "/token":
            continue
        documented = next((params for pattern, params in rows if pattern.fullmatch(path)), None)
        assert documented is not None, f"{method} {path} is not a documented CMP path"
        assert set(query) <= documented, f"{path}: undocumented parameters {set(query) - documented}"


def test_subscription_key_is_required_everywhere(server: SandboxServer) -> None:
    no_key = issue(server, headers={})
    bad_key = issue(server, headers={"X-Subscription-Key": "wrong"})
    bearer = token(server)
    keyless_get = get(server, "/customers", bearer, key=False)

    for response in (no_key, bad_key, keyless_get):
        assert response.status_code == 401 and response.headers.get("X-Correlation-ID")
    assert get(server, "/customers", bearer).status_code == 200


def test_token_needs_basic_auth_and_a_known_marketplace(server: SandboxServer) -> None:
    assert issue(server, password="wrong").status_code == 401
    assert issue(server, marketplace="atlantis").status_code == 400
    assert issue(server).json()["expiresInSeconds"] == 1500
    assert get(server, "/customers", None).status_code == 401
    assert get(server, "/customers", "forged-token").status_code == 401


def test_token_expires_on_the_sandbox_clock(server: SandboxServer, clock: Clock) -> None:
    bearer = token(server)
    clock.advance(seconds=1499)
    assert get(server, "/customers", bearer).status_code == 200

    clock.advance(seconds=2)

    assert get(server, "/customers", bearer).status_code == 401


def test_paging_defaults_clamping_and_filters(server: SandboxServer, world: IngramWorld) -> None:
    bearer = token(server)
    default = get(server, "/subscriptions", bearer).json()
    assert default["pagination"] == {"offset": 0, "limit": 10, "total": len(world.subscriptions)}
    assert len(default["data"]) == 10
    assert get(server, "/subscriptions", bearer, limit=1000).json()["pagination"]["limit"] == 100
    tail = get(server, "/subscriptions", bearer, offset=len(world.subscriptions) - 2).json()["data"]
    assert len(tail) == 2

    customer = world.customers[0]
    mine = get(server, "/subscriptions", bearer, customerId=customer["id"], limit=100).json()["data"]
    assert mine and {s["customerId"] for s in mine} == {customer["id"]}
    held = get(server, "/subscriptions", bearer, status="hold").json()["data"]
    assert [s["id"] for s in held] == [world.named["hold"]]
    late = get(server, "/subscriptions", bearer, creationDateFrom="2026-04-01", limit=100).json()["data"]
    assert all(s["creationDate"] >= "2026-04-01" for s in late)
    by_reference = get(server, "/customers", bearer, externalId=customer["externalId"]).json()["data"]
    assert [c["id"] for c in by_reference] == [customer["id"]]
    assert get(server, "/customers", bearer, name=customer["name"][:6]).json()["pagination"]["total"] >= 1


def test_quantity_change_is_served_and_recorded_as_a_change_order(server: SandboxServer, world: IngramWorld,
                                                                  clock: Clock) -> None:
    bearer = token(server)
    subscription = world.named["two_products"]
    addon = world.subscriptions[1]["products"][1]["id"]
    before = next(p["quantity"] for p in get(server, f"/subscriptions/{subscription}", bearer).json()["products"]
                  if p["id"] == addon)
    changed = admin(server, "quantity", {"subscriptionId": subscription, "productId": addon,
                                         "quantity": before - 1})
    assert changed.status_code == 200

    detail = get(server, f"/subscriptions/{subscription}", bearer).json()
    assert next(p["quantity"] for p in detail["products"] if p["id"] == addon) == before - 1
    assert detail["lastModifiedDate"] == NOW.date().isoformat()
    orders = get(server, "/orders", bearer, subscriptionId=subscription, creationTimeFrom=NOW.date().isoformat(),
                 limit=100).json()["data"]
    assert orders and orders[-1]["type"] == "change"
    assert [d["type"] for d in orders[-1]["details"]] == ["downgrade", "recurringRefund"]
    assert get(server, f"/orders/{orders[-1]['id']}", bearer).json() == orders[-1]


def test_plans_carry_the_periods_for_the_old_detail_shape(server: SandboxServer, world: IngramWorld) -> None:
    bearer = token(server)
    admin(server, "settings", {"newer_fields": False})

    detail = get(server, f"/subscriptions/{world.named['monthly']}", bearer).json()
    plan = get(server, f"/plans/{detail['planId']}", bearer).json()

    assert not {"expirationDate", "billingPeriod", "subscriptionPeriod", "billingModel"} & set(detail)
    assert plan["billingPeriod"] == {"type": "month", "duration": 1} and len(plan["subscriptionPeriods"]) == 1


def test_report_download_url_points_back_at_the_sandbox(server: SandboxServer) -> None:
    bearer = token(server)
    report = get(server, "/reports", bearer).json()["data"][0]

    download = requests.get(report["downloadUrl"], timeout=5)

    assert report["downloadUrl"].startswith(base(server))
    assert download.status_code == 200 and download.json()[0]["currency"] == "EUR"


def test_per_key_quota(server: SandboxServer) -> None:
    admin(server, "settings", {"quota_per_minute": 3})
    bearer = token(server)  # the token call counts against the key's quota too
    statuses = [get(server, "/customers", bearer) for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429] and "Retry-After" in statuses[-1].headers


def test_malformed_and_broken_page_knobs(server: SandboxServer, world: IngramWorld) -> None:
    bearer = token(server)
    server.app.faults.arm("GET /subscriptions/.+", kind="malformed", body={"field": "products.0.quantity",
                                                                           "value": "lots"})
    server.app.faults.arm("GET /customers", kind="broken_page")

    detail = get(server, f"/subscriptions/{world.named['monthly']}", bearer).json()
    broken = get(server, "/customers", bearer)

    assert detail["products"][0]["quantity"] == "lots"
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()


def test_same_seed_same_world(clock: Clock) -> None:
    def details(seed: int) -> Any:
        with SandboxServer(ingram.build(clock, seed=seed), prefix=ingram.PREFIX) as running:
            bearer = token(running)
            return [get(running, f"/subscriptions/{s['id']}", bearer).json()
                    for s in get(running, "/subscriptions", bearer, limit=100).json()["data"]]

    first = details(11)
    assert details(11) == first
    assert details(12) != first


def test_empty_attributes_are_a_list_and_plan_ids_are_strings(server: SandboxServer, world: IngramWorld) -> None:
    """As the live API answers (reference distributors.md §3.3: ``"planId": "88213"``; ``attributes`` empty as
    ``[]``). Ingram's public 1.x specification could not be consulted for the 1.6 detail shape; see the report."""
    bearer = token(server)
    listed = get(server, "/subscriptions", bearer, limit=100).json()["data"]
    detail = get(server, f"/subscriptions/{world.named['monthly']}", bearer).json()
    customer = get(server, f"/customers/{detail['customerId']}", bearer).json()
    assert all(item["attributes"] == [] for item in listed) and detail["attributes"] == []
    assert customer["attributes"] == []
    assert isinstance(detail["planId"], str) and detail["planId"].isdigit()
