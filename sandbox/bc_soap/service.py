"""The web services over HTTP: ``GET`` serves a service's WSDL, ``POST`` runs one SOAP operation in one transaction.
Two pages are published, each at its own URL with its own WSDL and store: ``SalesInvoice`` and ``SalesCreditMemo``;
beside them the partner's posting codeunit, under the name it was published as.

Why these checks: a real NAV service answers 401 with an empty body without Basic auth (web service key) or an
Entra bearer, an HTML 404 for an unknown company on the WSDL, and a SOAP fault for a wrong content type or
``SOAPAction``; every write is saved to the state file when one is configured.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from sandbox.bc_soap import codeunit
from sandbox.bc_soap.codeunit import POSTING
from sandbox.bc_soap.contract import COMPANY, CREDENTIALS, SALES_CREDIT_MEMO, SALES_INVOICE, SOAP_ENV
from sandbox.bc_soap.operations import handlers, read_operations
from sandbox.bc_soap.page import DocumentPage
from sandbox.bc_soap.soap import NavFault, nav_fault, result_envelope
from sandbox.business_central import AUDIENCE
from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.routing import Routes


def build(clock: Clock, seed: int = 1, state_dir: Path | None = None,
          post_codeunit: str = POSTING.service) -> SandboxApp:
    """The SOAP sandbox: ``GET|POST /WS/{company}/Page/SalesInvoice`` and ``…/Page/SalesCreditMemo``, and the
    posting codeunit at ``…/Codeunit/<post_codeunit>``, under ``PREFIX``."""
    app = SandboxApp("bc_soap", clock)
    invoices = DocumentPage(SALES_INVOICE, clock, seed, state_dir)
    credit_memos = DocumentPage(SALES_CREDIT_MEMO, clock, seed, state_dir,
                                posted_invoices=lambda: invoices.state["posted"])
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
        if unquote(request.params["company"]) != COMPANY:
            if request.method == "GET":
                return Response(404, "<html><body>Service not found</body></html>", content_type="text/html")
            return nav_fault("NavWebServiceException", f"Service \"{request.params['company']}\" was not found!")
        return handler(request)

    @Routes(app)("GET", r"/__admin/state")
    def admin_state(request: Request) -> Response:
        with invoices.lock, credit_memos.lock:
            return Response(200, {"invoices": list(invoices.state["documents"].values()),
                                  "posted": list(invoices.state["posted"].values()),
                                  "credit_memos": list(credit_memos.state["documents"].values()),
                                  "posted_credit_memos": list(credit_memos.state["posted"].values())})

    for page in (invoices, credit_memos):
        contract = page.contract
        page_operations, reads = handlers(page), read_operations()
        _publish(app, guard, f"page {contract.service}", contract.ns, contract.wsdl,
                 {name: (lambda element, op=op, page=page: op(page, element)) for name, op in page_operations.items()},
                 reads, (page,))
    functions = codeunit.operations(post_codeunit, (invoices, credit_memos))
    _publish(app, guard, f"codeunit {post_codeunit}", codeunit.namespace(post_codeunit),
             lambda: codeunit.wsdl(post_codeunit, f"http://bc-sandbox.invalid:7047/BC/WS/Wolkwerk%2520B.V./"
                                                  f"Codeunit/{post_codeunit}"),
             {name: (lambda element, fn=fn: [_return_value(post_codeunit, fn(element))])
              for name, fn in functions.items()},
             frozenset({codeunit.POSTING.find_posted}), (invoices, credit_memos))
    return app


def _return_value(service: str, value: str) -> etree._Element:
    element = etree.Element(f"{{{codeunit.namespace(service)}}}return_value")
    element.text = value
    return element


def _publish(app: SandboxApp, guard: Callable[[Request, Handler], Response], name: str, ns: str,
             wsdl: Callable[[], str], operations: Mapping[str, Callable[[etree._Element], list[etree._Element]]],
             reads: frozenset[str], pages: tuple[DocumentPage, ...]) -> None:
    """``GET|POST /WS/{company}/<Page|Codeunit>/<service>`` for ``name`` ("page SalesInvoice", "codeunit X"): the
    service's WSDL and its SOAP operations, each one transaction over ``pages`` (rolled back on a fault, saved after a
    write)."""
    kind, service_name = name.split(" ", 1)
    service = Routes(app, rf"/WS/(?P<company>[^/]+)/{kind.capitalize()}/{service_name}", guard=guard)

    @service("GET", "")
    def get_wsdl(request: Request) -> Response:
        return Response(200, wsdl(), content_type="text/xml; charset=utf-8")

    @service("POST", "")
    def soap(request: Request) -> Response:
        if not (request.header("Content-Type") or "").lower().startswith("text/xml"):
            return nav_fault("NavWebServiceException", "Content type must be text/xml for SOAP 1.1.")
        try:
            envelope = etree.fromstring(request.body)
        except etree.XMLSyntaxError as exc:
            return nav_fault("NavWebServiceException", f"The request is not well-formed XML: {exc}")
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None or etree.QName(operation).namespace != ns:
            return nav_fault("NavWebServiceException", "No operation in the SOAP body for this service.")
        op = etree.QName(operation).localname
        if (request.header("SOAPAction") or "").strip('"') != f"{ns}:{op}":
            return nav_fault("NavWebServiceException",
                              f"The SOAPAction '{request.header('SOAPAction')}' does not match operation {op}.")
        handler = operations.get(op)
        if handler is None:
            return nav_fault("NavWebServiceException", f"Operation {op} is not supported by {name}.")
        with ExitStack() as locks:
            for page in pages:
                locks.enter_context(page.lock)
            before = [copy.deepcopy(page.state) for page in pages]
            try:
                payload = handler(operation)
            except NavFault as error:
                for page, state in zip(pages, before, strict=True):
                    page.state = state  # NAV runs each call in one transaction
                return nav_fault(error.exception, error.message)
            if op not in reads:
                for page in pages:
                    page.save()
        return result_envelope(ns, op, payload)
