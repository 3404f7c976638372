"""The ``SalesInvoice`` page's contract: names, fields, operations and the constructed WSDL that declares them.

Why constructed: no public Sales Invoice page WSDL exists to vendor, so the NAV page pattern is generated here
(namespace ``urn:microsoft-dynamics-schemas/page/salesinvoice``, ``SalesInvoice``/``_List``/``_Fields``/``_Filter``
types, the ``SalesLines`` part, ``<Op>_Result`` wrappers, ``SalesInvoice_Binding``).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

PREFIX = ""  # the shipped config.yaml addresses https://<host>:<port>/WS/Wolkwerk/Page/SalesInvoice
COMPANY = "Wolkwerk"
SERVICE = "SalesInvoice"
NS = "urn:microsoft-dynamics-schemas/page/salesinvoice"
CREDENTIALS: dict[str, str] = {"username": "CSPBILL", "password": "sandbox-web-service-access-key-0000000000000"}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WRONG_ADDRESS = "http://bc-sandbox.invalid:7047/BC/WS/Wolkwerk%2520B.V./Page/SalesInvoice"  # NAV double-encodes

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
