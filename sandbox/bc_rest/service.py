"""The BC API v2.0 over HTTP: tenant, environment, bearer and company checks, the per-user rate limit, ``$batch``;
``salesInvoices`` and ``salesCreditMemos`` with their lines, each the same set of operations on its own book, and
the customer payment journals (``sandbox.bc_rest.payments``).

Why one guard for every operation: a direct request and a ``$batch`` part reach the same operations (one
``Router`` for both); the direct route adds the checks, the quota and saving the state after a write.
"""

from __future__ import annotations

import copy
import math
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sandbox.bc_rest import multipart, payments
from sandbox.bc_rest.company import KINDS, ApiError, Book, Company, etag
from sandbox.bc_rest.multipart import is_multipart
from sandbox.business_central import AUDIENCE
from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.entra import TENANT_DOMAINS, TENANT_ID, verify_bearer
from sandbox.routing import Router, Routes

PREFIX = "/v2.0"
ENVIRONMENT = "production"
COMPANY_NAME = "Wolkwerk Deutschland"
DEMO_TENANT = "demo-tenant"  # the tenant segment of the shipped config.yaml
CREDENTIALS: dict[str, str] = {
    "tenant_id": TENANT_ID,
    "environment": ENVIRONMENT,
    "scope": f"{AUDIENCE}/.default",
    "company_name": COMPANY_NAME,
}
MAX_BATCH = 100
PAGE_SIZE = 1000

API = r"/(?P<tenant>[^/]+)/(?P<env>[^/]+)/api/v2\.0"


class Bucket:
    """A token bucket per user on the sandbox clock."""

    def __init__(self, clock: Clock, capacity: int, period: float) -> None:
        self.clock, self.capacity, self.rate = clock, float(capacity), capacity / period
        self.users: dict[str, tuple[float, float]] = {}
        self.refused = 0  # 429s sent, for tests that prove the client paced itself
        self.lock = threading.Lock()

    def take(self, user: str, n: int) -> float:
        """0 when admitted, else the seconds until ``n`` tokens are there."""
        now = self.clock.now().timestamp()
        with self.lock:
            tokens, stamp = self.users.get(user, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens >= n:
                self.users[user] = (tokens - n, now)
                return 0.0
            self.users[user] = (tokens, now)
            return (n - tokens) / self.rate


def public(entity: dict[str, Any], kind: str) -> dict[str, Any]:
    """An invoice or line as the API shows it: its ``@odata.etag`` first, no internal fields."""
    shown = {key: value for key, value in entity.items() if key not in ("version", "lines")}
    return {"@odata.etag": etag(kind, entity), **shown}


def _render(book: Book, invoice: dict[str, Any], expand: bool) -> dict[str, Any]:
    shown = public(invoice, "invoice")
    if expand:
        shown[book.kind.lines] = [public(line, "line") for line in invoice["lines"]]
    return shown


def _select(row: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return row
    wanted = {"@odata.etag", *(kind.lines for kind in KINDS), *(name.strip() for name in select.split(","))}
    return {key: value for key, value in row.items() if key in wanted}


_FILTER = re.compile(r"^\s*(externalDocumentNumber|number)\s+eq\s+'((?:[^']|'')*)'\s*$")


def build(clock: Clock, seed: int = 1, state_dir: Path | None = None, *, rate_limit: int = 6000,
          rate_period: float = 300.0) -> SandboxApp:
    """The BC API v2.0 sandbox: one tenant (the Entra sandbox's), environment ``Production``, one company."""
    app = SandboxApp("bc_rest", clock)
    company = Company(clock, seed, state_dir)
    bucket = Bucket(clock, rate_limit, rate_period)

    def user_of(request: Request) -> str:
        return (request.header("Authorization") or "")[-16:]

    def throttled(request: Request, operations: int) -> Response | None:
        wait = bucket.take(user_of(request), operations)
        if wait <= 0:
            return None
        bucket.refused += 1
        return Response(429, {"error": {"code": "Application_TooManyRequests",
                                        "message": "Too many requests reached. Actual (6001). Maximum (6000)."}},
                        {"Retry-After": str(max(1, math.ceil(wait)))})

    def guard(request: Request) -> Response | None:
        if (request.params.get("tenant") or "").lower() not in (TENANT_ID, DEMO_TENANT, *TENANT_DOMAINS):
            return Response(404, {"error": {"code": "BadRequest_NotFound", "message": "Tenant not found."}})
        if (request.params.get("env") or "").lower() != ENVIRONMENT:  # BC environment names ignore case
            return Response(404, {"error": {"code": "BadRequest_EnvironmentNotFound",
                                            "message": f"Environment '{request.params.get('env')}' not found."}})
        verdict = verify_bearer(request, AUDIENCE, style="business_central")
        if verdict is not True:
            return verdict  # type: ignore[return-value]
        return company_refusal(request)

    def company_refusal(request: Request) -> Response | None:
        """The company a request names: ``companies({id})`` in the path, else the ``Company`` header or the
        ``company`` query parameter (the company's name, or its id); no company at all is BC's "default company
        cannot be found" (there is no ``ServicesDefaultCompany`` online)."""
        if "cid" not in request.params:
            return None  # a route outside any company (``companies`` itself)
        named = request.params["cid"] or request.header("Company") or request.arg("company")
        if named is None:
            return ApiError(400, "BadRequest", "Cannot process the request because the default company cannot be "
                                               "found. Add a query string in the form of company=[name].").response()
        if named not in (company.id, COMPANY_NAME):
            return ApiError(404, "Internal_CompanyNotFound", f"Company '{named}' not found.").response()
        return None

    # -- operations, shared by direct requests and $batch ---------------------------------------------------

    def documents(entity_set: str) -> dict[str, Handler]:
        """The operations on one book (``salesInvoices`` or ``salesCreditMemos``), by name."""

        def book() -> Book:  # looked up per request: a rolled-back $batch replaces the books
            return company.books[entity_set]

        def listing(request: Request) -> Response:
            shelf = book()
            expression = request.arg("$filter")
            if expression:
                match = _FILTER.match(expression)
                if match is None:
                    raise ApiError(400, "BadRequest", f"The sandbox cannot evaluate the filter '{expression}'.")
                value = match.group(2).replace("''", "'")
                if match.group(1) == "externalDocumentNumber":
                    rows = [shelf.documents[i] for i in shelf.by_external.get(value.upper(), [])]
                else:
                    rows = [inv for inv in shelf.documents.values() if inv["number"] == value]
            else:
                rows = list(shelf.documents.values())
            skip, top = int(request.arg("$skip") or 0), request.arg("$top")
            end = min(len(rows), skip + int(top)) if top else len(rows)
            page = rows[skip: min(end, skip + PAGE_SIZE)]
            expand = request.arg("$expand") == shelf.kind.lines
            body: dict[str, Any] = {"value": [_select(_render(shelf, inv, expand), request.arg("$select"))
                                              for inv in page]}
            if skip + len(page) < end:
                query = {k: v[0] for k, v in request.query.items()}
                query["$skip"] = str(skip + len(page))
                body["@odata.nextLink"] = f"{request.path}?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
            return Response(200, body)

        def create(request: Request) -> Response:
            shelf = book()
            return Response(201, _render(shelf, shelf.create(request.json() or {}), expand=True))

        def get(request: Request) -> Response:
            shelf = book()
            invoice = shelf.get(request.params["id"])
            return Response(200, _render(shelf, invoice, request.arg("$expand") == shelf.kind.lines))

        def patch(request: Request) -> Response:
            shelf = book()
            invoice = shelf.get(request.params["id"])
            return Response(200, _render(shelf, shelf.patch(invoice, request.json() or {},
                                                            request.header("If-Match")), False))

        def delete(request: Request) -> Response:
            shelf = book()
            shelf.delete(shelf.get(request.params["id"]), request.header("If-Match"))
            return Response(204)

        def list_lines(request: Request) -> Response:
            invoice = book().get(request.params["id"])
            return Response(200, {"value": [public(line, "line") for line in invoice["lines"]]})

        def add_line(request: Request) -> Response:
            shelf = book()
            return Response(201, public(shelf.add_line(shelf.get(request.params["id"]), request.json() or {}),
                                        "line"))

        def patch_line(request: Request) -> Response:
            shelf = book()
            line = shelf.patch_line(shelf.get(request.params["id"]), request.params["lid"], request.json() or {},
                                    request.header("If-Match"))
            return Response(200, public(line, "line"))

        def delete_line(request: Request) -> Response:
            shelf = book()
            shelf.delete_line(shelf.get(request.params["id"]), request.params["lid"], request.header("If-Match"))
            return Response(204)

        def post(request: Request) -> Response:
            shelf = book()
            shelf.post(shelf.get(request.params["id"]))
            return Response(204)

        return {"list": listing, "create": create, "get": get, "patch": patch, "delete": delete,
                "list_lines": list_lines, "add_line": add_line, "patch_line": patch_line,
                "delete_line": delete_line, "post": post}

    def serve(request: Request, handler: Handler) -> Response:
        """A direct request: the checks and one quota token, then the operation under the company's lock."""
        refused = guard(request) or throttled(request, 1)
        if refused:
            return refused
        with company.lock:
            response = run(handler, request)
            if request.method != "GET" and response.status < 400:
                company.save()
        return response

    def run(handler: Handler, request: Request) -> Response:
        try:
            return handler(request)
        except ApiError as error:
            return error.response()

    api = Routes(app, API, guard=serve)
    operations = Router()  # the same operations, as ``$batch`` parts reach them

    def operation(method: str, pattern: str, handler: Handler) -> None:
        operations.add(method, pattern, handler)
        api(method, pattern)(handler)

    @api("GET", r"/companies")
    def companies(request: Request) -> Response:
        return Response(200, {"value": [{"id": company.id, "name": COMPANY_NAME, "displayName": COMPANY_NAME,
                                         "businessProfileId": ""}]})

    for kind in KINDS:
        handlers = documents(kind.entity_set)
        collection = rf"(?:/companies\((?P<cid>[0-9a-f-]+)\))?/{kind.entity_set}"
        one = collection + r"\((?P<id>[0-9a-f-]+)\)"
        line_route = one + rf"/{kind.lines}\((?P<lid>[0-9a-f-]+)\)"
        operation("GET", collection, handlers["list"])
        operation("POST", collection, handlers["create"])
        operation("GET", one, handlers["get"])
        operation("PATCH", one, handlers["patch"])
        operation("DELETE", one, handlers["delete"])
        operation("GET", one + rf"/{kind.lines}", handlers["list_lines"])
        operation("POST", one + rf"/{kind.lines}", handlers["add_line"])
        operation("PATCH", line_route, handlers["patch_line"])
        operation("DELETE", line_route, handlers["delete_line"])
        operation("POST", one + r"/Microsoft\.NAV\.post", handlers["post"])
    payments.register(operation, company)

    @Routes(app)("GET", r"/__admin/state")
    def admin_state(request: Request) -> Response:
        with company.lock:
            return Response(200, {"company_id": company.id, "throttled": bucket.refused,
                                  "customerPayments": list(company.state.get("customerPayments", {}).values()), **{
                kind.state_key: [_render(company.books[kind.entity_set], doc, expand=True)
                                 for doc in company.state[kind.state_key].values()] for kind in KINDS}})

    @Routes(app, API)("POST", r"/\$batch")
    def batch(request: Request) -> Response:
        refused = guard(request)
        if refused:
            return refused
        multipart_batch = is_multipart(request.header("Content-Type"))
        try:
            parts = ([vars(part) for part in multipart.parse(request.header("Content-Type") or "", request.body)]
                     if multipart_batch else (request.json() or {}).get("requests") or [])
        except multipart.MultipartError as error:
            return ApiError(400, "BadRequest", str(error)).response()
        if len(parts) > MAX_BATCH:
            return ApiError(400, "BadRequest", f"The batch contains {len(parts)} operations; the maximum is "
                                               f"{MAX_BATCH}.").response()
        refused = throttled(request, max(1, len(parts)))
        if refused:
            return refused
        snapshot = ((request.header("Isolation") or "").lower() == "snapshot"
                    or request.has_fault("roll_back") is not None)
        with company.lock:
            before = copy.deepcopy(company.state) if snapshot else None
            answers = [_dispatch(part, request) for part in parts]
            if before is not None and any(status >= 400 for _, status, _, _ in answers):
                company.restore(before)  # the answers stay as they were: BC reports the parts that ran as 2xx
            company.save()
        if multipart_batch:
            body, content_type = multipart.render([
                multipart.Answer(pid, status, headers, _encode(payload), part.get("changeset"))
                for part, (pid, status, headers, payload) in zip(parts, answers, strict=True)])
            return Response(200, body, content_type=content_type)
        return Response(200, {"responses": [{"id": pid, "status": status, "headers": headers, "body": body}
                                            for pid, status, headers, body in answers]})

    def _dispatch(part: dict[str, Any], outer: Request) -> tuple[str, int, dict[str, str], Any]:
        pid = str(part.get("id", ""))
        method = str(part.get("method", "GET")).upper()
        url = urlsplit(str(part.get("url", "")))
        path = "/" + unquote(url.path).lstrip("/")
        resolved = operations.resolve(method, path)
        if resolved is not None:
            handler, params = resolved
            headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
            inner = Request(method=method, path=path, query=parse_qs(url.query, keep_blank_values=True),
                            headers={**outer.headers, **headers},
                            body=_encode(part.get("body")), params={**outer.params, **params},
                            faults=[], clock=outer.clock)
            refused = company_refusal(inner)
            response = refused or run(handler, inner)
            headers_out = {"content-type": "application/json"} if response.body is not None else {}
            return pid, response.status, headers_out, response.body
        return pid, 404, {}, {"error": {"code": "BadRequest_NotFound", "message": f"No route {method} {path}."}}

    return app


def _encode(body: Any) -> bytes:
    """A batch part's body as the bytes a direct request would carry (the sandbox's one JSON encoder)."""
    return Response(body=body).encode()[0] if body is not None else b""
