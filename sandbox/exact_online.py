"""Exact Online stand-in (erp.md §4, §7.3): OAuth with single-use rotating refresh tokens, OData v2 verbose JSON,
``salesentry/SalesEntries`` and ``salesinvoice/SalesInvoices``, and the per-division rate limits.

Why these details: the exporter's hard parts are exactly here. Refresh tokens die on use (reusing one → 400
``invalid_grant``) and may not be refreshed within 570 s of the last refresh; access tokens live 600 s on the sandbox
clock; every answer carries the six ``X-RateLimit-*`` headers (resets in epoch milliseconds) and the 61st call of a
minute gets 429; dates come back as ``/Date(ms)/``; errors use ``{"error": {"code", "message": {"lang", "value"}}}``
with Dutch texts, some validation errors as HTTP 500; deleting an entry's last line deletes the entry. Nothing in
Exact makes ``YourRef`` unique: neither does the sandbox.

Knobs: everything of ``sandbox.core``; kind ``expire_token`` on any API route answers 401 as for an expired token;
``build(..., per_minute=, per_day=, minute_seconds=)`` scales the limits for tests and benchmarks; ``strict=True``
blocks an endpoint for the hour after 10 client errors, as Exact does.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.routing import Routes
from sandbox.state_file import StateFile

PREFIX = ""
DIVISION = 1234567
CREDENTIALS: dict[str, str] = {
    "client_id": "8f3c2d1e-5b4a-4c3d-9e8f-7a6b5c4d3e2f",
    "client_secret": "sandbox-exact-client-secret",
    "redirect_uri": "https://127.0.0.1/exact/callback",
    "authorization_code": "sandbox-exact-authorization-code",
    "division": str(DIVISION),
}
ACCESS_LIFETIME = 600
REFRESH_NOT_BEFORE = 570
REFRESH_UNUSED_DAYS = 30
VAT_CODES: dict[str, Decimal] = {"2  ": Decimal("21"), "1  ": Decimal("9"), "0  ": Decimal("0"), "5  ": Decimal("0")}
JOURNALS = ("70", "71")
PAGE_SIZE = 60


def _guid(rng_seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"exact-sandbox:{rng_seed}"))


def master_data(seed: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Customers ``C00001``..``C00050``, revenue G/L accounts 8000..8099 (1300 is a balance account), items with the
    same codes, VAT codes; GUIDs derived from ``seed``."""
    accounts = {_guid(f"{seed}:acct:{n}"): {"Code": f"C{n:05d}", "Name": f"Customer C{n:05d}", "IsSales": True}
                for n in range(1, 51)}
    gl = {_guid(f"{seed}:gl:{code}"): {"Code": str(code), "Description": f"Omzet {code}", "Type": 110}
          for code in range(8000, 8100)}
    gl[_guid(f"{seed}:gl:1300")] = {"Code": "1300", "Description": "Debiteuren", "Type": 20}
    items = {_guid(f"{seed}:item:{code}"): {"Code": str(code), "Description": f"Dienst {code}"}
             for code in range(8000, 8100)}
    return {"accounts": accounts, "gl": gl, "items": items}


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": {"code": "", "message": {"lang": "", "value": message}}})


def _odata_date(value: str | None) -> str | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return f"/Date({int(parsed.timestamp() * 1000)})/"


def _money(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _Invalid(400, f"Ongeldig: {field}") from exc


class _Invalid(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _filter(expression: str | None) -> list[tuple[str, str]]:
    """``YourRef eq 'X'``, ``EntryID eq guid'…'``, joined by ``or``/``and``: enough for the exporter's look-ups."""
    if not expression:
        return []
    clauses = []
    for part in expression.replace(" and ", " or ").split(" or "):
        name, op, value = part.strip().strip("()").split(" ", 2)
        if op != "eq":
            raise _Invalid(400, f"Operator {op} wordt niet ondersteund in de sandbox")
        clauses.append((name, value.removeprefix("guid").strip("'")))
    return clauses


class ExactState:
    """Tokens, limits, entries and invoices of one division."""

    def __init__(self, clock: Clock, seed: int, state_dir: Path | None, per_minute: int, per_day: int,
                 minute_seconds: float, strict: bool) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.master = master_data(seed)
        self.per_minute, self.per_day, self.minute_seconds, self.strict = per_minute, per_day, minute_seconds, strict
        self.store = StateFile(state_dir / "exact_online.json") if state_dir else None
        saved = self.store.load() if self.store else None
        self.data: dict[str, Any] = saved or {
            "refresh_tokens": {}, "access_tokens": {}, "code_used": False, "last_refresh": None,
            "entries": {}, "entry_lines": {}, "invoices": {}, "invoice_lines": {}, "next_entry": 26000001,
            "next_invoice": 26100001,
        }
        self.minute: tuple[int, int] = (0, 0)  # (window index, calls)
        self.day: tuple[str, int] = ("", 0)
        self.errors: dict[tuple[str, int], int] = {}
        self.throttled = 0  # 429s sent, for tests that prove the client paced itself

    def save(self) -> None:
        if self.store:
            self.store.save(self.data)

    def now(self) -> float:
        return self.clock.now().timestamp()

    # -- limits ---------------------------------------------------------------------------------------------

    def count_call(self) -> tuple[bool, dict[str, str]]:
        """Count one API call; ``False`` when over a limit. Headers as Exact sends them (resets in epoch ms)."""
        now = self.now()
        window = int(now // self.minute_seconds)
        today = self.clock.now().date().isoformat()
        with self.lock:
            minute_calls = self.minute[1] if self.minute[0] == window else 0
            day_calls = self.day[1] if self.day[0] == today else 0
            allowed = minute_calls < self.per_minute and day_calls < self.per_day
            if allowed:
                minute_calls, day_calls = minute_calls + 1, day_calls + 1
            self.minute, self.day = (window, minute_calls), (today, day_calls)
        midnight = dt.datetime.fromisoformat(today).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
        headers = {
            "X-RateLimit-Limit": str(self.per_day),
            "X-RateLimit-Remaining": str(max(0, self.per_day - day_calls)),
            "X-RateLimit-Reset": str(int(midnight.timestamp() * 1000)),
            "X-RateLimit-Minutely-Limit": str(self.per_minute),
            "X-RateLimit-Minutely-Remaining": str(max(0, self.per_minute - minute_calls)),
            "X-RateLimit-Minutely-Reset": str(int((window + 1) * self.minute_seconds * 1000)),
        }
        return allowed, headers

    def blocked(self, endpoint: str) -> bool:
        hour = int(self.now() // 3600)
        return self.strict and self.errors.get((endpoint, hour), 0) >= 10

    def note_error(self, endpoint: str, status: int) -> None:
        if 400 <= status < 500 and status != 429:
            key = (endpoint, int(self.now() // 3600))
            self.errors[key] = self.errors.get(key, 0) + 1

    # -- OAuth ----------------------------------------------------------------------------------------------

    def grant(self) -> dict[str, Any]:
        now = self.now()
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        self.data["access_tokens"][access] = now + ACCESS_LIFETIME
        self.data["refresh_tokens"] = {refresh: now}  # single-use: every older refresh token dies here
        self.data["last_refresh"] = now
        return {"access_token": access, "token_type": "bearer", "expires_in": str(ACCESS_LIFETIME),
                "refresh_token": refresh}

    def token(self, form: dict[str, str]) -> Response:
        if (form.get("client_id"), form.get("client_secret")) != (CREDENTIALS["client_id"],
                                                                   CREDENTIALS["client_secret"]):
            return Response(400, {"error": "invalid_client"})
        now = self.now()
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                if form.get("code") != CREDENTIALS["authorization_code"] or self.data["code_used"]:
                    return Response(400, {"error": "invalid_grant"})
                self.data["code_used"] = True
            elif form.get("grant_type") == "refresh_token":
                issued = self.data["refresh_tokens"].get(form.get("refresh_token", ""))
                if issued is None:
                    return Response(400, {"error": "invalid_grant"})
                if now - issued > REFRESH_UNUSED_DAYS * 86400:
                    expired = dt.datetime.fromtimestamp(issued + REFRESH_UNUSED_DAYS * 86400, dt.UTC)
                    return Response(400, {"error": "invalid_request",
                                          "error_description": f"The refresh token expired at {expired:%m/%d/%Y}"})
                if self.data["last_refresh"] is not None and now - self.data["last_refresh"] < REFRESH_NOT_BEFORE:
                    return Response(400, {"error": "invalid_request",
                                          "error_description": "Access token not expired yet."})
            else:
                return Response(400, {"error": "unsupported_grant_type"})
            body = self.grant()
            self.save()
        return Response(200, body)

    def authorised(self, request: Request) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        expires = self.data["access_tokens"].get(token.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and expires > self.now() and not request.has_fault("expire_token")

    # -- documents ------------------------------------------------------------------------------------------

    def _vat(self, code: str | None) -> Decimal:
        if code is None:
            return VAT_CODES["2  "]
        rate = VAT_CODES.get(code)
        if rate is None:
            raise _Invalid(400, f"Ongeldig: BTW-code ({code})")
        return rate

    def _line(self, document_id: str, payload: dict[str, Any], kind: str) -> dict[str, Any]:
        if kind == "entry":
            account = self.master["gl"].get(str(payload.get("GLAccount")))
            if account is None:
                raise _Invalid(400, "Verplicht: Grootboekrekening")
            if account["Type"] != 110:
                raise _Invalid(400, "Ongeldig: Grootboekrekeningtype")
            net = _money(payload.get("AmountFC"), "Bedrag")
        else:
            if str(payload.get("Item")) not in self.master["items"]:
                raise _Invalid(400, "Verplicht: Artikel")
            quantity = _money(payload.get("Quantity", 1), "Aantal")
            price = _money(payload.get("NetPrice", payload.get("UnitPrice")), "Prijs")
            net = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)
        rate = self._vat(payload.get("VATCode"))
        vat = payload.get("VATAmountFC")
        vat_amount = _money(vat, "BTW-bedrag") if vat is not None else (net * rate / 100).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        line = {key: value for key, value in payload.items() if not isinstance(value, dict | list)}
        line.update(ID=str(uuid.uuid4()), AmountFC=net, VATAmountFC=vat_amount, VATPercentage=rate / 100,
                    VATCode=payload.get("VATCode") or "2  ")
        line["EntryID" if kind == "entry" else "InvoiceID"] = document_id
        return line

    def totals(self, kind: str, document_id: str) -> None:
        lines = [ln for ln in self.data[f"{kind}_lines"].values()
                 if ln["EntryID" if kind == "entry" else "InvoiceID"] == document_id]
        document = self.data["entries" if kind == "entry" else "invoices"][document_id]
        net = sum((ln["AmountFC"] for ln in lines), Decimal(0))
        vat = sum((ln["VATAmountFC"] for ln in lines), Decimal(0))
        if kind == "entry":
            document.update(AmountFC=net + vat, AmountDC=net + vat, VATAmountFC=vat, VATAmountDC=vat)
        else:
            document.update(AmountFC=net + vat, AmountDC=net + vat, VATAmountFC=vat, AmountFCExclVat=net)

    def create(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        lines_key = "SalesEntryLines" if kind == "entry" else "SalesInvoiceLines"
        lines = payload.get(lines_key)
        if lines is not None and not isinstance(lines, list):
            raise _Invalid(400, "Error processing request stream. The property name 'results' specified for type "
                                f"'{lines_key}' is not valid.")
        customer_field = "Customer" if kind == "entry" else "OrderedBy"
        customer = payload.get(customer_field)
        if not customer:
            raise _Invalid(400, "Verplicht: Klant" if kind == "entry" else "Verplicht: Besteld door")
        if customer not in self.master["accounts"]:
            raise _Invalid(500, f"Ongeldig: {customer_field} ({customer})")  # Exact sends some of these as 500
        if payload.get("Journal", "70") not in JOURNALS:
            raise _Invalid(400, "Ongeldig: Dagboek")
        if not lines:
            raise _Invalid(400, "Verplicht: Regels")
        document_id = str(uuid.uuid4())
        header = {key: value for key, value in payload.items() if key != lines_key}
        if kind == "entry":
            header.update(EntryID=document_id, EntryNumber=self.data["next_entry"], Type=20, Status=20,
                          Division=DIVISION, Journal=payload.get("Journal", "70"))
            self.data["next_entry"] += 1
        else:
            header.update(InvoiceID=document_id, InvoiceNumber=self.data["next_invoice"], Type=8020, Status=20,
                          Division=DIVISION, InvoiceTo=payload.get("InvoiceTo") or customer,
                          Journal=payload.get("Journal", "70"))
            self.data["next_invoice"] += 1
        made = [self._line(document_id, line, kind) for line in lines]
        self.data["entries" if kind == "entry" else "invoices"][document_id] = header
        for line in made:
            self.data[f"{kind}_lines"][line["ID"]] = line
        self.totals(kind, document_id)
        return header


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
          minute_seconds: float = 60.0, strict: bool = False) -> SandboxApp:
    """The Exact Online sandbox (one division, ``DIVISION``)."""
    app = SandboxApp("exact_online", clock)
    state = ExactState(clock, seed, state_dir, per_minute, per_day, minute_seconds, strict)

    def api(handler: Any) -> Any:
        """Auth, rate limit, error envelope and headers around one API handler."""

        def wrapped(request: Request) -> Response:
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
                except _Invalid as invalid:
                    response = _error(invalid.status, invalid.message)
            state.note_error(endpoint, response.status)
            response.headers.update(headers)
            return response

        return wrapped

    def listing(request: Request, rows: list[dict[str, Any]], deferred: Any = None) -> Response:
        clauses = _filter(request.arg("$filter"))
        matched = [row for row in rows if all(str(row.get(name)) == value for name, value in clauses)]
        skip = int(request.arg("$skiptoken") or 0)
        top = request.arg("$top")
        end = min(int(top), len(matched)) if top else len(matched)
        page = matched[skip: min(end, skip + PAGE_SIZE)]
        body: dict[str, Any] = {"results": [_render(row, request.arg("$select"),
                                                    deferred(row) if deferred else None) for row in page]}
        if skip + len(page) < end:
            query = {key: values[0] for key, values in request.query.items()}
            query["$skiptoken"] = str(skip + len(page))
            body["__next"] = f"{request.path}?{urlencode(query)}"
        return Response(200, {"d": body})

    @Routes(app)("POST", r"/api/oauth2/token")
    def token(request: Request) -> Response:
        return state.token(request.form())

    @Routes(app)("POST", r"/__admin/reauthorise")
    def reauthorise(request: Request) -> Response:
        """A person consented again in Exact's login page: the authorisation code works once more."""
        with state.lock:
            state.data["code_used"] = False
            state.save()
        return Response(204)

    @Routes(app)("GET", r"/__admin/state")
    def admin_state(request: Request) -> Response:
        with state.lock:
            body: dict[str, Any] = {key: list(state.data[key].values())
                                    for key in ("entries", "entry_lines", "invoices", "invoice_lines")}
            return Response(200, {**body, "throttled": state.throttled})

    @Routes(app)("GET", r"/api/v1/current/Me")
    @api
    def me(request: Request) -> Response:
        return Response(200, {"d": {"results": [{"CurrentDivision": DIVISION, "UserName": "cspbill"}]}})

    def master(kind: str) -> Any:
        def handler(request: Request) -> Response:
            return listing(request, [{"ID": key, **value} for key, value in state.master[kind].items()])

        return handler

    Routes(app)("GET", r"/api/v1/(?P<division>\d+)/crm/Accounts")(api(master("accounts")))
    Routes(app)("GET", r"/api/v1/(?P<division>\d+)/financial/GLAccounts")(api(master("gl")))
    Routes(app)("GET", r"/api/v1/(?P<division>\d+)/logistics/Items")(api(master("items")))

    for kind, service, entity, lines_entity, key in (
        ("entry", "salesentry", "SalesEntries", "SalesEntryLines", "EntryID"),
        ("invoice", "salesinvoice", "SalesInvoices", "SalesInvoiceLines", "InvoiceID"),
    ):
        _document_routes(app, api, listing, state, kind, service, entity, lines_entity, key)
    return app


def _document_routes(app: SandboxApp, api: Any, listing: Any, state: ExactState, kind: str, service: str,
                     entity: str, lines_entity: str, key: str) -> None:
    documents = "entries" if kind == "entry" else "invoices"
    base = rf"/api/v1/(?P<division>\d+)/{service}"

    def deferred(row: dict[str, Any]) -> dict[str, str]:
        return {lines_entity: f"/api/v1/{DIVISION}/{service}/{lines_entity}?$filter={key} eq guid'{row[key]}'"}

    @Routes(app)("GET", rf"{base}/{entity}")
    @api
    def list_documents(request: Request) -> Response:
        return listing(request, list(state.data[documents].values()), deferred)

    @Routes(app)("POST", rf"{base}/{entity}")
    @api
    def create(request: Request) -> Response:
        created = state.create(kind, request.json() or {})
        return Response(201, {"d": _render(created, None, deferred(created))})

    @Routes(app)("PUT", rf"{base}/{entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    @api
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

    @Routes(app)("DELETE", rf"{base}/{entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    @api
    def delete(request: Request) -> Response:
        if state.data[documents].pop(request.params["id"], None) is None:
            return _error(404, "Niet gevonden")
        for line_id in [i for i, ln in state.data[f"{kind}_lines"].items() if ln[key] == request.params["id"]]:
            del state.data[f"{kind}_lines"][line_id]
        return Response(204)

    @Routes(app)("GET", rf"{base}/{lines_entity}")
    @api
    def list_lines(request: Request) -> Response:
        return listing(request, list(state.data[f"{kind}_lines"].values()))

    @Routes(app)("POST", rf"{base}/{lines_entity}")
    @api
    def add_line(request: Request) -> Response:
        payload = request.json() or {}
        document_id = str(payload.get(key, ""))
        if document_id not in state.data[documents]:
            return _error(400, f"Verplicht: {key}")
        line = state._line(document_id, payload, kind)
        state.data[f"{kind}_lines"][line["ID"]] = line
        state.totals(kind, document_id)
        return Response(201, {"d": _render(line, None)})

    @Routes(app)("DELETE", rf"{base}/{lines_entity}\(guid'(?P<id>[0-9a-f-]+)'\)")
    @api
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
