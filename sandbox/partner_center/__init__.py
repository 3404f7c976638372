"""Partner Center REST stand-in (reference/microsoft.md §2, §5.2): customers, subscriptions (with quantity PATCH,
cancellation, and upgrades through ``transitioneligibilities`` / ``transitions``), invoices, NCE recon line items,
and Microsoft Graph's billing export on the same port (``GRAPH_BASE``; v2 for periods from February 2024, v1 line
items only for older ones: ``invoices.py``).

Served under ``PREFIX`` so the connector's base URL is ``https://127.0.0.1:P/pc`` and it appends ``/v1/...`` exactly as
against ``https://api.partnercenter.microsoft.com``. Collections use seek paging: ``links.next`` carries a relative
``uri`` ending in ``seekOperation=Next`` and an ``MS-ContinuationToken`` header whose value contains ``, / + =``;
the token is read only from the header.

Fault knobs (besides the core ``status`` / ``delay`` / ``drop``), per route regex such as ``GET /v1/customers``:
``throttle`` (429 with Partner Center's body and ``Retry-After: seconds``), ``expire_token`` (401 as for an
expired token), ``broken_page`` (200 with a truncated JSON body), ``malformed`` (one item on the page gets a bad
value; ``body={"field": ..., "index": n}`` to choose), ``paginate`` on subscriptions (``body={"size": n}`` pages a
collection Microsoft does not document as paged), ``strings`` (numbers sent as strings, ``chargeType`` PascalCase);
on ``PATCH …/subscriptions/{id}``: ``conflict`` (409 ``800082``), ``accepted`` (202 + ``Location``), and the core
``apply_then_drop`` (the write is applied, the answer lost: a retry with the same ``MS-RequestId`` gets the first
answer and changes nothing).
"""

from sandbox.partner_center.graph import GRAPH_BASE
from sandbox.partner_center.service import AUDIENCE, CREDENTIALS, PREFIX, build

__all__ = ["AUDIENCE", "CREDENTIALS", "GRAPH_BASE", "PREFIX", "build"]
