"""Business Central API v2.0 stand-in (erp.md §3, §7.2): ``salesInvoices`` with ``salesInvoiceLines``, ETags,
``Microsoft.NAV.post``, ``$batch`` (JSON and OData multipart) and the per-user rate limit.

Why these details: the REST exporter must get them right against the real service. Deep insert is one atomic
request; PATCH and DELETE need ``If-Match``: a missing one, or one that is no ETag of the record, is 400
``BadRequest_InvalidToken`` ("Could not validate the client concurrency token…"), a stale one 409
``Request_EntityChanged``; every line change moves the invoice's ETag; posting twice fails. ``$batch`` takes at most
100 operations; ``Isolation: snapshot`` makes it all-or-nothing and, as Microsoft's example shows, a rolled-back batch
still reports the operations that ran as 200/201/204: only a look-up tells what exists. The company is named by
``companies({id})`` in the path or, as in Microsoft's batch example, by a ``Company`` header (or ``?company=``)
carrying its name. The rate limit is a token bucket per user (6000 per 5 minutes by default) that answers 429 with
``Retry-After``. Nothing in BC makes ``externalDocumentNumber`` unique: neither does the sandbox.

Slow writes: ``sandbox.core``'s ``delay`` (held, then applied), ``answer_late`` (applied, answered late) and
``apply_then_drop`` on ``POST …/salesInvoices`` play a create BC completes after the client gave up (BC runs a request
until its operation timeout, 8 minutes, hard cap 10 minutes → 504, whether or not the caller waits). Fault kind
``roll_back`` on ``$batch`` rolls that batch back after a failed operation as if it were a snapshot batch (an
extension's trigger failing the session), to prove a client never trusts a 201 from a batch with a failure in it.

Auth is a Bearer token from the Entra sandbox for ``https://api.businesscentral.dynamics.com``; fault kind
``expire_token`` on a route answers as for an expired token. Sandbox choice: a ``$batch`` is admitted whole or
refused whole with 429 (each operation costs one token).
"""

from sandbox.bc_rest.service import COMPANY_NAME, CREDENTIALS, DEMO_TENANT, ENVIRONMENT, PREFIX, build

__all__ = ["COMPANY_NAME", "CREDENTIALS", "DEMO_TENANT", "ENVIRONMENT", "PREFIX", "build"]
