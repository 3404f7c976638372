"""Business Central API v2.0 stand-in (erp.md §3, §7.2): ``salesInvoices`` with ``salesInvoiceLines``, ETags,
``Microsoft.NAV.post``, JSON ``$batch`` and the per-user rate limit.

Why these details: the REST exporter must get them right against the real service. Deep insert is one atomic
request; PATCH and DELETE need ``If-Match`` (missing → 412, stale → 409 ``Request_EntityChanged``) and every line
change moves the invoice's ETag; posting twice fails; ``$batch`` takes at most 100 operations and ``Isolation:
snapshot`` makes it all-or-nothing; the rate limit is a token bucket per user (6000 per 5 minutes by default) that
answers 429 with ``Retry-After``. Nothing in BC makes ``externalDocumentNumber`` unique: neither does the sandbox.

Slow writes: ``sandbox.core``'s ``delay`` (held, then applied), ``answer_late`` (applied, answered late) and
``apply_then_drop`` on ``POST …/salesInvoices`` play a create BC completes after the client gave up (BC runs a request
until its operation timeout, 8 minutes, hard cap 10 minutes → 504, whether or not the caller waits).

Auth is a Bearer token from the Entra sandbox for ``https://api.businesscentral.dynamics.com``; fault kind
``expire_token`` on a route answers as for an expired token. Sandbox choices: a ``$batch`` is admitted whole or
refused whole with 429 (each operation costs one token); a rolled-back snapshot batch reports its successful
operations as 424.
"""

from sandbox.bc_rest.service import COMPANY_NAME, CREDENTIALS, DEMO_TENANT, ENVIRONMENT, PREFIX, build

__all__ = ["COMPANY_NAME", "CREDENTIALS", "DEMO_TENANT", "ENVIRONMENT", "PREFIX", "build"]
