"""Partner Center's JSON: the Customer and Subscription resources, the collection envelope, continuation tokens.

Why apart from the routes: these shapes are the wire contract the connector parses (reference/microsoft.md §2);
the service decides which items a page holds, this module how they are written.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.core import Request, Response
from sandbox.scenario_microsoft import Customer, Subscription


class FirstAnswers:
    """Writes keyed by ``MS-RequestId`` (Microsoft documents it for idempotency): a repeated request gets the first
    successful answer back and is not applied again. One lock serialises every write of the sandbox."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._answers: dict[str, Response] = {}

    def once(self, request: Request, write: Callable[[Request], Response]) -> Response:
        request_id = request.header("MS-RequestId") or ""
        with self._lock:
            if request_id in self._answers:
                first = self._answers[request_id]
                return Response(first.status, first.body, dict(first.headers))
            answer = write(request)
            if request_id and answer.status < 300:
                self._answers[request_id] = answer
            return answer


def error(status: int, code: int, description: str) -> Response:
    """Partner Center's error envelope (``code`` sent as a number, §2.5)."""
    return Response(status, {"code": code, "description": description, "data": [], "source": "PartnerFD"})


def continuation_token(state: dict[str, Any]) -> str:
    """An opaque continuation token; it contains ``, / + =`` like the real ones so clients must not re-encode it."""
    encoded = base64.b64encode(json.dumps(state, sort_keys=True).encode()).decode()
    return f"+RID:~{encoded},/RT:1#TRC={state['offset']}"


def read_continuation_token(value: str | None, route: str) -> dict[str, Any] | None:
    """The paging state a token carries, or ``None`` when it is not one of this route's tokens."""
    if not value or not value.startswith("+RID:~") or "," not in value:
        return None
    try:
        state = json.loads(base64.b64decode(value[len("+RID:~") : value.index(",")], validate=True))
    except ValueError:
        return None
    return state if isinstance(state, dict) and state.get("route") == route else None


def collection(items: list[dict], next_link: dict | None, self_uri: str, token: str | None = None) -> dict:
    """Partner Center's collection envelope; ``links.next`` and ``continuationToken`` when there is more."""
    links: dict[str, Any] = {"self": {"uri": self_uri, "method": "GET", "headers": []}}
    body: dict[str, Any] = {
        "totalCount": len(items),
        "items": items,
        "links": links,
        "attributes": {"objectType": "Collection"},
    }
    if next_link is not None:
        links["next"] = next_link
        body["continuationToken"] = token
    return body


def stringify(value: Any) -> Any:
    """Knob ``strings``: numbers as strings, as some Partner Center responses deliver them."""
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return value


# A postal address per country for the billing profile's defaultAddress (Partner Center's Address resource:
# addressLine1..3, city, state, postalCode, country); the scenario's customers only differ by country.
DEFAULT_ADDRESSES = {"NL": ("Stationsplein 12", "Utrecht", "3511 ED"), "DE": ("Domkloster 4", "Köln", "50667"),
                     "BE": ("Korenmarkt 1", "Gent", "9000")}


def default_address(customer: Customer) -> dict[str, Any]:
    street, city, postal_code = DEFAULT_ADDRESSES.get(customer.country, (None, None, None))
    address = {"country": customer.country, "addressLine1": street, "city": city, "postalCode": postal_code}
    return {key: value for key, value in address.items() if value is not None}


def customer_json(customer: Customer) -> dict[str, Any]:
    """The Customer resource (§2.2)."""
    return {
        "id": customer.id,
        "commerceId": customer.billing_customer_id,
        "companyProfile": {
            "tenantId": customer.id,
            "domain": customer.domain,
            "companyName": customer.company_name,
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "billingProfile": {
            "defaultAddress": default_address(customer),
            "attributes": {"objectType": "CustomerBillingProfile"},
        },
        "relationshipToPartner": "reseller",
        "allowDelegatedAccess": True,
        "links": {"self": {"uri": f"/customers/{customer.id}", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Customer"},
    }


def subscription_json(sub: Subscription, now: dt.datetime) -> dict[str, Any]:
    """The Subscription resource (§2.3) as it stands at ``now``."""
    product_id, sku_id, availability_id, name, _ = sub.product
    term_end = sub.term_end(now)
    _, cycle_end = sub.cycle(min(now.date(), term_end))
    batches = sub.batches_at(now)
    renewed_at = sub.renewed_at(now)
    cancel_until = renewed_at + dt.timedelta(hours=168)
    quantity = sub.quantity_at(now)
    etag = base64.b64encode(f'{{"id":"{sub.id}","q":{quantity},"t":"{now.date()}"}}'.encode()).decode()
    body: dict[str, Any] = {
        "id": sub.id,
        "offerId": sub.offer_id,
        "offerName": name,
        "friendlyName": name,
        "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
        "quantity": quantity,
        "unitType": "Licenses",
        "hasPurchasableAddons": False,
        "creationDate": sub.purchased_at,
        "effectiveStartDate": renewed_at,
        "commitmentEndDate": dt.datetime.combine(term_end, dt.time(0, 0), dt.UTC),
        "commitmentEndDateTime": dt.datetime.combine(term_end, dt.time(23, 59, 59), dt.UTC),
        "status": sub.status_at(now),
        "autoRenewEnabled": sub.auto_renew,
        "isTrial": False,
        "billingType": "license",
        "billingCycle": sub.billing_cycle,
        "termDuration": sub.term,
        "renewalTermDuration": "",
        "refundOptions": [],
        "isMicrosoftProduct": True,
        "partnerId": "",
        "contractType": "subscription",
        "orderId": sub.order_id,
        "publisherName": "Microsoft Corporation",
        "promotionId": "",
        "billingCycleEndDate": dt.datetime.combine(cycle_end, dt.time(0, 0), dt.UTC),
        "refundableQuantity": {
            "totalQuantity": sum(q for q, _ in batches),
            "details": [{"quantity": q, "allowedUntilDateTime": until} for q, until in batches],
        },
        "links": {
            "product": {"uri": f"/products/{product_id}?country=NL", "method": "GET", "headers": []},
            "sku": {"uri": f"/products/{product_id}/skus/{sku_id}?country=NL", "method": "GET", "headers": []},
            "availability": {
                "uri": f"/products/{product_id}/skus/{sku_id}/availabilities/{availability_id}?country=NL",
                "method": "GET",
                "headers": [],
            },
            "self": {"uri": f"/customers/{sub.customer_id}/subscriptions/{sub.id}", "method": "GET", "headers": []},
        },
        "attributes": {"etag": etag, "objectType": "Subscription"},
    }
    if now < cancel_until and sub.status_at(now) == "active":
        body["cancellationAllowedUntilDate"] = cancel_until
        full_until = renewed_at + dt.timedelta(hours=24)
        if now < full_until:
            body["refundOptions"].append({"type": "Full", "expiresAt": full_until})
        body["refundOptions"].append({"type": "Partial", "expiresAt": cancel_until})
    return body
