"""Microsoft Graph partner-billing reconciliation export (§2.6b, §5.3), served on the Partner Center port.

Why here: the v2 export reads the same recon line items as Partner Center's v1 routes, as PascalCase records in
gzipped blobs behind an asynchronous operation and a manifest; the connector must follow the whole dance.
"""

from __future__ import annotations

import gzip
import threading
import uuid
from typing import Any

from sandbox.core import Handler, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.partner_center.invoices import issued, period_end, v2_serves
from sandbox.routing import Routes
from sandbox.scenario_microsoft import MicrosoftScenario, add_months

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_BASE = "/graph/v1.0"  # the Graph base URL's path on the Partner Center port
GRAPH_ROOT = f"{GRAPH_BASE}/reports/partners/billing"
LINES_PER_BLOB = 50
RETRY_AFTER_SECONDS = 1  # "If the data isn't ready, the API response includes a Retry-After header"
_PASCAL_EXCEPTIONS = {
    "pcToBCExchangeRate": "PCToBCExchangeRate",
    "pcToBCExchangeRateDate": "PCToBCExchangeRateDate",
    "totalForCustomer": "Total",
}


def _pascal(line: dict[str, Any]) -> dict[str, Any]:
    """A v1 recon line as a v2 export record: PascalCase keys (§2.6b), no nested ``attributes``."""
    return {_PASCAL_EXCEPTIONS.get(k, k[:1].upper() + k[1:]): v for k, v in line.items() if k != "attributes"}


def _graph_error(status: int, code: str, message: str) -> Response:
    return Response(
        status, {"error": {"code": code, "message": message, "innerError": {"request-id": str(uuid.uuid4())}}}
    )


def graph_routes(app: SandboxApp, world: MicrosoftScenario) -> None:
    """Microsoft Graph partner-billing reconciliation export (§2.6b, §5.3), served on the Partner Center port.

    Base URL ``https://127.0.0.1:P/graph/v1.0``. Only billing periods from February 2024 are exported
    (``invoices.v2_serves``); others end as ``failedOperation`` 5000. An export is ready at its first poll unless the
    knob ``slow_export`` (``body={"polls": n}``, default 1) answers ``running`` with ``Retry-After`` n times first;
    ``export_failed`` forces a ``failedOperation``.
    """
    operations: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def host(request: Request) -> str:
        return f"https://{request.header('Host', '127.0.0.1')}"

    def guard(request: Request, handler: Handler) -> Response:
        allowed = verify_bearer(request, GRAPH_AUDIENCE)
        return handler(request) if allowed is True else allowed

    graph = Routes(app, GRAPH_ROOT, guard=guard)

    def start(request: Request, kind: str) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("attributeSet", "full") not in ("full", "basic"):
            return _graph_error(400, "BadRequest", "The request body is invalid.")
        now = request.clock.now()
        current = now.date().replace(day=1)
        if kind == "billed":
            invoice = str(body.get("invoiceId") or "")
            if not invoice:
                return _graph_error(400, "BadRequest", "invoiceId is required.")
            month = issued(world, now).get(invoice)
        else:
            period = str(body.get("billingPeriod") or "")
            if period not in ("current", "last") or not body.get("currencyCode"):
                return _graph_error(400, "BadRequest", "currencyCode and billingPeriod (current|last) are required.")
            month = current if period == "current" else add_months(current, -1)
            invoice = ""
        lines: list[dict[str, Any]] = []
        if month is not None and v2_serves(month) and str(body.get("currencyCode", "EUR")).upper() == "EUR":
            lines = world.recon_lines(month, period_end(month), now)
            for line in lines:
                line["invoiceNumber"] = invoice
        slow = request.has_fault("slow_export")
        operation_id = str(uuid.uuid4())
        with lock:
            operations[operation_id] = {
                "lines": [_pascal(line) for line in lines],
                "created": now,
                "polls": int((slow.body or {}).get("polls", 1)) if slow else 0,
                "failed": bool(request.has_fault("export_failed")) or not lines,
                "sig": uuid.uuid4().hex,
            }
        return Response(202, None, {"Location": f"{host(request)}{GRAPH_ROOT}/operations/{operation_id}"})

    graph("POST", r"/reconciliation/billed/export")(lambda request: start(request, "billed"))
    graph("POST", r"/reconciliation/unbilled/export")(lambda request: start(request, "unbilled"))

    @graph("GET", r"/operations/(?P<op>[^/]+)")
    def operation(request: Request) -> Response:
        with lock:
            found = operations.get(request.params["op"])
            if found is None:
                return _graph_error(404, "NotFound", "The operation was not found.")
            running = found["polls"] > 0
            found["polls"] -= 1
        stamp, op = found["created"], request.params["op"]
        body: dict[str, Any] = {"id": op, "createdDateTime": stamp, "lastActionDateTime": stamp}
        if running:
            body.update({"@odata.type": "#microsoft.graph.partners.billing.runningOperation", "status": "running"})
            return Response(200, body, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        elif found["failed"]:
            body.update(
                {
                    "@odata.type": "#microsoft.graph.partners.billing.failedOperation",
                    "status": "failed",
                    "error": {"code": "5000", "message": "No data available"},
                }
            )
        else:
            body.update(
                {
                    "@odata.type": "#microsoft.graph.partners.billing.exportSuccessOperation",
                    "status": "succeeded",
                    "resourceLocation@odata.navigationLink": f"{host(request)}{GRAPH_ROOT}/manifests/{op}",
                }
            )
        return Response(200, body)

    @graph("GET", r"/manifests/(?P<op>[^/]+)")
    def manifest(request: Request) -> Response:
        found = operations.get(request.params["op"])
        if found is None or found["failed"] or found["polls"] >= 0:
            return _graph_error(404, "NotFound", "The manifest was not found.")
        count = -(-len(found["lines"]) // LINES_PER_BLOB)
        return Response(
            200,
            {
                "id": request.params["op"],
                "schemaVersion": "2",
                "dataFormat": "compressedJSON",
                "createdDateTime": found["created"],
                "eTag": found["sig"][:12],
                "partnerTenantId": world.partner_id,
                "rootDirectory": f"{host(request)}/blob/exports/{request.params['op']}",
                "sasToken": f"sv=2023-01-03&sr=c&sp=rl&sig={found['sig']}",
                "partitionType": "default",
                "blobCount": count,
                "blobs": [{"name": f"part-{n:05d}.json.gz", "partitionValue": "default"} for n in range(count)],
            },
        )

    @Routes(app)("GET", r"/blob/exports/(?P<op>[^/]+)/part-(?P<n>\d+)\.json\.gz")
    def blob(request: Request) -> Response:
        found = operations.get(request.params["op"])
        if found is None or request.arg("sig") != found["sig"]:
            return Response(
                403,
                '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed'
                "</Code><Message>Server failed to authenticate the request.</Message></Error>",
                content_type="application/xml",
            )
        start = int(request.params["n"]) * LINES_PER_BLOB
        chunk = found["lines"][start : start + LINES_PER_BLOB]
        text = "\n".join(Response(body=line).encode()[0].decode() for line in chunk)
        return Response(200, gzip.compress(text.encode()), content_type="application/octet-stream")
