"""Ingram Micro Cloud Marketplace ("Marketplace API") stand-in (distributors.md §3, §7.2).

Why faithful: the production connector runs unchanged against it, so it demands ``X-Subscription-Key`` on every
request (``/token`` included), Basic auth plus ``{"marketplace": ...}`` for the short-lived token, a bearer on the
rest, ``offset``/``limit`` paging with ``pagination.total``, list items **without** quantities, string money with four
decimals, date-only fields and an ``X-Correlation-ID`` on every answer. Seat counts follow the scenario's timelines
at the sandbox clock. The error body is undocumented (§3.1); this one is ``{"code", "message"}`` and the connector
must classify by status only.

Knobs. Fault kinds on any route: ``status`` (429/408/5xx), ``delay`` (latency past the client's read timeout),
``drop``; Ingram-specific: ``expire_token`` (all tokens revoked, this request gets 401), ``broken_page`` (a 200 whose
JSON stops halfway), ``malformed`` (one record gets a bad field; on ``/subscriptions/{id}`` use a path such as
``products.0.quantity``). Settings (``POST /__admin/ingram/settings``): ``token_ttl`` (sandbox-clock seconds, default
1500), ``quota_per_minute`` (per-key 429 quota, default off; real limits unknown), ``quota_retry_after``,
``newer_fields`` (``expirationDate``/``billingPeriod``/``subscriptionPeriod``/``billingModel`` on the detail, default
on; off = the 1.6 shape, so clients must read ``/plans/{id}``), ``max_limit`` (largest ``limit`` honoured, default 100),
``public_scheme`` (scheme of report ``downloadUrl``\\s).
State: ``POST /__admin/ingram/quantity`` ``{"subscriptionId", "productId", "quantity"}`` changes a seat count at the
clock's now and records a ``change`` order with billing details. Writes: ``POST /orders`` with ``type: change``,
``customerId``, ``subscriptionId``, ``poNumber`` and ``products[{mpn, quantity}]`` (the 1.6 spec's ``OrderDetailed``)
does the same through the API and answers the order, ``poNumber`` included (as later ``GET /orders`` do).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sandbox import distributor
from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.knobs import corrupt
from sandbox.routing import Routes
from sandbox.scenario_distributors.ingram import IngramWorld, ingram_world, money
from sandbox.scenario_distributors.seats import month_end_of, month_start_of

PREFIX = "/ingram"  # matches the shipped config.yaml (https://127.0.0.1:8445/ingram)
CREDENTIALS: dict[str, str] = {
    "username": "sandbox-cmpapi-user",
    "password": "sandbox-cmpapi-password",
    "subscription_key": "sandbox-cmp-subscription-key-0001",
    "marketplace": "us",
}
MARKETPLACES = ("us", "ca", "br", "se", "de", "nl", "uk")
DEFAULT_LIMIT = 10
TOKEN_LIFETIME = 1500
_LIST_FIELDS = ("id", "name", "customerId", "status", "attributes", "renewalStatus", "creationDate", "renewalDate",
                "lastModifiedDate")
_NEWER_FIELDS = ("expirationDate", "billingPeriod", "subscriptionPeriod", "billingModel")


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"code": code, "message": message})


def _envelope(chunk: list[dict[str, Any]], offset: int, limit: int, total: int) -> dict[str, Any]:
    return {"data": chunk, "pagination": {"offset": offset, "limit": limit, "total": total}}


class _Ingram:
    """The sandbox's state and handlers; one per ``build``."""

    def __init__(self, world: IngramWorld, clock: Clock) -> None:
        self.world = world
        self.clock = clock
        self.tokens = distributor.TokenBook(clock, "sbx-cmp-", 32)
        self.orders: list[dict[str, Any]] = []
        self.po_numbers: dict[str, str] = {}  # change orders placed through the API -> their poNumber
        self.settings: dict[str, Any] = {"token_ttl": TOKEN_LIFETIME, "quota_per_minute": None,
                                         "quota_retry_after": True, "newer_fields": True, "max_limit": 100,
                                         "public_scheme": "http"}
        self.quota = distributor.Quota(None)
        self.customers = {customer["id"]: customer for customer in world.customers}
        self.subscriptions = {subscription["id"]: subscription for subscription in world.subscriptions}
        for subscription in world.subscriptions:
            self.orders.append(self._order("sales", subscription, dt.date.fromisoformat(subscription["creationDate"]),
                                           [self._detail("setup", line, self._seats(subscription, line).initial)
                                            for line in subscription["products"]]))

    def _seats(self, subscription: dict[str, Any], line: dict[str, Any]) -> Any:
        return self.world.seats[(subscription["id"], line["id"])]

    # every request: subscription key, correlation id

    def guard(self, request: Request, handler: Handler) -> Response:
        """Subscription key and bearer checks, the per-key quota, and ``X-Correlation-ID`` on the answer."""
        return self._answer(request, handler, bearer=True)

    def key_guard(self, request: Request, handler: Handler) -> Response:
        """The same without a bearer: ``/token`` itself and paths that do not exist."""
        return self._answer(request, handler, bearer=False)

    def _answer(self, request: Request, handler: Handler, bearer: bool) -> Response:
        response = self._refusal(request, bearer) or handler(request)
        response.headers.setdefault("X-Correlation-ID", str(uuid.uuid4()))
        return response

    def _refusal(self, request: Request, bearer: bool) -> Response | None:
        if request.header("X-Subscription-Key") != CREDENTIALS["subscription_key"]:
            return _error(401, "Unauthorized", "Access denied due to missing or invalid subscription key.")
        if bearer and not self.tokens.accepts(request, int(self.settings["token_ttl"])):
            return _error(401, "Unauthorized", "Invalid or expired token.")
        quota = self.settings["quota_per_minute"]
        return self.quota.refuse(int(quota) if quota is not None else None, self.settings["quota_retry_after"],
                                 lambda: _error(429, "TooManyRequests", "Rate limit is exceeded."))

    def issue(self, request: Request) -> Response:
        header = request.header("Authorization") or ""
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            user, password = "", ""
        if not header.startswith("Basic ") or (user, password) != (CREDENTIALS["username"], CREDENTIALS["password"]):
            return _error(401, "Unauthorized", "Invalid credentials.")
        try:
            marketplace = (request.json() or {}).get("marketplace")
        except ValueError:
            marketplace = None
        if marketplace not in MARKETPLACES:
            return _error(400, "BadRequest", f"Unknown marketplace {marketplace!r}.")
        token, _ = self.tokens.issue()
        return Response(200, {"token": token, "expiresInSeconds": int(self.settings["token_ttl"])})

    # views

    def page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        """``{data, pagination: {offset, limit, total}}``; ``limit`` above ``max_limit`` is clamped and reported."""
        return distributor.page(request, items, self._window, _envelope)

    def _window(self, request: Request) -> tuple[int, int] | Response:
        try:
            offset = int(request.arg("offset", "0") or 0)
            limit = int(request.arg("limit", str(DEFAULT_LIMIT)) or DEFAULT_LIMIT)
        except ValueError:
            return _error(400, "BadRequest", "offset and limit must be integers.")
        if offset < 0 or limit < 1:
            return _error(400, "BadRequest", "offset must be >= 0 and limit >= 1.")
        return offset, min(limit, int(self.settings["max_limit"]))

    def detailed(self, subscription: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        products = []
        total_price = total_cost = total_provider = Decimal(0)
        last_change = max(dt.date.fromisoformat(subscription["lastModifiedDate"]),
                          dt.date.fromisoformat(subscription["creationDate"]))
        for line in subscription["products"]:
            timeline = self._seats(subscription, line)
            quantity = timeline.at(now)
            last_change = max(last_change, timeline.last_change(now).date())
            price, cost = Decimal(line["unitPrice"]["amount"]), Decimal(line["unitCost"]["amount"])
            provider = Decimal(line["unitProviderCost"]["amount"])
            total_price += price * quantity
            total_cost += cost * quantity
            total_provider += provider * quantity
            products.append({**line, "quantity": quantity, "extendedPrice": money(price * quantity),
                             "totalSubscriptionPrice": money(price * quantity),
                             "totalSubscriptionCost": money(cost * quantity),
                             "totalSubscriptionProviderCost": money(provider * quantity)})
        view = {**subscription, "lastModifiedDate": last_change.isoformat(), "products": products,
                "totalPrice": money(total_price), "totalSubscriptionPrice": money(total_price),
                "totalSubscriptionCost": money(total_cost), "totalSubscriptionProviderCost": money(total_provider)}
        if not self.settings["newer_fields"]:
            for name in _NEWER_FIELDS:
                view.pop(name, None)
        return view

    def listed(self, subscription: dict[str, Any]) -> dict[str, Any]:
        detailed = self.detailed(subscription)
        return {name: detailed[name] for name in _LIST_FIELDS}

    def _detail(self, kind: str, line: dict[str, Any], quantity: int) -> dict[str, Any]:
        price = Decimal(line["unitPrice"]["amount"])
        return {"type": kind, "mpn": line["mpn"], "productId": line["id"], "duration": {"type": "month", "duration": 1},
                "quantity": quantity, "unitPrice": money(price), "extendedPrice": money(price * quantity),
                "discount": money(Decimal(0)), "taxAmount": money(Decimal(0))}

    def _order(self, kind: str, subscription: dict[str, Any], when: dt.date, details: list[dict[str, Any]],
               ) -> dict[str, Any]:
        return {"id": f"{5000001 + len(self.orders)}", "orderNumber": f"SO{5000001 + len(self.orders)}",
                "type": kind, "status": "completed", "customerId": subscription["customerId"],
                "subscriptionId": subscription["id"], "creationDate": when.isoformat(), "details": details}

    def timeline_orders(self) -> list[dict[str, Any]]:
        """Seeded orders plus one ``change`` order per scheduled seat change visible at the clock's now."""
        now = self.clock.now()
        out = list(self.orders)
        for subscription in self.world.subscriptions:
            for line in subscription["products"]:
                for number, (when, old, new) in enumerate(self._seats(subscription, line).changes(now), start=1):
                    out.append(self._change_order(f"{subscription['id']}-{line['id']}-{number}", subscription, line,
                                                  when, old, new))
        return [{**o, "poNumber": self.po_numbers[o["id"]]} if o["id"] in self.po_numbers else o for o in out]

    def _change_order(self, order_id: str, subscription: dict[str, Any], line: dict[str, Any], when: dt.datetime,
                      old: int, new: int) -> dict[str, Any]:
        """A ``change`` order: prorated ``recurring`` for added seats; ``downgrade`` + ``recurringRefund`` for fewer."""
        day = when.date()
        share = Decimal((month_end_of(day.replace(day=1)) - day).days + 1) / Decimal(month_end_of(day).day)
        price = Decimal(line["unitPrice"]["amount"])
        delta = abs(new - old)
        prorated = money(price * delta * share)
        if new >= old:
            details = [{**self._detail("recurring", line, delta), "extendedPrice": prorated}]
        else:
            details = [self._detail("downgrade", line, delta),
                       {**self._detail("recurringRefund", line, delta),
                        "extendedPrice": money(-price * delta * share)}]
        return {"id": order_id, "orderNumber": f"SO-{order_id}", "type": "change", "status": "completed",
                "customerId": subscription["customerId"], "subscriptionId": subscription["id"],
                "creationDate": day.isoformat(), "creationTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "details": details}

    def place_change(self, request: Request) -> Response:
        """``POST /orders`` of ``type: change``: new ``quantity`` per ``products[].mpn`` of ``subscriptionId``, applied
        at the clock's now; answered with the order (its ``poNumber`` kept, so a client can find it again)."""
        body = request.json() or {}
        subscription = self.subscriptions.get(str(body.get("subscriptionId")))
        if body.get("type") != "change" or subscription is None or body.get("customerId") != subscription["customerId"]:
            return _error(400, "BadRequest", "A change order needs type 'change', customerId and its subscriptionId.")
        wanted = body.get("products") if isinstance(body.get("products"), list) else []
        by_mpn = {p["mpn"]: p for p in subscription["products"]}
        lines = [(by_mpn.get(item.get("mpn")), item.get("quantity")) for item in wanted if isinstance(item, dict)]
        if not lines or any(line is None or not isinstance(q, int) or q < 1 for line, q in lines):
            return _error(400, "BadRequest", "Each product needs the subscription's mpn and a quantity of at least 1.")
        now = self.clock.now()
        for line, quantity in lines:
            self._seats(subscription, line).schedule(now, quantity)
        placed = [o for o in self.timeline_orders() if o["subscriptionId"] == subscription["id"]
                  and o.get("creationTime") == now.strftime("%Y-%m-%dT%H:%M:%SZ")]
        for order in placed:
            self.po_numbers[order["id"]] = str(body.get("poNumber") or "")
        return Response(200, {**placed[-1], "poNumber": self.po_numbers[placed[-1]["id"]]}) if placed else \
            _error(400, "BadRequest", "The order changes nothing.")

    # admin

    def set_quantity(self, request: Request) -> Response:
        body = request.json() or {}
        subscription = self.subscriptions.get(str(body.get("subscriptionId")))
        line = next((p for p in (subscription or {}).get("products", []) if p["id"] == body.get("productId")), None)
        if subscription is None or line is None:
            return _error(404, "NotFound", "No such subscription product.")
        self._seats(subscription, line).schedule(self.clock.now(), int(body["quantity"]))
        return Response(200, self.detailed(subscription))


def _between(value: str | None, start: str | None, end: str | None) -> bool:
    """Date-only range filters compare the ``yyyy-MM-dd`` prefix; both ends inclusive."""
    day = (value or "")[:10]
    return (not start or day >= start[:10]) and (not end or day <= end[:10])


def build(clock: Clock, seed: int = 1) -> SandboxApp:
    """The Ingram CMP sandbox app for one seed; the scenario month is the month the clock is in now."""
    app = SandboxApp("ingram", clock)
    state = _Ingram(ingram_world(seed, month_start_of(clock.now())), clock)
    world = state.world

    keyed = Routes(app, guard=state.key_guard)
    keyed("POST", r"/token")(state.issue)
    keyed.not_found(lambda request: _error(404, "NotFound", "No such resource."))
    distributor.admin_routes(app, "ingram", state.settings, state.set_quantity)
    api = Routes(app, guard=state.guard)

    @api("GET", r"/customers")
    def customers(request: Request) -> Response:
        items = world.customers
        for name in ("externalId", "email", "resellerId"):
            wanted = request.arg(name)
            if wanted is not None:
                items = [c for c in items if str(c.get(name)) == wanted]
        if request.arg("name"):
            items = [c for c in items if str(request.arg("name")).lower() in c["name"].lower()]
        return state.page(request, items)

    @api("GET", r"/customers/(?P<id>[^/]+)")
    def customer(request: Request) -> Response:
        found = state.customers.get(request.params["id"])
        return Response(200, found) if found else _error(404, "NotFound", "Customer not found.")

    @api("GET", r"/subscriptions")
    def subscriptions(request: Request) -> Response:
        items = [state.listed(s) for s in world.subscriptions]
        for name in ("customerId", "status"):
            wanted = request.arg(name)
            if wanted is not None:
                items = [s for s in items if s[name] == wanted]
        items = [s for s in items
                 if _between(s["creationDate"], request.arg("creationDateFrom"), request.arg("creationDateTo"))]
        return state.page(request, items)

    @api("GET", r"/subscriptions/(?P<id>[^/]+)")
    def subscription(request: Request) -> Response:
        found = state.subscriptions.get(request.params["id"])
        if not found:
            return _error(404, "NotFound", "Subscription not found.")
        view = state.detailed(found)
        malformed = request.has_fault("malformed")
        if malformed:
            view = corrupt([view], malformed)[0]
        return Response(200, view)

    @api("GET", r"/orders")
    def orders(request: Request) -> Response:
        items = state.timeline_orders()
        for name in ("customerId", "subscriptionId", "orderNumber", "status", "type"):
            wanted = request.arg(name)
            if wanted is not None:
                items = [o for o in items if o.get(name) == wanted]
        items = [o for o in items
                 if _between(o["creationDate"], request.arg("creationTimeFrom"), request.arg("creationTimeTo"))]
        return state.page(request, items)

    api("POST", r"/orders")(state.place_change)

    @api("GET", r"/orders/(?P<id>[^/]+)")
    def order(request: Request) -> Response:
        found = next((o for o in state.timeline_orders() if o["id"] == request.params["id"]), None)
        return Response(200, found) if found else _error(404, "NotFound", "Order not found.")

    @api("GET", r"/plans/(?P<id>[^/]+)")
    def plan(request: Request) -> Response:
        found = world.plans.get(request.params["id"])
        return Response(200, found) if found else _error(404, "NotFound", "Plan not found.")

    def report_view(request: Request, report: dict[str, Any]) -> dict[str, Any]:
        host = request.header("Host") or "127.0.0.1"
        url = f"{state.settings['public_scheme']}://{host}{PREFIX}/reports/{report['id']}/download"
        return {**report, "downloadUrl": url}

    @api("GET", r"/reports")
    def reports(request: Request) -> Response:
        return state.page(request, [report_view(request, r) for r in world.reports])

    @api("GET", r"/reports/(?P<id>[^/]+)")
    def report(request: Request) -> Response:
        found = next((r for r in world.reports if r["id"] == request.params["id"]), None)
        return Response(200, report_view(request, found)) if found else _error(404, "NotFound", "Report not found.")

    @Routes(app)("GET", r"/reports/(?P<id>[^/]+)/download")
    def download(request: Request) -> Response:
        found = next((r for r in world.reports if r["id"] == request.params["id"]), None)
        if not found:
            return _error(404, "NotFound", "Report not found.")
        rows = [{"subscriptionId": s["id"], "customerId": s["customerId"], "mpn": line["mpn"],
                 "quantity": state._seats(s, line).initial, "unitCost": line["unitCost"]["amount"],
                 "currency": "EUR", "periodStart": found["startDate"], "periodEnd": found["endDate"]}
                for s in world.subscriptions for line in s["products"]]
        return Response(200, rows)

    return app
