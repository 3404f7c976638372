"""Exact Online's REST API over HTTP: the OAuth token route, OData v2 verbose JSON listings and document routes
(sales entries, sales invoices, cash entries: ``sandbox.exact_online.cash``).

Why one guard: every API call counts against the limits and carries the six ``X-RateLimit-*`` headers, whatever
its answer; auth, division and Exact's error body (``{"error": {"code", "message": {"lang", "value"}}}``) are
decided once for all routes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.exact_online.cash import register_cash
from sandbox.exact_online.consent import register_consent
from sandbox.exact_online.division import CREDENTIALS, DIVISION, ExactState, Invalid
from sandbox.routing import Routes

if TYPE_CHECKING:
    from sandbox.routing import Guard

PAGE_SIZE = 60
ODATA_SAFE = "$(),'"  # left as they are in the query of a __next link


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": {"code": "", "message": {"lang": "", "value": message}}})


def _origin(request: Request) -> str:
    return f"https://{request.header('Host', '127.0.0.1')}"


def _odata_date(value: str | None) -> str | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return f"/Date({int(parsed.timestamp() * 1000)})/"


def _filter(expression: str | None) -> list[tuple[str, str]]:
    """``YourRef eq 'X'``, ``EntryID eq guid'…'``, joined by ``or``/``and``: enough for the exporter's look-ups."""
    if not expression:
        return []
    clauses = []
    for part in expression.replace(" and ", " or ").split(" or "):
        name, op, value = part.strip().strip("()").split(" ", 2)
        if op != "eq":
            raise Invalid(400, f"Operator {op} wordt niet ondersteund in de sandbox")
        clauses.append((name, value.removeprefix("guid").strip("'")))
    return clauses


def _render(record: dict[str, Any], select: str | None, deferred: dict[str, str] | None = None) -> dict[str, Any]:
    shown = dict(record)
    for name in ("EntryDate", "InvoiceDate", "DueDate", "From", "To", "StartTime", "EndTime"):
        if isinstance(shown.get(name), str) and not shown[name].startswith("/Date("):
            shown[name] = _odata_date(shown[name])
    for name, uri in (deferred or {}).items():
        shown[name] = {"__deferred": {"uri": uri}}
    if select:
        wanted = [name.strip() for name in select.split(",")]
        shown = {name: shown.get(name) for name in wanted}
    return shown


def build(clock: Clock, seed: int = 1, state_dir: Path | None = None, *, per_minute: int = 60, per_day: int = 5000,
          minute_seconds: float = 60.0, strict: bool = False,
          redirect_uris: tuple[str, ...] = (CREDENTIALS["redirect_uri"],)) -> SandboxApp:
    """The Exact Online sandbox (one division, ``DIVISION``); ``redirect_uris`` are the app's registered ones."""
    app = SandboxApp("exact_online", clock)
    state = ExactState(clock, seed, state_dir, per_minute, per_day, minute_seconds, strict)

    def guard(request: Request, handler: Handler) -> Response:
        """Auth, rate limit, division, error envelope and headers around every API handler."""
        allowed, headers = state.count_call()
        endpoint = request.path.split("(")[0]
        if not allowed:
            state.throttled += 1
            response = _error(429, "API rate limit exceeded.")
        elif state.blocked(endpoint):
            response = _error(429, "Too many errors on this endpoint; blocked for an hour.")
        elif not state.authorised(request):
            response = _error(401, "Access token expired or invalid.")
        elif "division" in request.params and request.params["division"] != str(DIVISION):
            response = _error(403, "Forbidden - WrongDivision")
        else:
            try:
                with state.lock:
                    response = handler(request)
                    if request.method != "GET":
                        state.save()
            except Invalid as invalid:
                response = _error(invalid.status, invalid.message)
        state.note_error(endpoint, response.status)
        response.headers.update(headers)
        return response

    def listing(request: Request, rows: list[dict[str, Any]], deferred: Any = None) -> Response:
        clauses = _filter(request.arg("$filter"))
        matched = [row for row in rows if all(str(row.get(name)) == value for name, value in clauses)]
        skip = int(request.arg("$skiptoken") or 0)
        top = request.arg("$top")
        end = min(int(top), len(matched)) if top else len(matched)
        page = matched[skip: min(end, skip + PAGE_SIZE)]
        body: dict[str, Any] = {"results": [_render(row, request.arg("$select"),
                                                    deferred(row) if deferred else None) for row in page]}
        if skip + len(page) < end:  # absolute, as the live API sends it (https://host/api/v1/{division}/...)
            query = {key: values[0] for key, values in request.query.items()}
            query["$skiptoken"] = str(skip + len(page))
            body["__next"] = f"{_origin(request)}{request.path}?{urlencode(query, safe=ODATA_SAFE)}"
        return Response(200, {"d": body})

    Routes(app, "/api/oauth2")("POST", r"/token")(lambda request: state.token(request.form()))
    register_consent(app, state, redirect_uris)
    admin = Routes(app, "/__admin")

    @admin("POST", r"/reauthorise")
    def reauthorise(request: Request) -> Response:
        """A person consented again in Exact's login page: the authorisation code works once more."""
        with state.lock:
            state.data["code_used"] = False
            state.save()
        return Response(204)

    @admin("GET", r"/state")
    def admin_state(request: Request) -> Response:
        with state.lock:
            body: dict[str, Any] = {key: list(state.data[key].values())
                                    for key in ("entries", "entry_lines", "invoices", "invoice_lines")}
            body["cash_entry_lines"] = list(state.data.get("cash_entry_lines", {}).values())
            return Response(200, {**body, "throttled": state.throttled})

    api = Routes(app, "/api/v1", guard=guard)

    @api("GET", r"/current/Me")
    def me(request: Request) -> Response:
        return Response(200, {"d": {"results": [{"CurrentDivision": DIVISION, "UserName": "cspbill"}]}})

    def master(kind: str) -> Any:
        def handler(request: Request) -> Response:
            return listing(request, [{"ID": key, **value} for key, value in state.master[kind].items()])

        return handler

    api("GET", r"/(?P<division>\d+)/crm/Accounts")(master("accounts"))
    api("GET", r"/(?P<division>\d+)/financial/GLAccounts")(master("gl"))
    api("GET", r"/(?P<division>\d+)/logistics/Items")(master("items"))

    for kind, service, entity, lines_entity, key in (
        ("entry", "salesentry", "SalesEntries", "SalesEntryLines", "EntryID"),
        ("invoice", "salesinvoice", "SalesInvoices", "SalesInvoiceLines", "InvoiceID"),
    ):
        _document_routes(app, guard, listing, state, kind, service, entity, lines_entity, key)
    register_cash(app, guard, listing, state)
    return app


def _document_routes(app: SandboxApp, guard: Guard, listing: Any, state: ExactState, kind: str, service: str,
                     entity: str, lines_entity: str, key: str) -> None:
    documents = "entries" if kind == "entry" else "invoices"
    api = Routes(app, rf"/api/v1/(?P<division>\d+)/{service}", guard=guard)

    def deferred(row: dict[str, Any]) -> dict[str, str]:
        return {lines_entity: f"/api/v1/{DIVISION}/{service}/{lines_entity}?$filter={key} eq guid'{row[key]}'"}

    @api("GET", rf"/{entity}")
    def list_documents(request: Request) -> Response:
        return listing(request, list(state.data[documents].values()), deferred)

    @api("POST", rf"/{entity}")
    def create(request: Request) -> Response:
        created = state.create(kind, request.json() or {})
        return Response(201, {"d": _render(created, None, deferred(created))})

    @api("GET", rf"/{entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    def read(request: Request) -> Response:
        document = state.data[documents].get(request.params["id"])
        if document is None:
            return _error(404, "Niet gevonden")
        return Response(200, {"d": _render(document, request.arg("$select"), deferred(document))})

    @api("PUT", rf"/{entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    def update(request: Request) -> Response:
        document = state.data[documents].get(request.params["id"])
        if document is None:
            return _error(404, "Niet gevonden")
        payload = request.json() or {}
        if lines_entity in payload:
            return _error(400, f"{lines_entity} kunnen niet via PUT worden gewijzigd")
        if document.get("Status") == 50:
            return _error(400, "Verwerkte boekingen kunnen niet worden gewijzigd")
        document.update({name: value for name, value in payload.items() if name not in (key, "Status")})
        return Response(204)

    @api("DELETE", rf"/{entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    def delete(request: Request) -> Response:
        document = state.data[documents].get(request.params["id"])
        if document is None:
            return _error(404, "Niet gevonden")
        if document.get("Status") == 50:
            return _error(400, "Verwerkte boekingen kunnen niet worden verwijderd")
        del state.data[documents][request.params["id"]]
        for line_id in [i for i, ln in state.data[f"{kind}_lines"].items() if ln[key] == request.params["id"]]:
            del state.data[f"{kind}_lines"][line_id]
        return Response(204)

    @api("GET", rf"/{lines_entity}")
    def list_lines(request: Request) -> Response:
        return listing(request, list(state.data[f"{kind}_lines"].values()))

    @api("POST", rf"/{lines_entity}")
    def add_line(request: Request) -> Response:
        payload = request.json() or {}
        document_id = str(payload.get(key, ""))
        if document_id not in state.data[documents]:
            return _error(400, f"Verplicht: {key}")
        line = state._line(document_id, payload, kind)
        state.data[f"{kind}_lines"][line["ID"]] = line
        state.totals(kind, document_id)
        return Response(201, {"d": _render(line, None)})

    @api("DELETE", rf"/{lines_entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    def delete_line(request: Request) -> Response:
        line = state.data[f"{kind}_lines"].pop(request.params["id"], None)
        if line is None:
            return _error(404, "Niet gevonden")
        document_id = line[key]
        if not any(ln[key] == document_id for ln in state.data[f"{kind}_lines"].values()):
            del state.data[documents][document_id]  # the last line takes the entry with it
        else:
            state.totals(kind, document_id)
        return Response(204)
