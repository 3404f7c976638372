"""Exact Online stand-in (erp.md §4, §7.3): OAuth with single-use rotating refresh tokens, OData v2 verbose JSON,
``salesentry/SalesEntries`` and ``salesinvoice/SalesInvoices``, and the per-division rate limits.

Why these details: the exporter's hard parts are exactly here. A person consents on ``/api/oauth2/auth`` (``consent``);
refresh tokens die on use (reusing an old one → 401 ``unauthorized_client`` "Old refresh token used.", an unknown one →
400 ``invalid_grant``) and may not be refreshed within 570 s of the last refresh; access tokens live 600 s on the
sandbox clock; every answer carries the six ``X-RateLimit-*`` headers (resets in epoch milliseconds) and the 61st call
of a minute gets 429; ``__next`` links are absolute URLs; one document reads as ``…(guid'<id>')`` (404 when unknown);
processed entries (Status 50) cannot be changed or deleted; dates come back as ``/Date(ms)/``; errors use ``{"error":
{"code", "message": {"lang", "value"}}}`` with Dutch texts, some validation errors as HTTP 500; deleting an entry's last
line deletes the entry. Nothing in Exact makes ``YourRef`` unique: neither does the sandbox.

Knobs: everything of ``sandbox.core`` (a create held beyond the client's timeout and applied anyway: ``delay`` or
``answer_late``; applied and the connection dropped: ``apply_then_drop``); kind ``expire_token`` on any API route
answers 401 as for an expired token; ``build(..., per_minute=, per_day=, minute_seconds=)`` scales the limits for
tests and benchmarks; ``strict=True`` blocks an endpoint for the hour after 10 client errors, as Exact does.
"""

from sandbox.exact_online.division import CREDENTIALS, DIVISION, PREFIX
from sandbox.exact_online.service import build

__all__ = ["CREDENTIALS", "DIVISION", "PREFIX", "build"]
