"""The Blob REST routes of the storage sandbox: List Blobs and Get Blob on one container, behind a service SAS.

Why only these: a Cost Management export is read through the container SAS URL the partner hands to cspbill, and
reading needs exactly the listing (``restype=container&comp=list`` with ``prefix``, ``marker``, ``maxresults`` and
``NextMarker`` paging) and the blob download (whole or by ``x-ms-range`` / ``Range``). The container's content is what
the Cost Management exports have written by the sandbox clock's now (``sandbox.cost_management.export_files``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.cost_management.export_files import (
    CONTAINER,
    PARTITION_BYTES,
    STORAGE_ACCOUNT,
    export_format,
    files,
    latest_per_month,
    runs,
    tamper,
    warm_up,
)
from sandbox.routing import Routes
from sandbox.scenario_microsoft import scenario
from sandbox.storage_account.sas import check, container_token

PREFIX = ""
ACCOUNT = STORAGE_ACCOUNT
ACCOUNT_KEY = "c2FuZGJveC1zdG9yYWdlLWFjY291bnQta2V5LWZvci1jc3BiaWxsLWRlbW8tb25seQ=="  # public sandbox value
# A read/list container SAS valid until 2099: what a partner hands cspbill (URL + "/{account}/{container}?" + token).
SAS_TOKEN = container_token(ACCOUNT_KEY, ACCOUNT, CONTAINER, dt.datetime(2099, 12, 31, tzinfo=dt.UTC))
CREDENTIALS: dict[str, str] = {"account": ACCOUNT, "container": CONTAINER, "account_key": ACCOUNT_KEY,
                               "sas_token": SAS_TOKEN}
API_VERSION = "2021-12-02"
MAX_RESULTS = 5000
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


AUTH_MESSAGE = ("Server failed to authenticate the request. Make sure the value of Authorization header is formed "
                "correctly including the signature.")


def _error(status: int, code: str, message: str, request_id: str) -> Response:
    """Blob storage's XML error; an authentication failure keeps its reason in ``AuthenticationErrorDetail``."""
    detail = ""
    if code == "AuthenticationFailed":
        message, detail = AUTH_MESSAGE, f"<AuthenticationErrorDetail>{escape(message)}</AuthenticationErrorDetail>"
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{escape(message)}\n'
            f"RequestId:{request_id}\nTime:{dt.datetime.now(dt.UTC).isoformat()}</Message>{detail}</Error>")
    return Response(status, body, {"x-ms-error-code": code, "x-ms-request-id": request_id}, "application/xml")


def build(clock: Clock, seed: int = 1, partition_bytes: int = PARTITION_BYTES) -> SandboxApp:
    """The storage account ``ACCOUNT`` with the container ``CONTAINER`` holding every customer's export files, cut
    into partitions of about ``partition_bytes``."""
    app = SandboxApp("storage_account", clock)
    world = scenario(seed, clock.now().date().replace(day=1))
    warm_up()
    written: dict[tuple[str, str], dict[str, bytes]] = {}  # (customer, run id) -> blobs (a run's files never change)

    def blobs(now: dt.datetime, prefix: str) -> dict[str, bytes]:
        """The blobs whose names start with ``prefix``; only the runs that can hold such names are written out."""
        found: dict[str, bytes] = {}
        for customer in world.customers:
            if not (customer.billing_customer_id.startswith(prefix) or prefix.startswith(customer.billing_customer_id)):
                continue
            for run in latest_per_month(runs(world, customer.billing_customer_id, now)):
                folder = run.folder + "/"
                if not (folder.startswith(prefix) or prefix.startswith(folder)):
                    continue
                key = (run.customer, run.run_id)
                if key not in written:
                    written[key] = files(world, run, export_format(world, run.customer), partition_bytes)
                found.update((name, content) for name, content in written[key].items() if name.startswith(prefix))
        return found

    def guard(request: Request, handler: Handler) -> Response:
        request_id = str(uuid.uuid4())
        if request.params.get("account") != ACCOUNT or request.params.get("container") != CONTAINER:
            return _error(404, "ContainerNotFound", "The specified container does not exist.", request_id)
        query = {name: values[0] for name, values in request.query.items()}
        wanted = "l" if request.arg("comp") == "list" else "r"
        refused = check(ACCOUNT_KEY, ACCOUNT, CONTAINER, query, request.clock.now(), wanted)
        if refused is not None:
            return _error(403, refused[0], refused[1], request_id)
        response = handler(request)
        response.headers.update({"x-ms-request-id": request_id, "x-ms-version": API_VERSION})
        return response

    storage = Routes(app, guard=guard)

    @storage("GET", r"/(?P<account>[^/]+)/(?P<container>[^/]+)")
    def list_blobs(request: Request) -> Response:
        if request.arg("restype") != "container" or request.arg("comp") != "list":
            return _error(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in "
                          "the request URI is invalid.", str(uuid.uuid4()))
        prefix, marker = request.arg("prefix", "") or "", request.arg("marker", "") or ""
        try:
            size = min(MAX_RESULTS, max(1, int(request.arg("maxresults") or MAX_RESULTS)))
        except ValueError:
            return _error(400, "InvalidQueryParameterValue", "maxresults is not a number.", str(uuid.uuid4()))
        content = blobs(request.clock.now(), prefix)
        names = sorted(n for n in content if n > marker)
        page, rest = names[:size], names[size:]
        modified = format_datetime(request.clock.now().replace(microsecond=0), usegmt=True)
        items = "".join(
            f"<Blob><Name>{escape(name)}</Name><Properties><Last-Modified>{modified}</Last-Modified>"
            f"<Etag>0x{hashlib.md5(content[name]).hexdigest()[:16].upper()}</Etag>"
            f"<Content-Length>{len(content[name])}</Content-Length>"
            f"<Content-Type>{_content_type(name)}</Content-Type><BlobType>BlockBlob</BlobType>"
            "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState></Properties></Blob>"
            for name in page
        )
        host = request.header("Host", "127.0.0.1")
        body = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://{host}/{ACCOUNT}/"'
                f' ContainerName="{CONTAINER}"><Prefix>{escape(prefix)}</Prefix><Marker>{escape(marker)}</Marker>'
                f"<MaxResults>{size}</MaxResults><Blobs>{items}</Blobs>"
                f"<NextMarker>{escape(page[-1]) if rest else ''}</NextMarker></EnumerationResults>")
        return Response(200, body, {}, "application/xml")

    @storage("GET", r"/(?P<account>[^/]+)/(?P<container>[^/]+)/(?P<blob>.+)")
    def get_blob(request: Request) -> Response:
        content = blobs(request.clock.now(), request.params["blob"]).get(request.params["blob"])
        if content is None:
            return _error(404, "BlobNotFound", "The specified blob does not exist.", str(uuid.uuid4()))
        drop, wrong = request.has_fault("drop_column"), request.has_fault("wrong_value")
        if drop or wrong:
            content = tamper(content, request.params["blob"].endswith(".parquet"),
                             drop=(drop.body or {}).get("column") if drop else None,
                             value=((wrong.body or {})["column"], (wrong.body or {})["value"]) if wrong else None)
        headers = {"x-ms-blob-type": "BlockBlob", "Accept-Ranges": "bytes",
                   "ETag": f'"0x{hashlib.md5(content).hexdigest()[:16].upper()}"',
                   "Last-Modified": format_datetime(request.clock.now().replace(microsecond=0), usegmt=True)}
        wanted = _RANGE.fullmatch(request.header("x-ms-range") or request.header("Range") or "")
        if wanted is None:
            return Response(200, content, headers, _content_type(request.params["blob"]))
        first = int(wanted.group(1))
        last = min(len(content) - 1, int(wanted.group(2)) if wanted.group(2) else len(content) - 1)
        if first >= len(content):
            return _error(416, "InvalidRange", "The range specified is invalid for the current size of the "
                          "resource.", str(uuid.uuid4()))
        headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
        return Response(206, content[first : last + 1], headers, _content_type(request.params["blob"]))

    return app


def _content_type(name: str) -> str:
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".csv"):
        return "text/csv"
    return "application/octet-stream"
