"""connectors.partner_center_writes against the Partner Center sandbox: the service desk's writes as documented.

- Quantity: https://learn.microsoft.com/en-us/partner-center/developer/change-the-quantity-of-a-subscription
  (PATCH the full subscription with its etag; ``MS-RequestId`` makes a repeated write answer the first result).
- Errors: https://learn.microsoft.com/en-us/partner-center/developer/error-codes (``{code, description}``; ``800090``
  quantity cannot be decreased, ``2055`` etag no longer valid, ``900213`` past the cancellation window).
- Upgrades: https://learn.microsoft.com/en-us/partner-center/developer/transition-a-new-commerce-subscription
  (GET ``transitioneligibilities?eligibilityType=immediate``; POST ``transitions`` with ``toCatalogItemId``,
  ``quantity``, ``transitionType``) and https://learn.microsoft.com/en-us/partner-center/developer/get-transitions .
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import requests

from connectors.auth import TokenProvider
from connectors.errors import VendorRefused
from connectors.http import HttpPolicy
from connectors.partner_center import SCOPE
from connectors.partner_center_writes import PartnerCenterWrites
from sandbox.core import SandboxServer
from sandbox.scenario_microsoft import scenario
from sandbox.scenario_microsoft.subscriptions import PRODUCTS
from tests.connectors.conftest import NOW, SEED

WORLD = scenario(SEED, NOW.date().replace(day=1))


@pytest.fixture
def connect(pc_server: SandboxServer, make_tokens: Callable[..., TokenProvider], policy: HttpPolicy
            ) -> Callable[[], PartnerCenterWrites]:
    def make() -> PartnerCenterWrites:
        return PartnerCenterWrites(f"{pc_server.url}/pc", make_tokens(SCOPE), account_id="partner-tenant",
                                   currency="EUR", policy=policy, now=lambda: NOW)

    return make


def first_subscription(open_window: bool) -> tuple[str, str, int]:
    """(customer id, subscription id, seats) of a subscription whose 168-hour window is open or closed at NOW."""
    for customer in WORLD.customers:
        for sub in customer.subscriptions:
            if sub.purchased_at <= NOW and bool(sub.batches_at(NOW)) == open_window and sub.quantity_at(NOW) > 1:
                return customer.id, sub.id, sub.quantity_at(NOW)
    raise AssertionError("scenario has no such subscription")


def test_quantity_increase_applied_exactly_once_when_the_answer_is_lost(connect, pc_server: SandboxServer) -> None:
    customer, subscription, seats = first_subscription(open_window=False)
    pc_server.app.faults.arm("PATCH /v1/customers/.*", "apply_then_drop", times=1)
    pc_server.app.faults.arm("PATCH /v1/customers/.*", "status", after=1, times=1, status=409,
                             body={"code": 800082, "description": "not ready", "data": [], "source": "PartnerFD"})
    licence = connect().change_quantity(customer, subscription, seats + 2, request_id="mutation-17")
    patches = [r for r in pc_server.app.received if r.method == "PATCH"]
    assert len(patches) == 3 and {r.headers["ms-requestid"] for r in patches} == {"mutation-17"}
    assert licence.quantity == seats + 2
    assert any(q == 2 for q, _ in licence.refundable_batches)
    again = connect().subscriptions(next(c for c in connect().customers().customers if c.external_id == customer))
    assert next(lic for lic in again.licences if lic.subscription_external_id == subscription).quantity == seats + 2


def test_reduction_after_the_window_is_refused_with_the_vendor_code(connect) -> None:
    customer, subscription, seats = first_subscription(open_window=False)
    with pytest.raises(VendorRefused, match="800090"):
        connect().change_quantity(customer, subscription, seats - 1, request_id="mutation-18")


def test_cancel_inside_the_window(connect) -> None:
    customer = next(c for c in WORLD.customers for s in c.subscriptions
                    if s.purchased_at <= NOW < s.renewed_at(NOW) + dt.timedelta(hours=168))
    sub = next(s for s in customer.subscriptions if s.purchased_at <= NOW < s.renewed_at(NOW) + dt.timedelta(hours=168))
    licence = connect().cancel(customer.id, sub.id, request_id="mutation-19")
    assert licence.status == "cancelled" and licence.status_raw == "deleted"


def test_stale_etag_is_refused_with_2055(connect, pc_server: SandboxServer, make_tokens, tls) -> None:
    customer, subscription, seats = first_subscription(open_window=False)
    url = f"{pc_server.url}/pc/v1/customers/{customer}/subscriptions/{subscription}"
    headers = {"Authorization": f"Bearer {make_tokens(SCOPE).token()}", "MS-RequestId": "stale-1"}
    body = requests.get(url, headers=headers, verify=str(tls.ca_cert), timeout=5).json()
    body["attributes"]["etag"] = "c3RhbGU="
    answer = requests.patch(url, json={**body, "quantity": seats + 1}, headers=headers, verify=str(tls.ca_cert),
                            timeout=5)
    assert answer.status_code == 400
    assert answer.json()["code"] == 2055 and answer.json()["description"]


def test_refusal_carries_microsofts_code_and_description(connect) -> None:
    customer, subscription, seats = first_subscription(open_window=False)
    with pytest.raises(VendorRefused) as refused:
        connect().change_quantity(customer, subscription, seats - 1, request_id="mutation-20")
    assert refused.value.code == "800090" and refused.value.reason == "Subscription quantity cannot be decreased."


def cheapest_subscription() -> tuple[str, str, int]:
    cheapest = min(PRODUCTS, key=lambda p: p[4])
    for customer in WORLD.customers:
        for sub in customer.subscriptions:
            if sub.purchased_at <= NOW and sub.product == cheapest and sub.status_at(NOW) == "active":
                return customer.id, sub.id, sub.quantity_at(NOW)
    raise AssertionError("scenario has no subscription of the cheapest product")


def test_transition_eligibilities_list_upgrades_and_refuse_the_rest(connect) -> None:
    customer, subscription, _ = cheapest_subscription()
    targets = connect().transition_eligibilities(customer, subscription)
    assert targets and all(t.eligible and t.transition_type == "transition_only" for t in targets)
    dearest = max(PRODUCTS, key=lambda p: p[4])
    _, down_sub = next((c.id, s.id) for c in WORLD.customers for s in c.subscriptions
                       if s.purchased_at <= NOW and s.product == dearest)
    down_customer = next(c.id for c in WORLD.customers for s in c.subscriptions if s.id == down_sub)
    refused = connect().transition_eligibilities(down_customer, down_sub)
    assert refused and not any(t.eligible for t in refused) and all(t.reasons for t in refused)


def test_transition_moves_seats_once_per_request_id(connect, pc_server: SandboxServer) -> None:
    customer, subscription, seats = cheapest_subscription()
    target = connect().transition_eligibilities(customer, subscription)[0]
    first = connect().transition(customer, subscription, target.catalog_item_id, seats, "transition_only", "up-1")
    again = connect().transition(customer, subscription, target.catalog_item_id, seats, "transition_only", "up-1")
    assert first.operation_id == again.operation_id and first.status == "complete" and first.to_subscription_id
    assert [t.operation_id for t in connect().transitions(customer, subscription)] == [first.operation_id]
    assert connect().subscription(customer, subscription).quantity == 0
    assert connect().subscription(customer, first.to_subscription_id).quantity == seats
    posts = [r for r in pc_server.app.received if r.method == "POST"]
    assert {json.loads(r.body)["toCatalogItemId"] for r in posts} == {target.catalog_item_id}


def test_transition_to_an_ineligible_target_is_refused(connect) -> None:
    customer, subscription, seats = cheapest_subscription()
    current = next(s for c in WORLD.customers for s in c.subscriptions if s.id == subscription)
    with pytest.raises(VendorRefused, match="not eligible"):
        connect().transition(customer, subscription, current.offer_id, seats, "transition_only", "up-2")


def test_quantity_patch_sends_the_etag_as_if_match(connect, pc_server: SandboxServer) -> None:
    customer, subscription, seats = first_subscription(open_window=False)
    connect().change_quantity(customer, subscription, seats + 1, request_id="mutation-21")
    patch = next(r for r in pc_server.app.received if r.method == "PATCH")
    assert patch.headers["if-match"] == json.loads(patch.body)["attributes"]["etag"]
