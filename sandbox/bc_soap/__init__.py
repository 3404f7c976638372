"""Business Central / NAV SOAP page web services ``SalesInvoice`` and ``SalesCreditMemo`` (erp.md §1, §7.1), for
the zeep exporter.

Why constructed: no public Sales Invoice or Sales Credit Memo page WSDL exists to vendor, so this package generates
one per page with the NAV page pattern (namespace ``urn:microsoft-dynamics-schemas/page/salesinvoice``,
``SalesInvoice``/``_List``/``_Fields``/``_Filter`` types, the ``SalesLines`` part, ``<Op>_Result`` wrappers,
``SalesInvoice_Binding``; likewise for ``salescreditmemo``) and answers real SOAP 1.1 envelopes: number series,
versioned ``Key`` values that change on every write (a line change bumps the header), stale-``Key`` faults,
``ReadMultiple`` filters with bookmark paging, the other standard page operations (``UpdateMultiple``, atomic;
``IsUpdated``; ``GetRecIdFromKey`` and ``ReadByRecId`` with record ids such as ``Sales Header: Invoice,SI100001``),
NAV-style faults (HTTP 500, ``a:`` fault codes), Basic auth with the
web service key or an Entra bearer token (401 with an empty body otherwise). The WSDL's ``soap:address``
deliberately names another host, so only a client using ``create_service`` with the configured address works.
Posting is not a page operation in BC: a partner codeunit web service does it, published under the name ``build``'s
``post_codeunit`` gives (``/WS/<company>/Codeunit/<name>``, functions in ``codeunit.POSTING``); a posted document
leaves its page, as it does in BC. The credit memo page has its own store and number series (``S-CR…``, posted
``PS-CR…``) and checks ``Applies_to_Doc_No`` against the posted invoices of its customer.

Faults: everything of ``sandbox.core`` (``status`` with an HTML body for 429, 503 + ``Retry-After``, ``drop``) on
route ``POST /WS/.*``, including the writes that outlive the client's operation timeout, as BC runs a request to its
own 8-minute operation timeout whether or not the caller waits: ``delay`` (held, then applied), ``answer_late``
(applied, answered late) and ``apply_then_drop`` (applied, connection dropped).
"""

from sandbox.bc_soap.codeunit import POSTING
from sandbox.bc_soap.contract import (
    COMPANY,
    CREDENTIALS,
    NS,
    PREFIX,
    SALES_CREDIT_MEMO,
    SALES_INVOICE,
    SERVICE,
    SOAP_ENV,
    WRONG_ADDRESS,
    PageContract,
    wsdl,
)
from sandbox.bc_soap.service import build
from sandbox.business_central import AUDIENCE

__all__ = ["AUDIENCE", "COMPANY", "CREDENTIALS", "NS", "POSTING", "PREFIX", "SALES_CREDIT_MEMO", "SALES_INVOICE",
           "SERVICE", "SOAP_ENV", "WRONG_ADDRESS", "PageContract", "build", "wsdl"]
