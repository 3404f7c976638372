"""Azure Resource Manager stand-in for Cost Management queries and MPA billing customers (microsoft.md §4, §5.4).

Served at the root (``PREFIX = ""``) so the ARM base URL is ``https://127.0.0.1:P`` exactly as
``https://management.azure.com``. The query route aggregates the shared Microsoft scenario's daily usage facts by
whatever dimensions / tag keys the body asks for, with the real limits (≤ 2 aggregations, ≤ 2 groupings, ``In``
filters), the real column order (aggregations, groupings, ``UsageDate``, ``Currency``), unrounded floats and
``nextLink`` paging that needs the same body re-POSTed with ``$skiptoken``.

Query processing units: buckets of 12 / 10 s, 60 / min and 600 / h per tenant; a query costs the months it spans
(continuation pages are free: a sandbox choice, the real accounting is not published). Exhausted → 429 with
``x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after`` and no ``Retry-After``, as ARM does. Per scope, at most
5 queries a minute (live Cost Management throttles a scope after a handful): the sixth → 429 with
``x-ms-ratelimit-microsoft.costmanagement-entity-retry-after``.

Exports (``exports.py``): every customer scope has a daily month-to-date actual-cost export whose definition and run
history are served here and whose files (manifest, daily CSV or Parquet partitions) ``sandbox.storage_account`` serves.

Fault knobs on ``POST .*/query`` (besides the core ``status`` / ``delay`` / ``drop``): ``throttle`` (429 with the
QPU retry header, ``seconds``; ``body={"header": name}`` picks another documented ``*-retry-after`` header),
``expire_token``, ``broken_page``, ``malformed`` (``body={"index": row, "field": column index, "value": v}``),
``paginate`` (``body={"size": n}`` rows per page), ``licence_rows`` (New Commerce licence purchases appear at
billing-account and customer scopes with ``PublisherType`` Microsoft, as in real partner data), ``empty`` (204
instead of an empty 200), ``restate`` (``body={"days": n, "factor": "1.1"}``: the last n days re-rated),
``swap_aggregations`` (two-aggregation order bug).
"""

from sandbox.cost_management.export_files import EXPORT_NAME
from sandbox.cost_management.service import AUDIENCE, CREDENTIALS, PREFIX, build

__all__ = ["AUDIENCE", "CREDENTIALS", "EXPORT_NAME", "PREFIX", "build"]
