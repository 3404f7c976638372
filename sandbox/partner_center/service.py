"""Partner Center's REST routes: customers, subscriptions (read, seat change, cancel, upgrade through
``transitions.py``) and NCE recon line items.

Why one guard: every route checks the bearer, counts the per-(partner, customer) quota, applies the answer knobs
and echoes ``MS-RequestId``/``MS-CorrelationId``; the handlers only answer. The Graph export (``graph.py``) is
served on the same port.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import threading
import uuid
from typing import Any

from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.knobs import RateWindow, broken_json, corrupt
from sandbox.partner_center.graph import graph_routes
from sandbox.partner_center.invoices import invoice_json, issued, period_end, v1_serves
from sandbox.partner_center.resources import (
    FirstAnswers,
    collection,
    continuation_token,
    customer_json,
    error,
    read_continuation_token,
    stringify,
    subscription_json,
)
from sandbox.partner_center.transitions import transition_routes
from sandbox.routing import Routes
from sandbox.scenario_microsoft import Customer, MicrosoftScenario, Subscription, add_months, scenario

PREFIX = "/pc"
AUDIENCE = "https://api.partnercenter.microsoft.com"
CREDENTIALS: dict[str, str] = {"scope": f"{AUDIENCE}/.default", "audience": AUDIENCE}
RATE_PER_MINUTE = 500
MAX_CUSTOMER_PAGE = 500
MAX_LINE_ITEM_PAGE = 2000


def _throttled(seconds: float) -> Response:
    wait = max(1, round(seconds))
    return Response(
        429,
        {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {wait} seconds."},
        {"Retry-After": str(wait)},
    )


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
    write_lock = threading.Lock()
    updates = FirstAnswers(write_lock)  # a repeated quantity change or cancellation is not applied again
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

    def guard(request: Request, handler: Handler) -> Response:
        """Bearer, throttling knob and quota, then the handler; answer knobs and the MS-* headers after it."""
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
            response.body = stringify(response.body)
        return respond(request, response)

    api = Routes(app, "/v1", guard=guard)

    def page(
        request: Request, route: str, items: list[dict], size: int, next_uri: str, self_uri: str, kind: str
    ) -> Response:
        offset = 0
        if (request.arg("seekOperation") or "").lower() == "next":
            state = read_continuation_token(request.header("MS-ContinuationToken"), route)
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
            token = continuation_token({"route": route, "offset": offset + size, "size": size})
            next_link = {"uri": next_uri, "method": "GET", "headers": [{"key": "MS-ContinuationToken", "value": token}]}
        return Response(200, collection(chunk, next_link, self_uri, token))

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

    @api("GET", r"/customers")
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

    @api("GET", r"/customers/(?P<cid>[^/]+)")
    def customer(request: Request) -> Response:
        found = world.customer(request.params["cid"])
        if found is None or found not in visible_customers(request.clock.now()):
            return error(404, 1000, f"Customer {request.params['cid']} was not found.")
        return Response(200, customer_json(found))

    @api("GET", r"/customers/(?P<cid>[^/]+)/subscriptions")
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

    @api("GET", r"/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)")
    def subscription(request: Request) -> Response:
        sub = purchased(request)
        if sub is None:
            return error(404, 1000, f"Subscription {request.params['sid']} was not found.")
        return Response(200, subscription_json(sub, request.clock.now()))

    @api("PATCH", r"/customers/(?P<cid>[^/]+)/subscriptions/(?P<sid>[^/]+)")
    def update_subscription(request: Request) -> Response:
        """Quantity change or cancellation with the full subscription as body (§2.4, §3.5)."""
        return updates.once(request, apply_update)

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

    def line_items(request: Request, period_start: dt.date, route: str, invoice: str) -> Response:
        for name, expected in (("provider", "onetime"), ("invoicelineitemtype", "billinglineitems")):
            if (request.arg(name) or "").lower() != expected:
                return error(400, 800002, f"The {name} parameter must be '{expected}'.")
        size = size_arg(request, MAX_LINE_ITEM_PAGE, required=False)
        if isinstance(size, Response):
            return size
        now = request.clock.now()
        lines: list[dict] = []
        if (request.arg("currencycode") or "EUR").upper() == "EUR" and v1_serves(period_start, now):
            lines = world.recon_lines(period_start, period_end(period_start), now)
        for line in lines:
            line["invoiceNumber"] = invoice
        query = "provider=onetime&invoicelineitemtype=billinglineitems&currencycode=EUR"
        if route == "unbilled":
            query += f"&period={request.arg('period')}"
        base = f"/v1/invoices/{route}/lineitems?{query}&size={size}"
        return page(request, f"lineitems:{route}", lines, size, f"{base}&seekOperation=Next", base, "lineitems")

    @api("GET", r"/invoices")
    def invoices(request: Request) -> Response:
        """The partner's invoices, newest first, paged by ``size`` and ``offset`` (``links.next`` while more)."""
        size = size_arg(request, MAX_CUSTOMER_PAGE, required=False)
        if isinstance(size, Response):
            return size
        try:
            offset = max(0, int(request.arg("offset") or 0))
        except ValueError:
            return error(400, 800002, f"Invalid offset '{request.arg('offset')}'.")
        found = list(issued(world, request.clock.now()).items())
        items = [invoice_json(world, invoice, month) for invoice, month in found[offset : offset + size]]
        following = None
        if offset + size < len(found):
            following = {"uri": f"/invoices?size={size}&offset={offset + size}", "method": "GET", "headers": []}
        body = collection(items, following, f"/invoices?size={size}&offset={offset}")
        body["totalCount"] = len(found)
        body.pop("continuationToken", None)
        return Response(200, body)

    @api("GET", r"/invoices/unbilled/lineitems")
    def unbilled(request: Request) -> Response:
        current = request.clock.now().date().replace(day=1)
        period = (request.arg("period") or "").lower()
        if period not in ("current", "previous"):
            return error(400, 800002, "The period parameter must be 'current' or 'previous'.")
        return line_items(request, current if period == "current" else add_months(current, -1), "unbilled", "")

    @api("GET", r"/invoices/(?P<invoice>[^/]+)/lineitems")
    def billed(request: Request) -> Response:
        invoice = request.params["invoice"]
        month = issued(world, request.clock.now()).get(invoice)
        if month is None:
            return error(404, 1000, f"Invoice {invoice} was not found.")
        return line_items(request, month, invoice, invoice)

    transition_routes(api, world, purchased, write_lock)
    graph_routes(app, world)
    return app
