"""Partner Center REST stand-in (reference/microsoft.md §2, §5.2): customers, subscriptions, NCE recon line items.

Served under ``PREFIX`` so the connector's base URL is ``https://127.0.0.1:P/pc`` and it appends ``/v1/...`` exactly as
against ``https://api.partnercenter.microsoft.com``. Collections use seek paging: ``links.next`` carries a relative
``uri`` ending in ``seekOperation=Next`` and an ``MS-ContinuationToken`` header whose value contains ``, / + =``;
the token is read only from the header.

Fault knobs (besides the core ``status`` / ``delay`` / ``drop``), per route regex such as ``GET /v1/customers``:
``throttle`` (429 with Partner Center's body and ``Retry-After: seconds``), ``expire_token`` (401 as for an
expired token), ``broken_page`` (200 with a truncated JSON body), ``malformed`` (one item on the page gets a bad
value; ``body={"field": ..., "index": n}`` to choose), ``paginate`` on subscriptions (``body={"size": n}`` pages a
collection Microsoft does not document as paged), ``strings`` (numbers sent as strings, ``chargeType`` PascalCase);
on ``PATCH …/subscriptions/{id}``: ``conflict`` (409 ``800082``), ``accepted`` (202 + ``Location``), and the core
``apply_then_drop`` (the write is applied, the answer lost: a retry with the same ``MS-RequestId`` gets the first
answer and changes nothing).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import gzip
import json
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.knobs import RateWindow, broken_json, corrupt
from sandbox.routing import Routes
from sandbox.scenario_microsoft import Customer, MicrosoftScenario, Subscription, add_months, scenario

PREFIX = "/pc"
AUDIENCE = "https://api.partnercenter.microsoft.com"
CREDENTIALS: dict[str, str] = {"scope": f"{AUDIENCE}/.default", "audience": AUDIENCE}
RATE_PER_MINUTE = 500
MAX_CUSTOMER_PAGE = 500
MAX_LINE_ITEM_PAGE = 2000


def error(status: int, code: int, description: str) -> Response:
    """Partner Center's error envelope (``code`` sent as a number, §2.5)."""
    return Response(status, {"code": code, "description": description, "data": [], "source": "PartnerFD"})


def _token(state: dict[str, Any]) -> str:
    """An opaque continuation token; it contains ``, / + =`` like the real ones so clients must not re-encode it."""
    encoded = base64.b64encode(json.dumps(state, sort_keys=True).encode()).decode()
    return f"+RID:~{encoded},/RT:1#TRC={state['offset']}"


def _read_token(value: str | None, route: str) -> dict[str, Any] | None:
    if not value or not value.startswith("+RID:~") or "," not in value:
        return None
    try:
        state = json.loads(base64.b64decode(value[len("+RID:~") : value.index(",")], validate=True))
    except ValueError:
        return None
    return state if isinstance(state, dict) and state.get("route") == route else None


def _throttled(seconds: float) -> Response:
    wait = max(1, round(seconds))
    return Response(
        429,
        {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {wait} seconds."},
        {"Retry-After": str(wait)},
    )


def _collection(items: list[dict], next_link: dict | None, self_uri: str, token: str | None = None) -> dict:
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


def _stringify(value: Any) -> Any:
    """Knob ``strings``: numbers as strings, as some Partner Center responses deliver them."""
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return value


def customer_json(customer: Customer) -> dict[str, Any]:
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
            "defaultAddress": {"country": customer.country},
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


_MALFORMED_DEFAULTS = {"customers": "companyProfile", "subscriptions": "quantity", "lineitems": "chargeStartDate"}
_BAD_VALUES: dict[str, Any] = {
    "quantity": "seven",
    "companyProfile": None,
    "chargeStartDate": "31/05/2026",
    "subtotal": "n/a",
    "commitmentEndDate": "someday",
    "id": None,
}


def build(clock: Clock, seed: int = 1) -> SandboxApp:
    """The Partner Center sandbox over the shared Microsoft scenario for ``seed``."""
    app = SandboxApp("partner_center", clock)
    # A private copy: writes (seat changes, cancellations) stay inside this sandbox instance.
    world: MicrosoftScenario = copy.deepcopy(scenario(seed, clock.now().date().replace(day=1)))
    applied: dict[str, Response] = {}  # MS-RequestId -> first answer: a repeated write is not applied again
    write_lock = threading.Lock()
    windows: dict[str, RateWindow] = {}
    windows_lock = threading.Lock()

    def admit(key: str) -> float:
        """Per (partner, customer) quota, as Partner Center counts some of its limits (§2.5)."""
        with windows_lock:
            window = windows.setdefault(key, RateWindow(RATE_PER_MINUTE))
        return window.admit()

    def respond(request: Request, handler_response: Response) -> Response:
        for name in ("MS-RequestId", "MS-CorrelationId"):
            value = request.header(name)
            handler_response.headers.setdefault(name, value or str(uuid.uuid4()))
        return handler_response

    def guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def wrapper(request: Request) -> Response:
            allowed = verify_bearer(request, AUDIENCE, style="partner_center")
            if allowed is not True:
                return respond(request, allowed)
            throttle = request.has_fault("throttle")
            if throttle:
                return respond(request, _throttled(throttle.seconds or 1))
            wait = admit(f"{world.partner_id}|{request.params.get('cid', '')}")
            if wait:
                return respond(request, _throttled(wait))
            response = handler(request)
            if request.has_fault("broken_page") and response.status == 200:
                response = broken_json(response.body)
            elif request.has_fault("strings") and isinstance(response.body, dict):
                response.body = _stringify(response.body)
            return respond(request, response)

        return wrapper

    def page(
        request: Request, route: str, items: list[dict], size: int, next_uri: str, self_uri: str, kind: str
    ) -> Response:
        offset = 0
        if (request.arg("seekOperation") or "").lower() == "next":
            state = _read_token(request.header("MS-ContinuationToken"), route)
            if state is None:
                return error(400, 800002, "The continuation token is missing or invalid.")
            offset, size = int(state["offset"]), int(state["size"])
        chunk = [dict(item) for item in items[offset : offset + size]]
        malformed = request.has_fault("malformed")
        if malformed:
            field_name = (malformed.body or {}).get("field", _MALFORMED_DEFAULTS[kind])
            spec = {"field": field_name, "value": _BAD_VALUES.get(field_name, "not-a-value"), **(malformed.body or {})}
            chunk = corrupt(chunk, dataclasses.replace(malformed, body=spec))
        next_link, token = None, None
        if offset + size < len(items):
            token = _token({"route": route, "offset": offset + size, "size": size})
            next_link = {"uri": next_uri, "method": "GET", "headers": [{"key": "MS-ContinuationToken", "value": token}]}
        return Response(200, _collection(chunk, next_link, self_uri, token))

    def size_arg(request: Request, maximum: int, required: bool) -> int | Response:
        raw = request.arg("size")
        if raw is None:
            return error(400, 800002, "The size parameter is required.") if required else maximum
        try:
            size = int(raw)
        except ValueError:
            return error(400, 800002, f"Invalid size '{raw}'.")
        if not 1 <= size <= maximum:
            return error(400, 800002, f"The size must be between 1 and {maximum}.")
        return size

    def visible_customers(now: dt.datetime) -> list[Customer]:
        return [c for c in world.customers if any(s.purchased_at <= now for s in c.subscriptions)]

    @Routes(app)("GET", r"/v1/customers")
    @guarded
    def customers(request: Request) -> Response:
        size = size_arg(request, MAX_CUSTOMER_PAGE, required=True)
        if isinstance(size, Response):
            return size
        items = [customer_json(c) for c in visible_customers(request.clock.now())]
        return page(
            request,
            "customers",
            items,
            size,
            f"/customers?size={size}&seekOperation=Next",
            f"/customers?size={size}",
            "customers",
        )

    @Routes(app)("GET", r"/v1/customers/(?P<cid>[^/]+)")
    @guarded
    def customer(request: Request) -> Response:
        found = world.customer(request.params["cid"])
        if found is None or found not in visible_customers(request.clock.now()):
            return error(404, 1000, f"Customer {request.params['cid']} was not found.")
        return Response(200, customer_json(found))

    @Routes(app)("GET", r"/v1/customers/(?P<cid>[^/]+)/subscriptions")
    @guarded
    def subscriptions(request: Request) -> Response:
        cid, now = request.params["cid"], request.clock.now()
        found = world.customer(cid)
        if found is None:
            return error(404, 1000, f"Customer {cid} was not found.")
        items = [subscription_json(s, now) for s in found.subscriptions if s.purchased_at <= now]
        paginate = request.has_fault("paginate")
        size = int((paginate.body or {}).get("size", 2)) if paginate else max(1, len(items))
        if (request.arg("seekOperation") or "").lower() == "next":
            size = MAX_CUSTOMER_PAGE
        base = f"/v1/customers/{cid}/subscriptions"
        return page(request, f"subscriptions:{cid}", items, size, f"{base}?seekOperation=Next", base, "subscriptions")

    def purchased(request: Request) -> Subscription | None:
        """The subscription named by the route, if it exists and was bought by the sandbox clock's now."""
        found = world.customer(request.params["cid"])
        now = request.clock.now()
        return next((s for s in (found.subscriptions if found else [])
                     if s.id == request.params["sid"] and s.purchased_at <= now), None)

    @Routes(app)("GET", r"/v1/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)")
    @guarded
    def subscription(request: Request) -> Response:
        sub = purchased(request)
        if sub is None:
            return error(404, 1000, f"Subscription {request.params['sid']} was not found.")
        return Response(200, subscription_json(sub, request.clock.now()))

    @Routes(app)("PATCH", r"/v1/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)")
    @guarded
    def update_subscription(request: Request) -> Response:
        """Quantity change or cancellation with the full subscription as body (§2.4, §3.5)."""
        request_id = request.header("MS-RequestId") or ""
        with write_lock:
            if request_id in applied:
                first = applied[request_id]
                return Response(first.status, first.body, dict(first.headers))
            response = apply_update(request)
            if request_id and response.status < 300:
                applied[request_id] = response
            return response

    def apply_update(request: Request) -> Response:
        sub = purchased(request)
        if sub is None:
            return error(404, 1000, f"Subscription {request.params['sid']} was not found.")
        now = request.clock.now()
        if request.has_fault("conflict"):
            return error(409, 800082, "Subscription is not ready to be updated. Please retry later.")
        try:
            body = request.json()
            quantity, status = int(body["quantity"]), str(body["status"]).lower()
            etag = body["attributes"]["etag"]
        except (ValueError, TypeError, KeyError):
            return error(
                400, 800002, "The request body must be the full subscription with quantity, status and attributes.etag."
            )
        current = subscription_json(sub, now)
        if etag != current["attributes"]["etag"]:
            return error(400, 2055, "The etag is no longer valid: read the subscription again.")
        if sub.status_at(now) != "active":
            return error(400, 2001, f"Subscription is {sub.status_at(now)}: it cannot be changed.")
        if status == "deleted":
            if now >= sub.renewed_at(now) + dt.timedelta(hours=168):
                return error(400, 900213, "Subscription can only be cancelled within 168 hours of purchase or renewal.")
            sub.cancelled_at = now
        elif status != "active":
            return error(400, 800002, f"Status change to '{status}' is not supported by the sandbox.")
        else:
            delta = quantity - sub.quantity_at(now)
            if quantity < 1 or quantity > 300:
                return error(400, 900275, "The quantity is outside the offer's allowed range (1-300).")
            if delta < 0 and -delta > sum(q for q, _ in sub.batches_at(now)):
                return error(400, 800090, "Subscription quantity cannot be decreased.")
            if delta:
                sub.changes.append((now, delta, str(uuid.uuid4())))
        updated = Response(200, subscription_json(sub, now))
        if request.has_fault("accepted"):
            location = f"/v1/customers/{sub.customer_id}/subscriptions/{sub.id}"
            return Response(202, updated.body, {"Location": location})
        return updated

    def line_items(request: Request, period_start: dt.date, period_end: dt.date, route: str, invoice: str) -> Response:
        for name, expected in (("provider", "onetime"), ("invoicelineitemtype", "billinglineitems")):
            if (request.arg(name) or "").lower() != expected:
                return error(400, 800002, f"The {name} parameter must be '{expected}'.")
        if (request.arg("currencycode") or "").upper() not in ("", "EUR"):
            return Response(200, _collection([], None, request.path))
        size = size_arg(request, MAX_LINE_ITEM_PAGE, required=False)
        if isinstance(size, Response):
            return size
        lines = world.recon_lines(period_start, period_end, request.clock.now())
        for line in lines:
            line["invoiceNumber"] = invoice
        query = "provider=onetime&invoicelineitemtype=billinglineitems&currencycode=EUR"
        if route == "unbilled":
            query += f"&period={request.arg('period')}"
        base = f"/v1/invoices/{route}/lineitems?{query}&size={size}"
        return page(request, f"lineitems:{route}", lines, size, f"{base}&seekOperation=Next", base, "lineitems")

    @Routes(app)("GET", r"/v1/invoices/unbilled/lineitems")
    @guarded
    def unbilled(request: Request) -> Response:
        current = request.clock.now().date().replace(day=1)
        period = (request.arg("period") or "").lower()
        if period not in ("current", "previous"):
            return error(400, 800002, "The period parameter must be 'current' or 'previous'.")
        start = current if period == "current" else add_months(current, -1)
        return line_items(request, start, add_months(start, 1) - dt.timedelta(days=1), "unbilled", "")

    @Routes(app)("GET", r"/v1/invoices/(?P<invoice>[^/]+)/lineitems")
    @guarded
    def billed(request: Request) -> Response:
        invoice = request.params["invoice"]
        current = request.clock.now().date().replace(day=1)
        for back in range(1, 4):
            month = add_months(current, -back)
            if world.invoice_id(month) == invoice:
                end = add_months(month, 1) - dt.timedelta(days=1)
                return line_items(request, month, end, invoice, invoice)
        return error(404, 1000, f"Invoice {invoice} was not found.")

    _graph_routes(app, world)
    return app


GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_ROOT = "/graph/v1.0/reports/partners/billing"
LINES_PER_BLOB = 50
_PASCAL_EXCEPTIONS = {
    "pcToBCExchangeRate": "PCToBCExchangeRate",
    "pcToBCExchangeRateDate": "PCToBCExchangeRateDate",
    "totalForCustomer": "Total",
}


def _pascal(line: dict[str, Any]) -> dict[str, Any]:
    """A v1 recon line as a v2 export record: PascalCase keys (§2.6b), no nested ``attributes``."""
    return {_PASCAL_EXCEPTIONS.get(k, k[:1].upper() + k[1:]): v for k, v in line.items() if k != "attributes"}


def _graph_error(status: int, code: str, message: str) -> Response:
    return Response(
        status, {"error": {"code": code, "message": message, "innerError": {"request-id": str(uuid.uuid4())}}}
    )


def _graph_routes(app: SandboxApp, world: MicrosoftScenario) -> None:
    """Microsoft Graph partner-billing reconciliation export (§2.6b, §5.3), served on the Partner Center port.

    Base URL ``https://127.0.0.1:P/graph/v1.0``. Knobs on the export POST: ``slow_export``
    (``body={"polls": n}`` answers ``running`` n times, default 1), ``export_failed`` (``failedOperation``).
    """
    operations: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def host(request: Request) -> str:
        return f"https://{request.header('Host', '127.0.0.1')}"

    def guarded(request: Request) -> Response | None:
        allowed = verify_bearer(request, GRAPH_AUDIENCE)
        return None if allowed is True else allowed

    def start(request: Request, kind: str) -> Response:
        refused = guarded(request)
        if refused:
            return refused
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("attributeSet", "full") not in ("full", "basic"):
            return _graph_error(400, "BadRequest", "The request body is invalid.")
        now = request.clock.now()
        current = now.date().replace(day=1)
        if kind == "billed":
            invoice = str(body.get("invoiceId") or "")
            month = next(
                (
                    add_months(current, -back)
                    for back in range(1, 4)
                    if world.invoice_id(add_months(current, -back)) == invoice
                ),
                None,
            )
            if not invoice:
                return _graph_error(400, "BadRequest", "invoiceId is required.")
        else:
            period = str(body.get("billingPeriod") or "")
            if period not in ("current", "last") or not body.get("currencyCode"):
                return _graph_error(400, "BadRequest", "currencyCode and billingPeriod (current|last) are required.")
            month = current if period == "current" else add_months(current, -1)
            invoice = ""
        lines: list[dict[str, Any]] = []
        if month is not None and str(body.get("currencyCode", "EUR")).upper() == "EUR":
            lines = world.recon_lines(month, add_months(month, 1) - dt.timedelta(days=1), now)
            for line in lines:
                line["invoiceNumber"] = invoice
        slow = request.has_fault("slow_export")
        operation_id = str(uuid.uuid4())
        with lock:
            operations[operation_id] = {
                "lines": [_pascal(line) for line in lines],
                "created": now,
                "polls": int((slow.body or {}).get("polls", 1)) if slow else 1,
                "failed": bool(request.has_fault("export_failed")) or not lines,
                "sig": uuid.uuid4().hex,
            }
        return Response(202, None, {"Location": f"{host(request)}{GRAPH_ROOT}/operations/{operation_id}"})

    Routes(app)("POST", rf"{GRAPH_ROOT}/reconciliation/billed/export")(lambda request: start(request, "billed"))
    Routes(app)("POST", rf"{GRAPH_ROOT}/reconciliation/unbilled/export")(lambda request: start(request, "unbilled"))

    @Routes(app)("GET", rf"{GRAPH_ROOT}/operations/(?P<op>[^/]+)")
    def operation(request: Request) -> Response:
        refused = guarded(request)
        if refused:
            return refused
        with lock:
            found = operations.get(request.params["op"])
            if found is None:
                return _graph_error(404, "NotFound", "The operation was not found.")
            running = found["polls"] > 0
            found["polls"] -= 1
        stamp, op = found["created"], request.params["op"]
        body: dict[str, Any] = {"id": op, "createdDateTime": stamp, "lastActionDateTime": stamp}
        if running:
            body.update({"@odata.type": "#microsoft.graph.partners.billing.runningOperation", "status": "running"})
        elif found["failed"]:
            body.update(
                {
                    "@odata.type": "#microsoft.graph.partners.billing.failedOperation",
                    "status": "failed",
                    "error": {"code": "5000", "message": "No data available"},
                }
            )
        else:
            body.update(
                {
                    "@odata.type": "#microsoft.graph.partners.billing.exportSuccessOperation",
                    "status": "succeeded",
                    "resourceLocation@odata.navigationLink": f"{host(request)}{GRAPH_ROOT}/manifests/{op}",
                }
            )
        return Response(200, body)

    @Routes(app)("GET", rf"{GRAPH_ROOT}/manifests/(?P<op>[^/]+)")
    def manifest(request: Request) -> Response:
        refused = guarded(request)
        if refused:
            return refused
        found = operations.get(request.params["op"])
        if found is None or found["failed"] or found["polls"] >= 0:
            return _graph_error(404, "NotFound", "The manifest was not found.")
        count = -(-len(found["lines"]) // LINES_PER_BLOB)
        return Response(
            200,
            {
                "id": request.params["op"],
                "schemaVersion": "2",
                "dataFormat": "compressedJSON",
                "createdDateTime": found["created"],
                "eTag": found["sig"][:12],
                "partnerTenantId": world.partner_id,
                "rootDirectory": f"{host(request)}/blob/exports/{request.params['op']}",
                "sasToken": f"sv=2023-01-03&sr=c&sp=rl&sig={found['sig']}",
                "partitionType": "default",
                "blobCount": count,
                "blobs": [{"name": f"part-{n:05d}.json.gz", "partitionValue": "default"} for n in range(count)],
            },
        )

    @Routes(app)("GET", r"/blob/exports/(?P<op>[^/]+)/part-(?P<n>\d+)\.json\.gz")
    def blob(request: Request) -> Response:
        found = operations.get(request.params["op"])
        if found is None or request.arg("sig") != found["sig"]:
            return Response(
                403,
                '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed'
                "</Code><Message>Server failed to authenticate the request.</Message></Error>",
                content_type="application/xml",
            )
        start = int(request.params["n"]) * LINES_PER_BLOB
        chunk = found["lines"][start : start + LINES_PER_BLOB]
        text = "\n".join(Response(body=line).encode()[0].decode() for line in chunk)
        return Response(200, gzip.compress(text.encode()), content_type="application/octet-stream")
