"""Business Central / NAV SOAP page web service ``SalesInvoice`` (erp.md §1, §7.1), for the zeep exporter.

Why constructed: no public Sales Invoice page WSDL exists to vendor, so this module generates one with the NAV page
pattern (namespace ``urn:microsoft-dynamics-schemas/page/salesinvoice``, ``SalesInvoice``/``_List``/``_Fields``/
``_Filter`` types, the ``SalesLines`` part, ``<Op>_Result`` wrappers, ``SalesInvoice_Binding``) and answers real SOAP
1.1 envelopes: number series, versioned ``Key`` values that change on every write (a line change bumps the header),
stale-``Key`` faults, ``ReadMultiple`` filters with bookmark paging, NAV-style faults (HTTP 500, ``a:`` fault codes),
Basic auth with the web service key or an Entra bearer token (401 with an empty body otherwise). The WSDL's
``soap:address`` deliberately names another host, so only a client using ``create_service`` with the configured
address works. ``PostInvoice`` and ``FindPostedInvoice`` play the partner codeunit that exposes
posting (standard BC has no Post over SOAP); a posted invoice leaves the page, as it does in BC.

Faults: everything of ``sandbox.core`` (``status`` with an HTML body for 429, 503 + ``Retry-After``, ``delay``,
``drop``, ``apply_then_drop``) on route ``POST /WS/.*``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import random
import threading
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.routing import Routes
from sandbox.state_file import StateFile

PREFIX = ""  # the shipped config.yaml addresses https://<host>:<port>/WS/Wolkwerk/Page/SalesInvoice
AUDIENCE = "https://api.businesscentral.dynamics.com"  # Entra tokens for BC online (SOAP and API)
COMPANY = "Wolkwerk"
SERVICE = "SalesInvoice"
NS = "urn:microsoft-dynamics-schemas/page/salesinvoice"
CREDENTIALS: dict[str, str] = {"username": "CSPBILL", "password": "sandbox-web-service-access-key-0000000000000"}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WRONG_ADDRESS = "http://bc-sandbox.invalid:7047/BC/WS/Wolkwerk%2520B.V./Page/SalesInvoice"  # NAV double-encodes
VAT_POSTING_SETUP: dict[str, Decimal] = {
    "STANDARD": Decimal("21"), "REDUCED": Decimal("9"), "ZERO": Decimal("0"), "REVCHG": Decimal("0"),
    "EXPORT": Decimal("0"), "DE19": Decimal("19"), "DE7": Decimal("7"),
}
LINE_TYPES = ("_blank_", "G_L_Account", "Item", "Resource", "Fixed_Asset", "Charge_Item")

# (name, xsd type) in page order; option fields use the enumeration type named after the field.
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("No", "string"), ("Sell_to_Customer_No", "string"), ("Sell_to_Customer_Name", "string"),
    ("External_Document_No", "string"), ("Your_Reference", "string"), ("Document_Date", "date"),
    ("Posting_Date", "date"), ("Due_Date", "date"), ("Currency_Code", "string"), ("Status", "string"),
)
LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Type", "tns:Type"), ("No", "string"), ("Description", "string"), ("Description_2", "string"),
    ("Quantity", "decimal"), ("Unit_of_Measure_Code", "string"), ("Unit_Price", "decimal"),
    ("VAT_Prod_Posting_Group", "string"), ("Line_Amount", "decimal"), ("Line_No", "int"),
    ("Total_Amount_Excl_VAT", "decimal"), ("Total_VAT_Amount", "decimal"), ("Total_Amount_Incl_VAT", "decimal"),
)
_DECIMAL_FIELDS = {name for name, kind in LINE_FIELDS if kind == "decimal"}
_COMPUTED_LINE_FIELDS = {"Line_Amount", "Line_No", "Total_Amount_Excl_VAT", "Total_VAT_Amount",
                         "Total_Amount_Incl_VAT"}
_FILTER_FIELDS = ("No", "Sell_to_Customer_No", "External_Document_No")


def customers(seed: int) -> dict[str, str]:
    """The customer master: ``C00001``..``C00050`` with names drawn from ``seed``, plus the debtor ranges the
    distributor scenarios store as each company's external id (``DEB-10001``.., ``DEB-20001``..), as a reseller's
    ERP would hold them."""
    rng = random.Random(seed)
    words = ("Nord", "Delta", "Vega", "Orbit", "Kanaal", "Polder", "Lumen", "Atlas", "Brug", "Haven")
    master = {f"C{n:05d}": f"{rng.choice(words)} {rng.choice(words)} B.V." for n in range(1, 51)}
    for first in (10001, 20001):
        master |= {f"DEB-{n}": f"{rng.choice(words)} {rng.choice(words)} GmbH" for n in range(first, first + 50)}
    return master


# ---------------------------------------------------------------------------------------------------------------
# WSDL


def _element(name: str, kind: str, min_occurs: int = 0, max_occurs: str = "1") -> str:
    return f'<element minOccurs="{min_occurs}" maxOccurs="{max_occurs}" name="{name}" type="{kind}"/>'


def _wrapper(name: str, *children: str) -> str:
    return f'<element name="{name}"><complexType><sequence>{"".join(children)}</sequence></complexType></element>'


OPERATIONS: dict[str, tuple[str, str]] = {
    "Read": (_element("No", "string", 1), _element("SalesInvoice", "tns:SalesInvoice")),
    "ReadMultiple": (
        _element("filter", "tns:SalesInvoice_Filter", 1, "unbounded") + _element("bookmarkKey", "string")
        + _element("setSize", "int", 1),
        _element("ReadMultiple_Result", "tns:SalesInvoice_List"),
    ),
    "Create": (_element("SalesInvoice", "tns:SalesInvoice", 1), _element("SalesInvoice", "tns:SalesInvoice", 1)),
    "CreateMultiple": (_element("SalesInvoice_List", "tns:SalesInvoice_List", 1),
                       _element("SalesInvoice_List", "tns:SalesInvoice_List", 1)),
    "Update": (_element("SalesInvoice", "tns:SalesInvoice", 1), _element("SalesInvoice", "tns:SalesInvoice", 1)),
    "Delete": (_element("Key", "string", 1), _element("Delete_Result", "boolean", 1)),
    "Delete_SalesLines": (_element("SalesLines_Key", "string", 1), _element("Delete_SalesLines_Result", "boolean", 1)),
    "PostInvoice": (_element("Key", "string", 1), _element("return_value", "string", 1)),
    "FindPostedInvoice": (_element("External_Document_No", "string", 1), _element("return_value", "string", 1)),
}


def wsdl(address: str = WRONG_ADDRESS) -> str:
    """The constructed page WSDL, with ``soap:address`` = ``address``."""

    def enum(name: str, values: tuple[str, ...]) -> str:
        items = "".join(f'<enumeration value="{v}"/>' for v in values)
        return f'<simpleType name="{name}"><restriction base="string">{items}</restriction></simpleType>'

    def entity(name: str, fields: tuple[tuple[str, str], ...], extra: str = "") -> str:
        body = _element("Key", "string") + "".join(_element(f, k) for f, k in fields) + extra
        return f'<complexType name="{name}"><sequence>{body}</sequence></complexType>'

    def listing(name: str, item: str) -> str:
        child = _element(item, "tns:" + item, 1, "unbounded")
        return f'<complexType name="{name}"><sequence>{child}</sequence></complexType>'

    types = "".join((
        enum("Type", LINE_TYPES),
        entity("Sales_Invoice_Line", LINE_FIELDS),
        listing("Sales_Invoice_Line_List", "Sales_Invoice_Line"),
        entity("SalesInvoice", HEADER_FIELDS, _element("SalesLines", "tns:Sales_Invoice_Line_List")),
        listing("SalesInvoice_List", "SalesInvoice"),
        enum("SalesInvoice_Fields", tuple(name for name, _ in HEADER_FIELDS)),
        '<complexType name="SalesInvoice_Filter"><sequence>'
        + _element("Field", "tns:SalesInvoice_Fields", 1) + _element("Criteria", "string", 1)
        + "</sequence></complexType>",
        *(_wrapper(op, request) + _wrapper(f"{op}_Result", result) for op, (request, result) in OPERATIONS.items()),
    ))
    messages = "".join(
        f'<message name="{op}"><part name="parameters" element="tns:{op}"/></message>'
        f'<message name="{op}_Result"><part name="parameters" element="tns:{op}_Result"/></message>'
        for op in OPERATIONS
    )
    port_ops = "".join(
        f'<operation name="{op}"><input name="{op}" message="tns:{op}"/>'
        f'<output name="{op}_Result" message="tns:{op}_Result"/></operation>' for op in OPERATIONS
    )
    binding_ops = "".join(
        f'<operation name="{op}"><soap:operation soapAction="{NS}:{op}" style="document"/>'
        f'<input name="{op}"><soap:body use="literal"/></input>'
        f'<output name="{op}_Result"><soap:body use="literal"/></output></operation>' for op in OPERATIONS
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
        f' xmlns:tns="{NS}" targetNamespace="{NS}">'
        f'<types><schema xmlns="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified"'
        f' targetNamespace="{NS}">{types}</schema></types>'
        f'{messages}<portType name="SalesInvoice_Port">{port_ops}</portType>'
        f'<binding name="SalesInvoice_Binding" type="tns:SalesInvoice_Port">'
        f'<soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>{binding_ops}</binding>'
        f'<service name="SalesInvoice_Service"><port name="SalesInvoice_Port" binding="tns:SalesInvoice_Binding">'
        f'<soap:address location="{escape(address)}"/></port></service></definitions>'
    )


# ---------------------------------------------------------------------------------------------------------------
# SOAP plumbing


class NavFault(Exception):
    """A page trigger error: becomes HTTP 500 with a SOAP fault, as NAV sends it."""

    def __init__(self, exception: str, message: str) -> None:
        super().__init__(message)
        self.exception = exception
        self.message = message


def _fault(exception: str, message: str) -> Response:
    body = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="urn:microsoft-dynamics-schemas/error">a:Microsoft.Dynamics.Nav.Types.Exceptions.'
        f'{exception}</faultcode><faultstring xml:lang="en-US">{escape(message)}</faultstring>'
        f'<detail><string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">{escape(message)}</string>'
        f'</detail></s:Fault></s:Body></s:Envelope>'
    )
    return Response(500, body, content_type="text/xml; charset=utf-8")


def _envelope(op: str, payload: list[etree._Element]) -> Response:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"Soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    result = etree.SubElement(body, f"{{{NS}}}{op}_Result", nsmap={None: NS})
    result.extend(payload)
    return Response(200, etree.tostring(env, xml_declaration=False, encoding="utf-8"),
                    content_type="text/xml; charset=utf-8")


def _text(parent: etree._Element, name: str) -> str | None:
    child = parent.find(f"{{{NS}}}{name}")
    return None if child is None else (child.text or "")


def _parse_entity(element: etree._Element) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, _ in (("Key", "string"), *HEADER_FIELDS):
        value = _text(element, name)
        if value is not None:
            record[name] = value
    part = element.find(f"{{{NS}}}SalesLines")
    if part is not None:
        record["SalesLines"] = [_parse_line(line) for line in part.findall(f"{{{NS}}}Sales_Invoice_Line")]
    return record


def _parse_line(element: etree._Element) -> dict[str, Any]:
    line: dict[str, Any] = {}
    for name, _ in (("Key", "string"), *LINE_FIELDS):
        value = _text(element, name)
        if value is None or name in _COMPUTED_LINE_FIELDS:
            continue
        if name in _DECIMAL_FIELDS:
            try:
                line[name] = Decimal(value)
            except InvalidOperation as exc:
                raise NavFault("NavNCLTypeConversionException", f"The value '{value}' is not a decimal.") from exc
        else:
            line[name] = value
    return line


def _render(tag: str, invoice: dict[str, Any]) -> etree._Element:
    element = etree.Element(f"{{{NS}}}{tag}")
    for name, _ in (("Key", "string"), *HEADER_FIELDS):
        if invoice.get(name) not in (None, ""):
            etree.SubElement(element, f"{{{NS}}}{name}").text = str(invoice[name])
    if invoice["lines"]:
        part = etree.SubElement(element, f"{{{NS}}}SalesLines")
        for line in invoice["lines"]:
            node = etree.SubElement(part, f"{{{NS}}}Sales_Invoice_Line")
            for name, _ in (("Key", "string"), *LINE_FIELDS):
                if line.get(name) not in (None, ""):
                    etree.SubElement(node, f"{{{NS}}}{name}").text = str(line[name])
    return element


def _key(table: str, identity: str, version: int) -> str:
    token = base64.b64encode(f"{table};{identity}".encode()).decode()
    return f"{len(token)};{token}{version};"


def _key_identity(key: str) -> tuple[str, int] | None:
    try:
        length, rest = key.split(";", 1)
        token, version = rest[: int(length)], rest[int(length):].rstrip(";")
        return base64.b64decode(token).decode(), int(version)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _criteria_match(criteria: str, value: str | None) -> bool:
    if value is None:
        return criteria in ("", "''")
    pattern = criteria.strip("'")
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(value.upper(), pattern.upper())
    return value.upper() == pattern.upper()


# ---------------------------------------------------------------------------------------------------------------
# The page


class SalesInvoicePage:
    """The page's state and triggers: invoices by ``No``, posted invoices, the number series."""

    def __init__(self, clock: Clock, seed: int, state_dir: Path | None) -> None:
        self.clock = clock
        self.customers = customers(seed)
        self.lock = threading.RLock()
        self.store = StateFile(state_dir / "bc_soap.json") if state_dir else None
        saved = self.store.load() if self.store else None
        self.state: dict[str, Any] = saved or {"next_no": 100001, "next_posted": 100001, "invoices": {},
                                               "posted": {}}

    def save(self) -> None:
        if self.store:
            self.store.save(self.state)

    # -- triggers ------------------------------------------------------------------------------------------

    def _validate_header(self, record: dict[str, Any]) -> None:
        customer = record.get("Sell_to_Customer_No")
        if customer and customer not in self.customers:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The Customer does not exist. Identification fields and values: No.='{customer}'")
        external = record.get("External_Document_No") or ""
        if len(external) > 35:
            raise NavFault("NavNCLStringLengthExceededException",
                           f"The length of the string is {len(external)}, but it must be less than or equal to "
                           f"35 characters. Value: {external}")

    def _apply_line(self, invoice: dict[str, Any], line: dict[str, Any], fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if name != "Key":
                line[name] = value
        group = line.get("VAT_Prod_Posting_Group") or "STANDARD"
        if group not in VAT_POSTING_SETUP:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The VAT Posting Setup does not exist. Identification fields and values: "
                           f"VAT Bus. Posting Group='DOMESTIC',VAT Prod. Posting Group='{group}'")
        line["VAT_Prod_Posting_Group"] = group
        quantity = line.get("Quantity") or Decimal(0)
        price = line.get("Unit_Price") or Decimal(0)
        line["Line_Amount"] = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def _new_line(self, invoice: dict[str, Any], fields: dict[str, Any]) -> None:
        line_no = max((line["Line_No"] for line in invoice["lines"]), default=0) + 10000
        line: dict[str, Any] = {"Line_No": line_no, "version": 1}
        self._apply_line(invoice, line, fields)
        invoice["lines"].append(line)

    def _touch(self, invoice: dict[str, Any]) -> None:
        """A write: bump versions, recompute the document totals every line shows (VAT per VAT group)."""
        invoice["version"] += 1
        invoice["Key"] = _key("Sales Header", invoice["No"], invoice["version"])
        taxable: dict[str, Decimal] = {}
        for line in invoice["lines"]:
            line["Key"] = _key("Sales Line", f"{invoice['No']};{line['Line_No']}", line["version"])
            taxable[line["VAT_Prod_Posting_Group"]] = taxable.get(line["VAT_Prod_Posting_Group"], Decimal(0)) \
                + line["Line_Amount"]
        net = sum(taxable.values(), Decimal(0))
        vat = sum(((amount * VAT_POSTING_SETUP[group] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for group, amount in taxable.items()), Decimal(0))
        for line in invoice["lines"]:
            line.update(Total_Amount_Excl_VAT=net, Total_VAT_Amount=vat, Total_Amount_Incl_VAT=net + vat)

    def create(self, record: dict[str, Any]) -> dict[str, Any]:
        self._validate_header(record)
        number = record.get("No")
        if number and number in self.state["invoices"]:
            raise NavFault("NavCSideDuplicateKeyException",
                           f"The Sales Header already exists. Identification fields and values: "
                           f"Document Type='Invoice',No.='{number}'")
        if not number:
            number = f"SI{self.state['next_no']:06d}"
            self.state["next_no"] += 1
        today = self.clock.now().date().isoformat()
        invoice: dict[str, Any] = {name: record.get(name) for name, _ in HEADER_FIELDS}
        invoice.update(No=number, Status="Open", version=0, lines=[],
                       Document_Date=record.get("Document_Date") or today,
                       Posting_Date=record.get("Posting_Date") or today)
        if invoice.get("Sell_to_Customer_No"):
            invoice["Sell_to_Customer_Name"] = self.customers[invoice["Sell_to_Customer_No"]]
        for line in record.get("SalesLines", []):
            self._new_line(invoice, line)
        self._touch(invoice)
        self.state["invoices"][number] = invoice
        return invoice

    def current(self, key: str | None) -> dict[str, Any]:
        identity = _key_identity(key or "")
        if identity is None or not identity[0].startswith("Sales Header;"):
            raise NavFault("NavNCLInvalidKeyException", f"The key '{key}' is not valid for this page.")
        number = identity[0].split(";", 1)[1]
        invoice = self.state["invoices"].get(number)
        if invoice is None:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The Sales Header does not exist. Identification fields and values: "
                           f"Document Type='Invoice',No.='{number}'")
        if invoice["Key"] != key:
            raise NavFault("NavNCLDialogException",
                           f"Other user has modified Sales Header No.={number}. Please refresh the page and "
                           f"try again.")
        return invoice

    def update(self, record: dict[str, Any]) -> dict[str, Any]:
        invoice = self.current(record.get("Key"))
        self._validate_header(record)
        for name, _ in HEADER_FIELDS:
            if name in record and name not in ("No", "Status"):
                invoice[name] = record[name]
        for fields in record.get("SalesLines", []):
            if not fields.get("Key"):
                self._new_line(invoice, fields)
                continue
            line = next((ln for ln in invoice["lines"] if ln["Key"] == fields["Key"]), None)
            if line is None:
                raise NavFault("NavNCLDialogException",
                               f"Other user has modified Sales Line Document No.={invoice['No']}. Please refresh "
                               f"the page and try again.")
            line["version"] += 1
            self._apply_line(invoice, line, fields)
        self._touch(invoice)
        return invoice

    def delete_line(self, key: str) -> bool:
        identity = _key_identity(key)
        if identity is None or not identity[0].startswith("Sales Line;"):
            return False
        number, line_no = identity[0].split(";", 1)[1].split(";")
        invoice = self.state["invoices"].get(number)
        if invoice is None:
            return False
        kept = [line for line in invoice["lines"] if line["Key"] != key]
        if len(kept) == len(invoice["lines"]):
            raise NavFault("NavNCLDialogException", f"Other user has modified Sales Line Line No.={line_no}.")
        invoice["lines"] = kept
        self._touch(invoice)
        return True

    def post(self, key: str) -> str:
        invoice = self.current(key)
        if not invoice["lines"]:
            raise NavFault("NavNCLDialogException", "There is nothing to post.")
        posted_no = f"PSI{self.state['next_posted']:06d}"
        self.state["next_posted"] += 1
        del self.state["invoices"][invoice["No"]]
        self.state["posted"][posted_no] = {**invoice, "Pre_Assigned_No": invoice["No"], "No": posted_no,
                                           "Status": "Posted"}
        return posted_no

    def find_posted(self, external: str) -> str:
        return next((no for no, inv in sorted(self.state["posted"].items())
                     if (inv.get("External_Document_No") or "").upper() == external.upper()), "")

    def read_multiple(self, filters: list[tuple[str, str]], bookmark: str | None, size: int) -> list[dict]:
        for field_name, _ in filters:
            if field_name not in _FILTER_FIELDS:
                raise NavFault("NavNCLDialogException", f"The field {field_name} cannot be filtered in the sandbox.")
        rows = [inv for _, inv in sorted(self.state["invoices"].items())
                if all(_criteria_match(criteria, inv.get(name)) for name, criteria in filters)]
        if size < 0:
            rows.reverse()
        if bookmark:
            identity = _key_identity(bookmark)
            number = identity[0].split(";", 1)[1] if identity else None
            position = next((i for i, inv in enumerate(rows) if inv["No"] == number), None)
            rows = rows[position + 1:] if position is not None else []
        return rows[: abs(size)] if size else rows


# ---------------------------------------------------------------------------------------------------------------
# HTTP


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

    def company_ok(request: Request) -> bool:
        return unquote(request.params["company"]) == COMPANY

    @Routes(app)("GET", r"/__admin/state")
    def admin_state(request: Request) -> Response:
        with page.lock:
            return Response(200, {"invoices": list(page.state["invoices"].values()),
                                  "posted": list(page.state["posted"].values())})

    @Routes(app)("GET", r"/WS/(?P<company>[^/]+)/Page/SalesInvoice")
    def get_wsdl(request: Request) -> Response:
        if not authorised(request):
            return Response(401, None, {"WWW-Authenticate": 'Basic realm=""'})
        if not company_ok(request):
            return Response(404, "<html><body>Service not found</body></html>", content_type="text/html")
        return Response(200, wsdl(), content_type="text/xml; charset=utf-8")

    @Routes(app)("POST", r"/WS/(?P<company>[^/]+)/Page/SalesInvoice")
    def soap(request: Request) -> Response:
        if not authorised(request):
            return Response(401, None, {"WWW-Authenticate": 'Basic realm=""'})
        if not company_ok(request):
            return _fault("NavWebServiceException", f"Service \"{request.params['company']}\" was not found!")
        if not (request.header("Content-Type") or "").lower().startswith("text/xml"):
            return _fault("NavWebServiceException", "Content type must be text/xml for SOAP 1.1.")
        try:
            envelope = etree.fromstring(request.body)
        except etree.XMLSyntaxError as exc:
            return _fault("NavWebServiceException", f"The request is not well-formed XML: {exc}")
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None or etree.QName(operation).namespace != NS:
            return _fault("NavWebServiceException", "No operation in the SOAP body for this page service.")
        op = etree.QName(operation).localname
        if (request.header("SOAPAction") or "").strip('"') != f"{NS}:{op}":
            return _fault("NavWebServiceException",
                          f"The SOAPAction '{request.header('SOAPAction')}' does not match operation {op}.")
        handler = HANDLERS.get(op)
        if handler is None:
            return _fault("NavWebServiceException", f"Operation {op} is not supported by page {SERVICE}.")
        with page.lock:
            before = copy.deepcopy(page.state)
            try:
                payload = handler(page, operation)
            except NavFault as fault:
                page.state = before  # NAV runs each call in one transaction
                return _fault(fault.exception, fault.message)
            if op not in READ_OPERATIONS:
                page.save()
        return _envelope(op, payload)

    return app


def _entity(operation: etree._Element, tag: str = "SalesInvoice") -> dict[str, Any]:
    element = operation.find(f"{{{NS}}}{tag}")
    if element is None:
        raise NavFault("NavWebServiceException", f"Missing element {tag}.")
    return _parse_entity(element)


def _op_read(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    invoice = page.state["invoices"].get(_text(operation, "No") or "")
    return [_render("SalesInvoice", invoice)] if invoice else []


def _op_read_multiple(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    filters = [(_text(f, "Field") or "", _text(f, "Criteria") or "") for f in operation.findall(f"{{{NS}}}filter")]
    size = int(_text(operation, "setSize") or 0)
    rows = page.read_multiple(filters, _text(operation, "bookmarkKey"), size)
    if not rows:
        return []
    wrapper = etree.Element(f"{{{NS}}}ReadMultiple_Result")
    wrapper.extend(_render("SalesInvoice", row) for row in rows)
    return [wrapper]


def _op_create(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return [_render("SalesInvoice", page.create(_entity(operation)))]


def _op_create_multiple(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    listing = operation.find(f"{{{NS}}}SalesInvoice_List")
    records = [] if listing is None else [_parse_entity(e) for e in listing.findall(f"{{{NS}}}SalesInvoice")]
    wrapper = etree.Element(f"{{{NS}}}SalesInvoice_List")
    wrapper.extend(_render("SalesInvoice", page.create(record)) for record in records)
    return [wrapper]


def _op_update(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return [_render("SalesInvoice", page.update(_entity(operation)))]


def _boolean(tag: str, value: bool) -> list[etree._Element]:
    element = etree.Element(f"{{{NS}}}{tag}")
    element.text = "true" if value else "false"
    return [element]


def _op_delete(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    identity = _key_identity(_text(operation, "Key") or "")
    if identity is None or not identity[0].startswith("Sales Header;"):
        return _boolean("Delete_Result", False)
    invoice = page.current(_text(operation, "Key"))
    del page.state["invoices"][invoice["No"]]
    return _boolean("Delete_Result", True)


def _op_delete_line(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return _boolean("Delete_SalesLines_Result", page.delete_line(_text(operation, "SalesLines_Key") or ""))


def _return_value(value: str) -> list[etree._Element]:
    element = etree.Element(f"{{{NS}}}return_value")
    element.text = value
    return [element]


def _op_post(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return _return_value(page.post(_text(operation, "Key") or ""))


def _op_find_posted(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return _return_value(page.find_posted(_text(operation, "External_Document_No") or ""))


READ_OPERATIONS = frozenset({"Read", "ReadMultiple", "FindPostedInvoice"})
HANDLERS = {
    "Read": _op_read, "ReadMultiple": _op_read_multiple, "Create": _op_create,
    "CreateMultiple": _op_create_multiple, "Update": _op_update, "Delete": _op_delete,
    "Delete_SalesLines": _op_delete_line, "PostInvoice": _op_post, "FindPostedInvoice": _op_find_posted,
}
