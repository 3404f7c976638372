"""The page web service over HTTP: ``GET`` serves the WSDL, ``POST`` runs one SOAP operation in one transaction.

Why these checks: a real NAV service answers 401 with an empty body without Basic auth (web service key) or an
Entra bearer, an HTML 404 for an unknown company on the WSDL, and a SOAP fault for a wrong content type or
``SOAPAction``; every write is saved to the state file when one is configured.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from sandbox.bc_soap.contract import COMPANY, CREDENTIALS, NS, SERVICE, SOAP_ENV, wsdl
from sandbox.bc_soap.operations import HANDLERS, READ_OPERATIONS
from sandbox.bc_soap.page import SalesInvoicePage
from sandbox.bc_soap.soap import NavFault, nav_fault, result_envelope
from sandbox.business_central import AUDIENCE
from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.routing import Routes


def build(clock: Clock, seed: int = 1, state_dir: Path | None = None) -> SandboxApp:
    """The SOAP sandbox: ``GET|POST /WS/{company}/Page/SalesInvoice`` under ``PREFIX``."""
    app = SandboxApp("bc_soap", clock)
    page = SalesInvoicePage(clock, seed, state_dir)
    expected_auth = "Basic " + base64.b64encode(
        f"{CREDENTIALS['username']}:{CREDENTIALS['password']}".encode()).decode()

    def authorised(request: Request) -> bool:
        """Basic with the web service key (on-prem), or an Entra bearer token for BC (online)."""
        header = request.header("Authorization") or ""
        if header.lower().startswith("bearer "):
            return verify_bearer(request, AUDIENCE, style="business_central") is True
        return header == expected_auth

    def guard(request: Request, handler: Handler) -> Response:
        if not authorised(request):
            return Response(401, None, {"WWW-Authenticate": 'Basic realm=""'})
        return handler(request)

    def company_ok(request: Request) -> bool:
        return unquote(request.params["company"]) == COMPANY

    service = Routes(app, r"/WS/(?P<company>[^/]+)/Page/SalesInvoice", guard=guard)

    @Routes(app)("GET", r"/__admin/state")
    def admin_state(request: Request) -> Response:
        with page.lock:
            return Response(200, {"invoices": list(page.state["invoices"].values()),
                                  "posted": list(page.state["posted"].values())})

    @service("GET", "")
    def get_wsdl(request: Request) -> Response:
        if not company_ok(request):
            return Response(404, "<html><body>Service not found</body></html>", content_type="text/html")
        return Response(200, wsdl(), content_type="text/xml; charset=utf-8")

    @service("POST", "")
    def soap(request: Request) -> Response:
        if not company_ok(request):
            return nav_fault("NavWebServiceException", f"Service \"{request.params['company']}\" was not found!")
        if not (request.header("Content-Type") or "").lower().startswith("text/xml"):
            return nav_fault("NavWebServiceException", "Content type must be text/xml for SOAP 1.1.")
        try:
            envelope = etree.fromstring(request.body)
        except etree.XMLSyntaxError as exc:
            return nav_fault("NavWebServiceException", f"The request is not well-formed XML: {exc}")
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None or etree.QName(operation).namespace != NS:
            return nav_fault("NavWebServiceException", "No operation in the SOAP body for this page service.")
        op = etree.QName(operation).localname
        if (request.header("SOAPAction") or "").strip('"') != f"{NS}:{op}":
            return nav_fault("NavWebServiceException",
                              f"The SOAPAction '{request.header('SOAPAction')}' does not match operation {op}.")
        handler = HANDLERS.get(op)
        if handler is None:
            return nav_fault("NavWebServiceException", f"Operation {op} is not supported by page {SERVICE}.")
        with page.lock:
            before = copy.deepcopy(page.state)
            try:
                payload = handler(page, operation)
            except NavFault as error:
                page.state = before  # NAV runs each call in one transaction
                return nav_fault(error.exception, error.message)
            if op not in READ_OPERATIONS:
                page.save()
        return result_envelope(op, payload)

    return app
