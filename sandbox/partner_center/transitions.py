"""Partner Center upgrades: transition eligibilities, the transition POST and the transition history.

Why apart from ``service.py``: an upgrade is its own resource family with its own shapes (TransitionEligibility,
Transition with events), and the service module is about the subscription's own reads and writes. The sandbox's
upgrade path is the scenario's product list by price: a subscription may move to any product dearer than its own
(``transition_only``, immediate); a cheaper or equal product is listed as not eligible with a reason, as Partner
Center lists targets a subscription cannot move to. A transition moves seats into a new subscription of the target
product (the source keeps the rest), is answered ``complete`` at once, and a repeated POST with the same
``MS-RequestId`` returns the first answer without moving seats again.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from sandbox.core import Request, Response
from sandbox.partner_center.resources import FirstAnswers, error
from sandbox.routing import Routes
from sandbox.scenario_microsoft import MicrosoftScenario, Subscription
from sandbox.scenario_microsoft.subscriptions import PRODUCTS, reference

Product = tuple[str, str, str, str, Any]


def catalog_item_id(product: Product) -> str:
    """``productId:skuId:availabilityId``, the id a transition names its target by."""
    return f"{product[0]}:{product[1]}:{product[2]}"


def _eligibility(product: Product, source: Subscription, now: dt.datetime) -> dict[str, Any]:
    upgrade = product[4] > source.product[4]
    item: dict[str, Any] = {"isEligible": upgrade, "transitionType": "transition_only", "errors": []}
    if not upgrade:
        item["errors"].append({"code": 1003, "description": f"{product[3]} is not an upgrade of {source.product[3]}: "
                                                           "only a higher offer can be an immediate target."})
    return {
        "catalogItemId": catalog_item_id(product),
        "title": product[3],
        "description": product[3],
        "quantity": source.quantity_at(now),
        "termDuration": source.term,
        "billingCycle": source.billing_cycle,
        "eligibilities": [item],
        "attributes": {"objectType": "TransitionEligibility"},
    }


def _transition_json(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "attributes": {"objectType": "Transition"}}


def transition_routes(api: Routes, world: MicrosoftScenario, purchased: Callable[[Request], Subscription | None],
                      lock: threading.Lock) -> None:
    """Register the three upgrade routes on the Partner Center API (same guard, same MS-* headers)."""
    done: dict[str, list[dict[str, Any]]] = {}  # subscription id -> its transitions, oldest first
    transitions = FirstAnswers(lock)

    @api("GET", r"/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)/transitioneligibilities")
    def eligibilities(request: Request) -> Response:
        sub = purchased(request)
        if sub is None:
            return error(404, 1000, f"Subscription {request.params['sid']} was not found.")
        kind = (request.arg("eligibilityType") or "immediate").lower()
        if kind not in ("immediate", "scheduled"):
            return error(400, 800002, f"Invalid eligibilityType '{kind}'.")
        now = request.clock.now()
        items = [_eligibility(p, sub, now) for p in PRODUCTS if catalog_item_id(p) != sub.offer_id]
        return Response(200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}})

    @api("GET", r"/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)/transitions")
    def history(request: Request) -> Response:
        if purchased(request) is None:
            return error(404, 1000, f"Subscription {request.params['sid']} was not found.")
        items = [_transition_json(t) for t in done.get(request.params["sid"].lower(), [])]
        operation = request.arg("operation-id") or request.arg("operationId")
        if operation:
            items = [t for t in items if t["id"] == operation]
        return Response(200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}})

    @api("POST", r"/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)/transitions")
    def transition(request: Request) -> Response:
        return transitions.once(request, _transition)

    def _transition(request: Request) -> Response:
        sub = purchased(request)
        if sub is None:
            return error(404, 1000, f"Subscription {request.params['sid']} was not found.")
        now = request.clock.now()
        try:
            body = request.json()
            target_id, quantity = str(body["toCatalogItemId"]), int(body["quantity"])
            kind = str(body.get("transitionType") or "transition_only")
        except (ValueError, TypeError, KeyError):
            return error(400, 800002, "The request body needs toCatalogItemId, quantity and transitionType.")
        target = next((p for p in PRODUCTS if catalog_item_id(p) == target_id), None)
        if target is None or target[4] <= sub.product[4]:
            return error(400, 800002, f"The subscription is not eligible to transition to {target_id}.")
        seats = sub.quantity_at(now)
        if sub.status_at(now) != "active" or not 1 <= quantity <= seats:
            return error(400, 800002, f"Quantity {quantity} cannot be transitioned: the subscription has {seats}.")
        customer = world.customer(request.params["cid"])
        assert customer is not None  # purchased() found the subscription under this customer
        operation = reference(sub.id, "transition", request.header("MS-RequestId") or now.isoformat())
        new = Subscription(reference(operation, "target"), customer.id, reference(operation, "order"), target,
                           sub.term, sub.billing_cycle, now, sub.auto_renew)
        new.changes.append((now, quantity, reference(operation, "convert")))
        sub.changes.append((now, -quantity, reference(operation, "moveQuantity")))
        customer.subscriptions.append(new)
        record = {
            "id": operation, "fromCatalogItemId": sub.offer_id, "toCatalogItemId": target_id,
            "fromSubscriptionId": sub.id, "toSubscriptionId": new.id, "quantity": quantity, "transitionType": kind,
            "status": "complete", "creationDate": now,
            "events": [{"fromSubscriptionId": sub.id, "toSubscriptionId": new.id, "quantity": quantity,
                        "status": "complete", "transitionDate": now}],
        }
        done.setdefault(sub.id.lower(), []).append(record)
        return Response(200, _transition_json(record))
