"""Pax8 partner API stand-in (distributors.md §2, §7.1): token, companies, subscriptions, invoices, usage.

Why faithful: the production connector must run unchanged against it, so paths, 0-based ``page``/``size`` paging,
the ``{type, message, instance, status, details}`` error envelope, JSON-float money and mixed date formats are the
real ones. Seat counts follow the scenario's timelines at the sandbox clock, so each "night" sees its own counts.

Knobs. Fault kinds (``POST /__admin/faults`` or ``app.faults.arm``) on any route: ``status`` (429 with or without
``Retry-After``, 500, 408 on draft items), ``delay`` (beyond the client's read timeout), ``drop``; Pax8-specific:
``expire_token`` (every issued token is revoked, the request gets 401), ``broken_page`` (a 200 whose JSON stops
halfway), ``malformed`` (one record of the page gets a bad field, see ``sandbox.knobs.corrupt``).
Settings (``POST /__admin/pax8/settings``): ``token_ttl`` seconds (sandbox clock, default 86400),
``rate_limit_per_minute`` (default 1000) and ``rate_limit_retry_after`` (send ``Retry-After`` with the 429),
``omit_empty_content`` (empty ``/invoices`` pages carry only ``page``, default on), ``mixed_dates`` (subscription
date-times as ``…Z``, ``…-0000``, ``+02:00`` and date-only, default on; off = all ``…Z``), ``invoice_status``
(``status`` on invoices, default on), ``oversize`` (``"reject"``: ``size`` > 200 answers 422; ``"clamp"``),
``history_shape`` (``"cli"`` ``{id, action, date, quantity, previousQuantity}`` or ``"spec"`` full snapshots).
Writes: ``PUT /subscriptions/{id}`` with ``quantity`` changes the seat count from the clock's now (422 envelope for
a quantity below 1 or a subscription that is not active).
State: ``POST /__admin/pax8/quantity`` ``{"subscriptionId", "quantity"}`` sets a seat count at the clock's now,
appending a history entry and a ``prorate`` draft item for the changed seats.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

from sandbox import distributor
from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.routing import Routes
from sandbox.scenario_distributors.pax8 import (
    Pax8World,
    mixed_instant,
    month_item,
    pax8_world,
    prorate_item,
    usage_lines,
)
from sandbox.scenario_distributors.seats import month_start_of

PREFIX = "/pax8/v1"  # matches the shipped config.yaml (https://127.0.0.1:8444/pax8/v1)
CREDENTIALS: dict[str, str] = {
    "client_id": "sandbox-pax8-client-id",
    "client_secret": "sandbox-pax8-client-secret",
    "audience": "https://api.pax8.com",
}
AUDIENCES = ("https://api.pax8.com", "api://p8p.client")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 200
TOKEN_LIFETIME = 86400


def _error(status: int, kind: str, message: str, path: str) -> Response:
    return Response(status, {"type": kind, "message": message, "instance": PREFIX + path, "status": status,
                             "details": []})


def _month_offset(start: dt.date, months: int) -> dt.date:
    index = start.month - 1 + months
    return dt.date(start.year + index // 12, index % 12 + 1, 1)


class _Pax8:
    """The sandbox's state and handlers; one per ``build``."""

    def __init__(self, world: Pax8World, clock: Clock, seed: int) -> None:
        self.world = world
        self.clock = clock
        self.seed = seed
        self.tokens = distributor.TokenBook(clock, "sbx-pax8-", 24)
        self.settings: dict[str, Any] = {
            "token_ttl": TOKEN_LIFETIME, "rate_limit_per_minute": 1000, "rate_limit_retry_after": True,
            "omit_empty_content": True, "invoice_status": True, "oversize": "reject", "history_shape": "cli",
            "mixed_dates": True,
        }
        self.quota = distributor.Quota(1000)
        self.lock = threading.Lock()
        self.companies = {company["id"]: company for company in world.companies}
        self.subscriptions = {subscription["id"]: subscription for subscription in world.subscriptions}

    # auth

    def issue(self, request: Request) -> Response:
        """``POST /token`` (snake case, §2.1) and the older camelCase ``/auth/token`` variant."""
        camel = request.path.lower().endswith("/auth/token")
        try:
            body = request.json() or {}
        except ValueError:
            return Response(400, {"error": "invalid_request", "error_description": "body is not JSON"})
        client_id = body.get("clientId" if camel else "client_id")
        client_secret = body.get("clientSecret" if camel else "client_secret")
        grant = body.get("grantType" if camel else "grant_type")
        if grant != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type", "error_description": f"grant {grant!r}"})
        if (client_id, client_secret) != (CREDENTIALS["client_id"], CREDENTIALS["client_secret"]) or body.get(
            "audience"
        ) not in AUDIENCES:
            return Response(401, {"error": "access_denied", "error_description": "Unauthorized"})
        token, now = self.tokens.issue()
        ttl = int(self.settings["token_ttl"])
        if camel:
            return Response(200, {"token": token, "expiresIn": ttl, "tokenType": "Bearer",
                                  "expiresAt": (now + dt.timedelta(seconds=ttl)).isoformat()})
        return Response(200, {"access_token": token, "expires_in": ttl, "token_type": "Bearer"})

    def guard(self, request: Request, handler: Handler) -> Response:
        """Bearer check (revocation knob, sandbox-clock expiry) and the per-minute quota, then the handler."""
        if not self.tokens.accepts(request, int(self.settings["token_ttl"])):
            return _error(401, "UNAUTHORIZED", "Full authentication is required to access this resource",
                          request.path)
        refused = self.quota.refuse(
            int(self.settings["rate_limit_per_minute"]), self.settings["rate_limit_retry_after"],
            lambda: _error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded", request.path))
        return refused or handler(request)

    # paging and views

    def page(self, request: Request, items: list[dict[str, Any]], omit_empty: bool = False) -> Response:
        """``{content, page}`` with 0-based ``page`` and ``size`` 1..200 (default 10); knobs applied here."""

        def envelope(chunk: list[dict[str, Any]], offset: int, size: int, total: int) -> dict[str, Any]:
            body: dict[str, Any] = {"content": chunk,
                                    "page": {"size": size, "totalElements": total,
                                             "totalPages": (total + size - 1) // size, "number": offset // size}}
            if omit_empty and not chunk:
                del body["content"]
            return body

        return distributor.page(request, items, self._window, envelope)

    def _window(self, request: Request) -> tuple[int, int] | Response:
        try:
            number = int(request.arg("page", "0") or 0)
            size = int(request.arg("size", str(DEFAULT_PAGE_SIZE)) or DEFAULT_PAGE_SIZE)
        except ValueError:
            return _error(400, "BAD_REQUEST", "page and size must be integers", request.path)
        if number < 0 or size < 1:
            return _error(422, "UNPROCESSABLE_ENTITY", "page must be >= 0 and size >= 1", request.path)
        if size > MAX_PAGE_SIZE:
            if self.settings["oversize"] == "reject":
                return _error(422, "UNPROCESSABLE_ENTITY", f"size must be <= {MAX_PAGE_SIZE}", request.path)
            size = MAX_PAGE_SIZE
        return number * size, size

    def subscription_view(self, subscription: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        timeline = self.world.seats[subscription["id"]]
        changed = timeline.last_change(now)
        view = {**subscription, "quantity": timeline.at(now), "updatedDate": mixed_instant(changed, 1)}
        cancelled = self.world.cancellations.get(subscription["id"])
        if cancelled is not None and cancelled <= now:
            view.update(status="Cancelled", endDate=cancelled.date().isoformat(),
                        updatedDate=mixed_instant(cancelled, 1))
        if not self.settings["mixed_dates"]:
            for name in ("startDate", "createdDate", "updatedDate"):
                moment = dt.datetime.fromisoformat(view[name])
                moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
                view[name] = mixed_instant(moment.astimezone(dt.UTC), 0)
        return view

    def invoice_view(self, invoice: dict[str, Any]) -> dict[str, Any]:
        if self.settings["invoice_status"]:
            return dict(invoice)
        return {key: value for key, value in invoice.items() if key != "status"}

    def draft_items(self, offset: int, company_id: str | None) -> list[dict[str, Any]]:
        start = _month_offset(month_start_of(self.clock.now()), offset)
        items = []
        for subscription in self.world.subscriptions:
            if subscription["billingTerm"] not in ("Monthly", "Annual") or subscription["status"] not in (
                "Active", "PendingCancel"
            ):
                continue
            company = self.companies[subscription["companyId"]]
            quantity = self.world.seats[subscription["id"]].at(self.clock.now())
            items.append(month_item(f"draft-{start:%Y%m}-{len(items) + 1}", company, subscription, start, quantity))
        if offset == 0:
            with self.lock:
                items.extend(self.world.extra_draft_items)
        return [item for item in items if company_id in (None, item["companyId"])]

    def usage_summary_view(self, summary: dict[str, Any]) -> dict[str, Any]:
        today = self.clock.now().date()
        start = month_start_of(self.clock.now())
        lines = [line for offset in range((today - start).days)
                 for line in usage_lines(self.seed, summary, start + dt.timedelta(days=offset))]
        return {**summary, "currentCharges": sum((line["currentCharges"] for line in lines), Decimal(0)),
                "partnerTotal": sum((line["partnerTotal"] for line in lines), Decimal(0))}

    # admin

    def set_quantity(self, request: Request) -> Response:
        body = request.json() or {}
        subscription = self.subscriptions.get(str(body.get("subscriptionId")))
        if subscription is None:
            return _error(404, "NOT_FOUND", "no such subscription", request.path)
        return self.change_seats(subscription, int(body["quantity"]))

    def update(self, request: Request) -> Response:
        """``PUT /subscriptions/{id}``: the sandbox applies ``quantity`` (a whole number >= 1, active subscriptions)."""
        subscription = self.subscriptions.get(request.params["id"])
        if subscription is None:
            return _error(404, "NOT_FOUND", "Subscription not found", request.path)
        quantity, status = (request.json() or {}).get("quantity"), self.subscription_view(subscription)["status"]
        if not isinstance(quantity, (int, Decimal)) or isinstance(quantity, bool) or quantity != int(quantity) \
                or quantity < 1 or status not in ("Active", "Trial"):
            return _error(422, "UNPROCESSABLE_ENTITY", f"quantity {quantity} cannot be set on a {status} subscription "
                          "(a whole number of at least 1 on an active one)", request.path)
        return self.change_seats(subscription, int(quantity))

    def change_seats(self, subscription: dict[str, Any], quantity: int) -> Response:
        """A seat count from now: a history entry and a ``prorate`` draft item for the changed seats."""
        now = self.clock.now()
        timeline = self.world.seats[subscription["id"]]
        previous = timeline.at(now)
        timeline.schedule(now, quantity)
        if quantity != previous:
            with self.lock:
                item_id = f"prorate-{len(self.world.extra_draft_items) + 1}"
                self.world.extra_draft_items.append(prorate_item(
                    item_id, self.companies[subscription["companyId"]], subscription, now, quantity - previous))
        return Response(200, self.subscription_view(subscription))


def _sorted(items: list[dict[str, Any]], request: Request, allowed: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """Apply ``sort=field[,asc|desc]``; ``None`` when the field is not sortable (the caller answers 400)."""
    spec = request.arg("sort")
    if not spec:
        return items
    name, _, direction = spec.partition(",")
    if name not in allowed:
        return None

    def key(item: dict[str, Any]) -> tuple[bool, Any]:
        value = item.get(name, (item.get("address") or {}).get(name))
        return value is None, str(value) if not isinstance(value, (int, Decimal)) else value

    return sorted(items, key=key, reverse=direction.lower() == "desc")


def _filtered(items: list[dict[str, Any]], request: Request, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Equality filters on top-level or ``address`` fields; booleans compare as ``true``/``false``."""
    out = items
    for name in names:
        wanted = request.arg(name)
        if wanted is None:
            continue

        def value(item: dict[str, Any], name: str = name) -> str:
            raw = item[name] if name in item else (item.get("address") or {}).get(name)
            return str(raw).lower() if isinstance(raw, bool) else str(raw)

        out = [item for item in out if value(item).lower() == wanted.lower()]
    return out


def build(clock: Clock, seed: int = 1) -> SandboxApp:
    """The Pax8 sandbox app for one seed; the scenario month is the month the clock is in now."""
    app = SandboxApp("pax8", clock)
    state = _Pax8(pax8_world(seed, month_start_of(clock.now())), clock, seed)
    world = state.world

    vendor = Routes(app)
    for token_path in (r"/token", r"/oauth/token", r"/auth/token"):
        vendor("POST", token_path)(state.issue)
    vendor.not_found(lambda request: _error(404, "NOT_FOUND", "No such resource", request.path))
    distributor.admin_routes(app, "pax8", state.settings, state.set_quantity)
    api = Routes(app, guard=state.guard)

    @api("GET", r"/companies")
    def companies(request: Request) -> Response:
        items = _filtered(world.companies, request, (
            "city", "country", "stateOrProvince", "postalCode", "selfServiceAllowed", "billOnBehalfOfEnabled",
            "orderApprovalRequired", "status"))
        ordered = _sorted(items, request, ("name", "city", "country", "stateOrProvince", "postalCode"))
        if ordered is None:
            return _error(400, "BAD_REQUEST", "unsupported sort", request.path)
        return state.page(request, ordered)

    @api("GET", r"/companies/(?P<id>[^/]+)")
    def company(request: Request) -> Response:
        found = state.companies.get(request.params["id"])
        return Response(200, found) if found else _error(404, "NOT_FOUND", "Company not found", request.path)

    @api("GET", r"/subscriptions")
    def subscriptions(request: Request) -> Response:
        items = [state.subscription_view(s) for s in world.subscriptions]
        items = _filtered(items, request, ("companyId", "status", "billingTerm", "productId"))
        ordered = _sorted(items, request, ("quantity", "startDate", "endDate", "createdDate", "billingStart", "price"))
        if ordered is None:
            return _error(400, "BAD_REQUEST", "unsupported sort", request.path)
        return state.page(request, ordered)

    @api("GET", r"/subscriptions/(?P<id>[^/]+)")
    def subscription(request: Request) -> Response:
        found = state.subscriptions.get(request.params["id"])
        if not found:
            return _error(404, "NOT_FOUND", "Subscription not found", request.path)
        return Response(200, state.subscription_view(found))

    api("PUT", r"/subscriptions/(?P<id>[^/]+)")(state.update)

    @api("GET", r"/subscriptions/(?P<id>[^/]+)/history")
    def history(request: Request) -> Response:
        found = state.subscriptions.get(request.params["id"])
        if not found:
            return _error(404, "NOT_FOUND", "Subscription not found", request.path)
        changes = world.seats[found["id"]].changes(clock.now())
        if state.settings["history_shape"] == "spec":
            content = [{**found, "quantity": new, "updatedDate": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
                       for when, _, new in changes]
        else:
            content = [{"id": f"{found['id']}-h{number}", "action": "QuantityChange",
                        "date": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "quantity": new, "previousQuantity": old}
                       for number, (when, old, new) in enumerate(changes, start=1)]
        return Response(200, {"content": content})

    @api("GET", r"/products/(?P<id>[^/]+)")
    def product(request: Request) -> Response:
        found = world.products.get(request.params["id"])
        if not found:
            return _error(404, "NOT_FOUND", "Product not found", request.path)
        return Response(200, {"id": found["id"], "name": found["name"], "vendorName": found["vendorName"],
                              "vendorSku": found["vendorSkuId"], "shortDescription": found["name"]})

    @api("GET", r"/products/(?P<id>[^/]+)/pricing")
    def pricing(request: Request) -> Response:
        found = world.products.get(request.params["id"])
        if not found:
            return _error(404, "NOT_FOUND", "Product not found", request.path)
        rate = {"partnerBuyRate": found["partnerCost"], "suggestedRetailPrice": found["price"],
                "startQuantityRange": 1, "endQuantityRange": None, "chargeType": "Per Unit"}
        content = [
            {"billingTerm": "Monthly", "commitmentTerm": None, "commitmentTermInMonths": None, "type": "Flat",
             "unitOfMeasurement": "User", "rates": [rate]},
            {"billingTerm": "Annual", "commitmentTerm": "1-Year", "commitmentTermInMonths": 12, "type": "Flat",
             "unitOfMeasurement": "User", "rates": [rate]},
        ]
        return Response(200, {"content": content})

    @api("GET", r"/invoices")
    def invoices(request: Request) -> Response:
        items = _filtered(world.invoices, request, ("companyId", "status", "invoiceDate", "dueDate"))
        start, end = request.arg("invoiceDateRangeStart"), request.arg("invoiceDateRangeEnd")
        items = [i for i in items if (not start or i["invoiceDate"] >= start) and (not end or i["invoiceDate"] <= end)]
        ordered = _sorted(items, request, ("invoiceDate", "dueDate", "total", "balance", "status"))
        if ordered is None:
            return _error(400, "BAD_REQUEST", "unsupported sort", request.path)
        return state.page(request, [state.invoice_view(i) for i in ordered],
                          omit_empty=bool(state.settings["omit_empty_content"]))

    def draft(request: Request) -> Response:
        try:
            offset = int(request.arg("monthOffset", "1") or 1)
        except ValueError:
            return _error(400, "BAD_REQUEST", "monthOffset must be 0 or 1", request.path)
        if offset not in (0, 1):
            return _error(400, "BAD_REQUEST", "monthOffset must be 0 or 1", request.path)
        return state.page(request, state.draft_items(offset, request.arg("companyId")))

    api("GET", r"/invoices/draftItems")(draft)
    api("GET", r"/invoices/draft-items")(draft)

    @api("GET", r"/invoices/(?P<id>[^/]+)")
    def invoice(request: Request) -> Response:
        found = next((i for i in world.invoices if i["id"] == request.params["id"]), None)
        if not found:
            return _error(404, "NOT_FOUND", "Invoice not found", request.path)
        return Response(200, state.invoice_view(found))

    @api("GET", r"/invoices/(?P<id>[^/]+)/items")
    def invoice_items(request: Request) -> Response:
        if request.params["id"] not in world.invoice_items:
            return _error(404, "NOT_FOUND", "Invoice not found", request.path)
        return state.page(request, world.invoice_items[request.params["id"]])

    @api("GET", r"/subscriptions/(?P<id>[^/]+)/usage-summaries")
    def usage_summaries(request: Request) -> Response:
        items = [state.usage_summary_view(s) for s in world.usage_summaries if s["subscriptionId"]
                 == request.params["id"]]
        items = _filtered(items, request, ("resourceGroup", "companyId"))
        ordered = _sorted(items, request, ("resourceGroup", "currentCharges", "partnerTotal"))
        if ordered is None:
            return _error(400, "BAD_REQUEST", "unsupported sort", request.path)
        return state.page(request, ordered)

    def summary_of(request: Request) -> dict[str, Any] | None:
        return next((s for s in world.usage_summaries if s["id"] == request.params["id"]), None)

    @api("GET", r"/usage-summaries/(?P<id>[^/]+)")
    def usage_summary(request: Request) -> Response:
        found = summary_of(request)
        if not found:
            return _error(404, "NOT_FOUND", "Usage summary not found", request.path)
        return Response(200, state.usage_summary_view(found))

    @api("GET", r"/usage-summaries/(?P<id>[^/]+)/usage-lines")
    def lines(request: Request) -> Response:
        found = summary_of(request)
        if not found:
            return _error(404, "NOT_FOUND", "Usage summary not found", request.path)
        raw_day = request.arg("usageDate")
        if not raw_day:
            return _error(422, "UNPROCESSABLE_ENTITY", "usageDate is required", request.path)
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            return _error(422, "UNPROCESSABLE_ENTITY", "usageDate must be yyyy-MM-dd", request.path)
        today = clock.now().date()
        first_visible = (month_start_of(clock.now()) - dt.timedelta(days=1)).replace(day=1)
        items = usage_lines(seed, found, day) if first_visible <= day < today else []
        product_id = request.arg("productId")
        return state.page(request, [i for i in items if product_id in (None, i["productId"])])

    return app
