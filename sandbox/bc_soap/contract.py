"""The page services' contracts: names, fields, operations and the constructed WSDL that declares them.

Why constructed: no public Sales Invoice or Sales Credit Memo page WSDL exists to vendor, so the NAV page pattern is
generated here for each page (namespace ``urn:microsoft-dynamics-schemas/page/<service lower>``, ``<Service>``/
``_List``/``_Fields``/``_Filter`` types, the ``SalesLines`` part, ``<Op>_Result`` wrappers, ``<Service>_Binding``).
Two pages, one pattern: page 43 "Sales Invoice" and page 44 "Sales Credit Memo" (its header adds the
``Applies-to Doc. Type``/``No.`` fields; its lines come from page 96 "Sales Cr. Memo Subform"). Posting is no page
operation: the partner's codeunit service does it (``sandbox.bc_soap.codeunit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

PREFIX = ""  # the shipped config.yaml addresses https://<host>:<port>/WS/Wolkwerk/Page/SalesInvoice
COMPANY = "Wolkwerk"
CREDENTIALS: dict[str, str] = {"username": "CSPBILL", "password": "sandbox-web-service-access-key-0000000000000"}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

LINE_TYPES = ("_blank_", "G_L_Account", "Item", "Resource", "Fixed_Asset", "Charge_Item")
# Enum "Gen. Journal Document Type", the option of "Applies-to Doc. Type" (blank option = _blank_)
APPLIES_TO_TYPES = ("_blank_", "Payment", "Invoice", "Credit_Memo", "Finance_Charge_Memo", "Reminder", "Refund")

# (name, xsd type) in page order; option fields use the enumeration type named after the field.
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("No", "string"), ("Sell_to_Customer_No", "string"), ("Sell_to_Customer_Name", "string"),
    ("External_Document_No", "string"), ("Your_Reference", "string"), ("Document_Date", "date"),
    ("Posting_Date", "date"), ("Due_Date", "date"), ("Currency_Code", "string"), ("VAT_Bus_Posting_Group", "string"),
    ("Status", "string"),
)
LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Type", "tns:Type"), ("No", "string"), ("Description", "string"), ("Description_2", "string"),
    ("Quantity", "decimal"), ("Unit_of_Measure_Code", "string"), ("Unit_Price", "decimal"),
    ("VAT_Prod_Posting_Group", "string"), ("Line_Amount", "decimal"), ("Line_No", "int"),
    ("Total_Amount_Excl_VAT", "decimal"), ("Total_VAT_Amount", "decimal"), ("Total_Amount_Incl_VAT", "decimal"),
)


def _element(name: str, kind: str, min_occurs: int = 0, max_occurs: str = "1") -> str:
    return f'<element minOccurs="{min_occurs}" maxOccurs="{max_occurs}" name="{name}" type="{kind}"/>'


def _wrapper(name: str, *children: str) -> str:
    return f'<element name="{name}"><complexType><sequence>{"".join(children)}</sequence></complexType></element>'


def _enum(name: str, values: tuple[str, ...]) -> str:
    items = "".join(f'<enumeration value="{v}"/>' for v in values)
    return f'<simpleType name="{name}"><restriction base="string">{items}</restriction></simpleType>'


@dataclass(frozen=True)
class PageContract:
    """One published sales document page: its service name, header fields, lines part, document type (as BC names
    it in messages), number series and where the sandbox keeps its state."""

    service: str
    line_element: str
    document_type: str  # "Invoice", "Credit Memo": the Sales Header's Document Type
    header_fields: tuple[tuple[str, str], ...]
    series: str  # number series of the drafts
    posted_series: str  # number series of the posted documents
    state_file: str
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()  # header option enumerations (name, values)
    line_fields: tuple[tuple[str, str], ...] = LINE_FIELDS

    @property
    def ns(self) -> str:
        return f"urn:microsoft-dynamics-schemas/page/{self.service.lower()}"

    @property
    def wrong_address(self) -> str:
        """The ``soap:address`` the WSDL names: another host, and the company double-encoded as NAV does."""
        return f"http://bc-sandbox.invalid:7047/BC/WS/Wolkwerk%2520B.V./Page/{self.service}"

    @property
    def operations(self) -> dict[str, tuple[str, str]]:
        """Operation name -> (request children, result children)."""
        page, listing = f"tns:{self.service}", f"{self.service}_List"
        return {
            "Read": (_element("No", "string", 1), _element(self.service, page)),
            "ReadMultiple": (
                _element("filter", f"tns:{self.service}_Filter", 1, "unbounded") + _element("bookmarkKey", "string")
                + _element("setSize", "int", 1),
                _element("ReadMultiple_Result", f"tns:{listing}"),
            ),
            "Create": (_element(self.service, page, 1), _element(self.service, page, 1)),
            "CreateMultiple": (_element(listing, f"tns:{listing}", 1), _element(listing, f"tns:{listing}", 1)),
            "Update": (_element(self.service, page, 1), _element(self.service, page, 1)),
            "UpdateMultiple": (_element(listing, f"tns:{listing}", 1), _element(listing, f"tns:{listing}", 1)),
            "IsUpdated": (_element("Key", "string", 1), _element("IsUpdated_Result", "boolean", 1)),
            "GetRecIdFromKey": (_element("Key", "string", 1), _element("GetRecIdFromKey_Result", "string", 1)),
            "ReadByRecId": (_element("recId", "string", 1), _element(self.service, page)),
            "Delete": (_element("Key", "string", 1), _element("Delete_Result", "boolean", 1)),
            "Delete_SalesLines": (_element("SalesLines_Key", "string", 1),
                                  _element("Delete_SalesLines_Result", "boolean", 1)),
        }

    def wsdl(self, address: str | None = None) -> str:
        """The constructed page WSDL, with ``soap:address`` = ``address`` (default: the wrong one)."""
        ns, name, line = self.ns, self.service, self.line_element

        def entity(type_name: str, fields: tuple[tuple[str, str], ...], extra: str = "") -> str:
            body = _element("Key", "string") + "".join(_element(f, k) for f, k in fields) + extra
            return f'<complexType name="{type_name}"><sequence>{body}</sequence></complexType>'

        def listing(type_name: str, item: str) -> str:
            child = _element(item, "tns:" + item, 1, "unbounded")
            return f'<complexType name="{type_name}"><sequence>{child}</sequence></complexType>'

        operations = self.operations
        types = "".join((
            _enum("Type", LINE_TYPES),
            *(_enum(option, values) for option, values in self.options),
            entity(line, self.line_fields),
            listing(f"{line}_List", line),
            entity(name, self.header_fields, _element("SalesLines", f"tns:{line}_List")),
            listing(f"{name}_List", name),
            _enum(f"{name}_Fields", tuple(field for field, _ in self.header_fields)),
            f'<complexType name="{name}_Filter"><sequence>'
            + _element("Field", f"tns:{name}_Fields", 1) + _element("Criteria", "string", 1)
            + "</sequence></complexType>",
            *(_wrapper(op, request) + _wrapper(f"{op}_Result", result) for op, (request, result) in operations.items()),
        ))
        messages = "".join(
            f'<message name="{op}"><part name="parameters" element="tns:{op}"/></message>'
            f'<message name="{op}_Result"><part name="parameters" element="tns:{op}_Result"/></message>'
            for op in operations
        )
        port_ops = "".join(
            f'<operation name="{op}"><input name="{op}" message="tns:{op}"/>'
            f'<output name="{op}_Result" message="tns:{op}_Result"/></operation>' for op in operations
        )
        binding_ops = "".join(
            f'<operation name="{op}"><soap:operation soapAction="{ns}:{op}" style="document"/>'
            f'<input name="{op}"><soap:body use="literal"/></input>'
            f'<output name="{op}_Result"><soap:body use="literal"/></output></operation>' for op in operations
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
            f' xmlns:tns="{ns}" targetNamespace="{ns}">'
            f'<types><schema xmlns="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified"'
            f' targetNamespace="{ns}">{types}</schema></types>'
            f'{messages}<portType name="{name}_Port">{port_ops}</portType>'
            f'<binding name="{name}_Binding" type="tns:{name}_Port">'
            f'<soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>{binding_ops}</binding>'
            f'<service name="{name}_Service"><port name="{name}_Port" binding="tns:{name}_Binding">'
            f'<soap:address location="{escape(address or self.wrong_address)}"/></port></service></definitions>'
        )


SALES_INVOICE = PageContract(
    service="SalesInvoice", line_element="Sales_Invoice_Line", document_type="Invoice", header_fields=HEADER_FIELDS,
    series="SI", posted_series="PSI",
    state_file="bc_soap.json",
)
SALES_CREDIT_MEMO = PageContract(
    service="SalesCreditMemo", line_element="Sales_Cr_Memo_Line", document_type="Credit Memo",
    header_fields=(*HEADER_FIELDS, ("Applies_to_Doc_Type", "tns:Applies_to_Doc_Type"),
                   ("Applies_to_Doc_No", "string")),
    series="S-CR", posted_series="PS-CR",
    state_file="bc_soap_credit_memos.json", options=(("Applies_to_Doc_Type", APPLIES_TO_TYPES),),
)
PAGES = (SALES_INVOICE, SALES_CREDIT_MEMO)

SERVICE = SALES_INVOICE.service
NS = SALES_INVOICE.ns
WRONG_ADDRESS = SALES_INVOICE.wrong_address  # NAV double-encodes the company name in soap:address


def wsdl(address: str | None = None, page: PageContract = SALES_INVOICE) -> str:
    """The constructed WSDL of ``page`` (default: the Sales Invoice page), with ``soap:address`` = ``address``
    (default: the page's wrong address)."""
    return page.wsdl(address)
