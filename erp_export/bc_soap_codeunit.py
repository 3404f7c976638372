"""The codeunit web service that posts BC sales documents over SOAP: which one, and how it is called.

Why configuration, not names in code: a standard BC page has no Post operation over SOAP (the basic page operations
are Create, Read, Update, Delete and their variants), so posting needs a partner extension's codeunit published as a
web service. Its service name and its functions are the extension's and the reseller's choice: ``PostCodeunit``
names them. The post function takes the draft's page ``Key`` and returns the posted number; the look-up function
takes the BC document type (``Invoice``, ``Credit Memo``) and the external document no. and returns the posted
number or ``""`` (a posted document leaves its page, so only this look-up finds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from erp_export.documents import DocumentType

# the Sales Header "Document Type" of each UNCL 1001 type, as the look-up function takes it
DOCUMENT_TYPES: dict[DocumentType, str] = {"380": "Invoice", "381": "Credit Memo"}


@dataclass(frozen=True)
class PostCodeunit:
    """A published posting codeunit. ``url`` defaults to ``…/WS/<company>/Codeunit/<service>`` beside the pages;
    ``wsdl`` to the URL. The functions' parameters are ``key_parameter`` (post) and ``type_parameter`` +
    ``external_parameter`` (look-up)."""

    service: str
    post_operation: str
    posted_lookup_operation: str
    url: str | None = None
    wsdl: str | None = None
    key_parameter: str = "documentKey"
    type_parameter: str = "documentType"
    external_parameter: str = "externalDocumentNo"

    @property
    def namespace(self) -> str:
        return f"urn:microsoft-dynamics-schemas/codeunit/{self.service}"  # codeunits keep the name's case

    @property
    def binding_qname(self) -> str:
        return f"{{{self.namespace}}}{self.service}_Binding"

    def address(self, page_url: str) -> str:
        """Where the codeunit is: ``url``, else the company's ``Codeunit/<service>`` next to the page at
        ``page_url`` (``…/WS/<company>/Page/<page>``)."""
        if self.url:
            return self.url
        parts = urlsplit(page_url)
        company = parts.path.rstrip("/").rpartition("/")[0]
        if not company.lower().endswith("/page"):
            raise ValueError(f"{page_url} is not a page service URL (…/WS/<company>/Page/<service>): configure the "
                             f"codeunit {self.service}'s URL explicitly")
        return urlunsplit(parts._replace(path=f"{company[:-len('/page')]}/Codeunit/{quote(self.service)}"))
