"""Business Central / NAV SOAP page web service ``SalesInvoice`` (erp.md §1, §7.1), for the zeep exporter.

Why constructed: no public Sales Invoice page WSDL exists to vendor, so this package generates one with the NAV page
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

from sandbox.bc_soap.contract import COMPANY, CREDENTIALS, NS, PREFIX, SERVICE, SOAP_ENV, WRONG_ADDRESS, wsdl
from sandbox.bc_soap.service import build
from sandbox.business_central import AUDIENCE

__all__ = ["AUDIENCE", "COMPANY", "CREDENTIALS", "NS", "PREFIX", "SERVICE", "SOAP_ENV", "WRONG_ADDRESS", "build",
           "wsdl"]
