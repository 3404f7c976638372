"""Business Central API v2.0 stand-in (erp.md §3, §7.2): ``salesInvoices`` with ``salesInvoiceLines``, ETags,
``Microsoft.NAV.post``, JSON ``$batch`` and the per-user rate limit.

Why these details: the REST exporter must get them right against the real service. Deep insert is one atomic
request; PATCH and DELETE need ``If-Match`` (missing → 412, stale → 409 ``Request_EntityChanged``) and every line
change moves the invoice's ETag; posting twice fails; ``$batch`` takes at most 100 operations and ``Isolation:
snapshot`` makes it all-or-nothing; the rate limit is a token bucket per user (6000 per 5 minutes by default) that
answers 429 with ``Retry-After``. Nothing in BC makes ``externalDocumentNumber`` unique: neither does the sandbox.

Auth is a Bearer token from the Entra sandbox for ``https://api.businesscentral.dynamics.com``; fault kind
``expire_token`` on a route answers as for an expired token. Sandbox choices: a ``$batch`` is admitted whole or
refused whole with 429 (each operation costs one token); a rolled-back snapshot batch reports its successful
operations as 424.
"""

from __future__ import annotations

import base64
import copy
import math
import re
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sandbox.business_central import AUDIENCE, VAT_POSTING_SETUP, customers
from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.entra import TENANT_DOMAINS, TENANT_ID, verify_bearer
from sandbox.routing import Routes
from sandbox.state_file import StateFile

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
GL_ACCOUNTS = frozenset(str(code) for code in range(8000, 8100))
LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Value", "Fixed Asset", "Charge")
API = r"/(?P<tenant>[^/]+)/(?P<env>[^/]+)/api/v2\.0"
INVOICE = r"/companies\((?P<cid>[0-9a-f-]+)\)/salesInvoices\((?P<id>[0-9a-f-]+)\)"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return Response(self.status, {"error": {"code": self.code,
                                                "message": f"{self.message}  CorrelationId:  {uuid.uuid4()}."}})


def _money(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ApiError(400, "BadRequest", f"Invalid value for {field}.") from exc


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


class Company:
    """One company's invoices, with an index on ``externalDocumentNumber``."""

    def __init__(self, clock: Clock, seed: int, state_dir: Path | None) -> None:
        self.clock = clock
        self.customers = customers(seed)
        self.lock = threading.RLock()
        self.store = StateFile(state_dir / "bc_rest.json") if state_dir else None
        saved = self.store.load() if self.store else None
        self.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bc-rest-sandbox:{seed}:company"))
        self.state: dict[str, Any] = saved or {"invoices": {}, "next_no": 1001}
        self.by_external: dict[str, list[str]] = {}
        for invoice in self.state["invoices"].values():
            self.by_external.setdefault(invoice["externalDocumentNumber"].upper(), []).append(invoice["id"])

    def save(self) -> None:
        if self.store:
            self.store.save(self.state)

    def get(self, invoice_id: str) -> dict[str, Any]:
        invoice = self.state["invoices"].get(invoice_id)
        if invoice is None:
            raise ApiError(404, "Internal_RecordNotFound",
                           f"The Sales Invoice does not exist. Identification fields and values: Id='{invoice_id}'")
        return invoice

    # -- triggers ------------------------------------------------------------------------------------------

    def _set_header(self, invoice: dict[str, Any], body: dict[str, Any]) -> None:
        number = body.get("customerNumber", invoice.get("customerNumber"))
        if not number:
            raise ApiError(400, "Application_DialogException", "A customerNumber or a customerID must be provided.")
        if number not in self.customers:
            raise ApiError(400, "Application_DialogException",
                           f"The Customer does not exist. Identification fields and values: No.='{number}'")
        external = body.get("externalDocumentNumber", invoice.get("externalDocumentNumber", ""))
        if len(external) > 35:
            raise ApiError(400, "Application_StringExceededLength",
                           f"The length of the string is {len(external)}, but it must be less than or equal to 35 "
                           f"characters. Value: {external}")
        if "number" in body and body["number"] != invoice.get("number"):
            raise ApiError(400, "Application_DialogException",
                           "You may not enter numbers manually. If you want to enter numbers manually, please "
                           "activate Manual Nos. in No. Series S-INV.")
        old = invoice.get("externalDocumentNumber")
        for name in ("externalDocumentNumber", "invoiceDate", "postingDate", "dueDate", "currencyCode",
                     "customerPurchaseOrderReference"):
            if name in body:
                invoice[name] = body[name]
        invoice["customerNumber"] = number
        invoice["customerName"] = self.customers[number]
        if old != invoice["externalDocumentNumber"]:
            if old is not None:
                self.by_external[old.upper()].remove(invoice["id"])
            self.by_external.setdefault(invoice["externalDocumentNumber"].upper(), []).append(invoice["id"])

    def _set_line(self, line: dict[str, Any], body: dict[str, Any]) -> None:
        for name in ("lineType", "lineObjectNumber", "description", "description2", "quantity", "unitPrice",
                     "taxCode", "unitOfMeasureCode"):
            if name in body:
                line[name] = body[name]
        if line.get("lineType", "Account") not in LINE_TYPES:
            raise ApiError(400, "BadRequest", f"Invalid lineType '{line.get('lineType')}'.")
        line.setdefault("lineType", "Account")
        if line["lineType"] == "Account" and line.get("lineObjectNumber") not in GL_ACCOUNTS:
            raise ApiError(400, "Application_DialogException",
                           f"The G/L Account does not exist. Identification fields and values: "
                           f"No.='{line.get('lineObjectNumber')}'")
        group = line.get("taxCode") or "STANDARD"
        if group not in VAT_POSTING_SETUP:
            raise ApiError(400, "Application_DialogException", f"The VAT Posting Setup does not exist: '{group}'")
        quantity = _money(line.get("quantity", 0), "quantity")
        price = _money(line.get("unitPrice", 0), "unitPrice")
        net = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)
        line.update(taxCode=group, quantity=quantity, unitPrice=price, amountExcludingTax=net, netAmount=net,
                    taxPercent=VAT_POSTING_SETUP[group])

    def _touch(self, invoice: dict[str, Any]) -> None:
        invoice["version"] += 1
        invoice["lastModifiedDateTime"] = self.clock.now().isoformat().replace("+00:00", "Z")
        taxable: dict[str, Decimal] = {}
        for line in invoice["lines"]:
            taxable[line["taxCode"]] = taxable.get(line["taxCode"], Decimal(0)) + line["amountExcludingTax"]
        net = sum(taxable.values(), Decimal(0))
        vat = sum(((amount * VAT_POSTING_SETUP[group] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for group, amount in taxable.items()), Decimal(0))
        invoice.update(totalAmountExcludingTax=net, totalTaxAmount=vat, totalAmountIncludingTax=net + vat,
                       remainingAmount=net + vat)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        invoice_id = str(uuid.uuid4())
        today = self.clock.now().date().isoformat()
        invoice: dict[str, Any] = {"id": invoice_id, "number": None, "externalDocumentNumber": None,
                                   "invoiceDate": today, "postingDate": today, "dueDate": today,
                                   "currencyCode": "EUR", "status": "Draft", "version": 0, "lines": []}
        body = {"externalDocumentNumber": "", **body}
        if "number" in body:
            raise ApiError(400, "Application_DialogException",
                           "You may not enter numbers manually. If you want to enter numbers manually, please "
                           "activate Manual Nos. in No. Series S-INV.")
        self._set_header(invoice, body)
        invoice["number"] = f"S-INV{self.state['next_no']:06d}"
        for line_body in body.get("salesInvoiceLines") or []:
            self.add_line(invoice, line_body, touch=False)
        self.state["next_no"] += 1
        self.state["invoices"][invoice_id] = invoice
        self._touch(invoice)
        return invoice

    def add_line(self, invoice: dict[str, Any], body: dict[str, Any], touch: bool = True) -> dict[str, Any]:
        self._editable(invoice)
        sequence = max((line["sequence"] for line in invoice["lines"]), default=0) + 10000
        line: dict[str, Any] = {"id": str(uuid.uuid4()), "documentId": invoice["id"], "sequence": sequence,
                                "version": 1}
        self._set_line(line, body)
        invoice["lines"].append(line)
        if touch:
            self._touch(invoice)
        return line

    def _editable(self, invoice: dict[str, Any]) -> None:
        if invoice["status"] != "Draft":
            raise ApiError(400, "Application_DialogException",
                           f"Status must be equal to 'Draft' in Sales Header: No.={invoice['number']}.")

    def check_etag(self, entity: dict[str, Any], if_match: str | None, kind: str) -> None:
        if if_match is None:
            raise ApiError(412, "BadRequest_PreconditionFailed", "An If-Match header is required.")
        if if_match != "*" and if_match != etag(kind, entity):
            raise ApiError(409, "Request_EntityChanged", "Another user has already changed the record.")

    def patch(self, invoice: dict[str, Any], body: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        self.check_etag(invoice, if_match, "invoice")
        self._editable(invoice)
        self._set_header(invoice, body)
        self._touch(invoice)
        return invoice

    def line(self, invoice: dict[str, Any], line_id: str) -> dict[str, Any]:
        found = next((line for line in invoice["lines"] if line["id"] == line_id), None)
        if found is None:
            raise ApiError(404, "Internal_RecordNotFound", f"The Sales Line does not exist: Id='{line_id}'")
        return found

    def patch_line(self, invoice: dict[str, Any], line_id: str, body: dict[str, Any],
                   if_match: str | None) -> dict[str, Any]:
        line = self.line(invoice, line_id)
        self.check_etag(line, if_match, "line")
        self._editable(invoice)
        self._set_line(line, body)
        line["version"] += 1
        self._touch(invoice)
        return line

    def delete_line(self, invoice: dict[str, Any], line_id: str, if_match: str | None) -> None:
        line = self.line(invoice, line_id)
        self.check_etag(line, if_match, "line")
        self._editable(invoice)
        invoice["lines"].remove(line)
        self._touch(invoice)

    def delete(self, invoice: dict[str, Any], if_match: str | None) -> None:
        self.check_etag(invoice, if_match, "invoice")
        self._editable(invoice)
        del self.state["invoices"][invoice["id"]]
        self.by_external[invoice["externalDocumentNumber"].upper()].remove(invoice["id"])

    def post(self, invoice: dict[str, Any]) -> None:
        if invoice["status"] != "Draft":
            raise ApiError(400, "Application_DialogException",
                           f"Sales Invoice {invoice['number']} has already been posted.")
        if not invoice["lines"]:
            raise ApiError(400, "Application_DialogException", "There is nothing to post.")
        invoice["status"] = "Open"
        self._touch(invoice)


def etag(kind: str, entity: dict[str, Any]) -> str:
    token = base64.b64encode(f"{kind};{entity['id']};{entity['version']}".encode()).decode()
    return f'W/"{token}"'


def _public(entity: dict[str, Any], kind: str) -> dict[str, Any]:
    shown = {key: value for key, value in entity.items() if key not in ("version", "lines")}
    return {"@odata.etag": etag(kind, entity), **shown}


def _render_invoice(invoice: dict[str, Any], expand: bool) -> dict[str, Any]:
    shown = _public(invoice, "invoice")
    if expand:
        shown["salesInvoiceLines"] = [_public(line, "line") for line in invoice["lines"]]
    return shown


def _select(row: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return row
    wanted = {"@odata.etag", "salesInvoiceLines", *(name.strip() for name in select.split(","))}
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
        if "cid" in request.params and request.params["cid"] != company.id:
            return Response(404, {"error": {"code": "Internal_CompanyNotFound", "message": "Company not found."}})
        return None

    # -- operations, shared by direct requests and $batch ---------------------------------------------------

    def list_invoices(request: Request) -> Response:
        expression = request.arg("$filter")
        if expression:
            match = _FILTER.match(expression)
            if match is None:
                raise ApiError(400, "BadRequest", f"The sandbox cannot evaluate the filter '{expression}'.")
            value = match.group(2).replace("''", "'")
            if match.group(1) == "externalDocumentNumber":
                rows = [company.state["invoices"][i] for i in company.by_external.get(value.upper(), [])]
            else:
                rows = [inv for inv in company.state["invoices"].values() if inv["number"] == value]
        else:
            rows = list(company.state["invoices"].values())
        skip, top = int(request.arg("$skip") or 0), request.arg("$top")
        end = min(len(rows), skip + int(top)) if top else len(rows)
        page = rows[skip: min(end, skip + PAGE_SIZE)]
        expand = request.arg("$expand") == "salesInvoiceLines"
        body: dict[str, Any] = {"value": [_select(_render_invoice(inv, expand), request.arg("$select"))
                                          for inv in page]}
        if skip + len(page) < end:
            query = {k: v[0] for k, v in request.query.items()}
            query["$skip"] = str(skip + len(page))
            body["@odata.nextLink"] = f"{request.path}?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
        return Response(200, body)

    def create_invoice(request: Request) -> Response:
        return Response(201, _render_invoice(company.create(request.json() or {}), expand=True))

    def get_invoice(request: Request) -> Response:
        invoice = company.get(request.params["id"])
        return Response(200, _render_invoice(invoice, request.arg("$expand") == "salesInvoiceLines"))

    def patch_invoice(request: Request) -> Response:
        invoice = company.get(request.params["id"])
        return Response(200, _render_invoice(company.patch(invoice, request.json() or {},
                                                           request.header("If-Match")), False))

    def delete_invoice(request: Request) -> Response:
        company.delete(company.get(request.params["id"]), request.header("If-Match"))
        return Response(204)

    def list_lines(request: Request) -> Response:
        invoice = company.get(request.params["id"])
        return Response(200, {"value": [_public(line, "line") for line in invoice["lines"]]})

    def add_line(request: Request) -> Response:
        invoice = company.get(request.params["id"])
        return Response(201, _public(company.add_line(invoice, request.json() or {}), "line"))

    def patch_line(request: Request) -> Response:
        invoice = company.get(request.params["id"])
        line = company.patch_line(invoice, request.params["lid"], request.json() or {}, request.header("If-Match"))
        return Response(200, _public(line, "line"))

    def delete_line(request: Request) -> Response:
        invoice = company.get(request.params["id"])
        company.delete_line(invoice, request.params["lid"], request.header("If-Match"))
        return Response(204)

    def post_invoice(request: Request) -> Response:
        company.post(company.get(request.params["id"]))
        return Response(204)

    operations: list[tuple[str, re.Pattern[str], Any]] = []

    def operation(method: str, pattern: str, handler: Any) -> None:
        operations.append((method, re.compile(pattern, re.IGNORECASE), handler))
        Routes(app)(method, API + pattern)(direct(handler))

    def run(handler: Any, request: Request) -> Response:
        try:
            return handler(request)
        except ApiError as error:
            return error.response()

    def direct(handler: Any) -> Any:
        def serve(request: Request) -> Response:
            refused = guard(request) or throttled(request, 1)
            if refused:
                return refused
            with company.lock:
                response = run(handler, request)
                if request.method != "GET" and response.status < 400:
                    company.save()
            return response

        return serve

    @Routes(app)("GET", API + r"/companies")
    def companies(request: Request) -> Response:
        refused = guard(request) or throttled(request, 1)
        return refused or Response(200, {"value": [{"id": company.id, "name": COMPANY_NAME,
                                                    "displayName": COMPANY_NAME, "businessProfileId": ""}]})

    invoices = r"/companies\((?P<cid>[0-9a-f-]+)\)/salesInvoices"
    line_route = INVOICE + r"/salesInvoiceLines\((?P<lid>[0-9a-f-]+)\)"
    operation("GET", invoices, list_invoices)
    operation("POST", invoices, create_invoice)
    operation("GET", INVOICE, get_invoice)
    operation("PATCH", INVOICE, patch_invoice)
    operation("DELETE", INVOICE, delete_invoice)
    operation("GET", INVOICE + r"/salesInvoiceLines", list_lines)
    operation("POST", INVOICE + r"/salesInvoiceLines", add_line)
    operation("PATCH", line_route, patch_line)
    operation("DELETE", line_route, delete_line)
    operation("POST", INVOICE + r"/Microsoft\.NAV\.post", post_invoice)

    @Routes(app)("GET", r"/__admin/state")
    def admin_state(request: Request) -> Response:
        with company.lock:
            return Response(200, {"company_id": company.id, "throttled": bucket.refused, "invoices": [
                _render_invoice(inv, expand=True) for inv in company.state["invoices"].values()]})

    @Routes(app)("POST", API + r"/\$batch")
    def batch(request: Request) -> Response:
        refused = guard(request)
        if refused:
            return refused
        parts = (request.json() or {}).get("requests") or []
        if len(parts) > MAX_BATCH:
            return ApiError(400, "BadRequest", f"The batch contains {len(parts)} operations; the maximum is "
                                               f"{MAX_BATCH}.").response()
        refused = throttled(request, max(1, len(parts)))
        if refused:
            return refused
        snapshot = (request.header("Isolation") or "").lower() == "snapshot"
        with company.lock:
            before = copy.deepcopy((company.state, company.by_external)) if snapshot else None
            answers = [_dispatch(part, request) for part in parts]
            if before is not None and any(status >= 400 for _, status, _, _ in answers):
                company.state, company.by_external = before
                answers = [(pid, 424 if status < 400 else status, headers, body if status >= 400 else
                            {"error": {"code": "BadRequest_FailedDependency",
                                       "message": "The batch was rolled back."}})
                           for pid, status, headers, body in answers]
            company.save()
        return Response(200, {"responses": [{"id": pid, "status": status, "headers": headers, "body": body}
                                            for pid, status, headers, body in answers]})

    def _dispatch(part: dict[str, Any], outer: Request) -> tuple[str, int, dict[str, str], Any]:
        pid = str(part.get("id", ""))
        method = str(part.get("method", "GET")).upper()
        url = urlsplit(str(part.get("url", "")))
        path = "/" + unquote(url.path).lstrip("/")
        for want, pattern, handler in operations:
            match = pattern.fullmatch(path)
            if match and want == method:
                headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
                inner = Request(method=method, path=path, query=parse_qs(url.query, keep_blank_values=True),
                                headers={**outer.headers, **headers},
                                body=_encode(part.get("body")), params={**outer.params, **match.groupdict()},
                                faults=[], clock=outer.clock)
                if "cid" in inner.params and inner.params["cid"] != company.id:
                    return pid, 404, {}, {"error": {"code": "Internal_CompanyNotFound",
                                                    "message": "Company not found."}}
                response = run(handler, inner)
                headers_out = {"content-type": "application/json"} if response.body is not None else {}
                return pid, response.status, headers_out, response.body
        return pid, 404, {}, {"error": {"code": "BadRequest_NotFound", "message": f"No route {method} {path}."}}

    return app



def _encode(body: Any) -> bytes:
    """A batch part's body as the bytes a direct request would carry (the sandbox's one JSON encoder)."""
    return Response(body=body).encode()[0] if body is not None else b""
