"""Partner Center NCE reconciliation line items through Microsoft Graph's asynchronous billing export (§2.6b).

Why a module of its own: it is a different API with a different flow from the v1 REST reads in
``connectors.partner_center`` (Graph base URL, its own scope and permission, an export that is started, polled and
downloaded from storage), and it replaces the v1 recon line items, retired for billing periods from February 2024.
It answers errors the way Partner Center does (``MicrosoftConnector``) and maps lines with the same
``connectors.recon_lines`` mapping, so a line read either way gets the same ``line_id``.
"""

from __future__ import annotations

import gzip
import logging
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from connectors.auth import TokenProvider
from connectors.errors import MalformedRecord, SourceError, SourceUnavailable
from connectors.http import HttpPolicy
from connectors.json_body import load_json
from connectors.partner_center import SOURCE, MicrosoftConnector
from connectors.recon_lines import cost_line, v2_name
from connectors.records import PullResult
from connectors.retry import retry_after, sleep

log = logging.getLogger("cspbill.connectors.partner_center")

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class PartnerBillingExport(MicrosoftConnector):
    """NCE reconciliation line items through Microsoft Graph's asynchronous export (§2.6b).

    Flow: POST the export request (202 + ``Location``), poll the operation until it succeeds or fails (``5000`` "No
    data available" = no lines), read the manifest, download each gzip JSON Lines blob from ``rootDirectory`` with the
    manifest's SAS token (never with our bearer token: blobs live on storage).

    Config it needs: the Graph base URL (``https://graph.microsoft.com/v1.0``), a ``TokenProvider`` for
    ``GRAPH_SCOPE`` (permission ``PartnerBilling.Read.All``), an ``HttpPolicy``, and the poll interval and limit.
    """

    def __init__(
        self,
        graph_base_url: str,
        tokens: TokenProvider,
        *,
        policy: HttpPolicy | None = None,
        source: str = SOURCE,
        poll_interval: float = 5.0,
        max_polls: int = 120,
    ) -> None:
        # creating an export is safe to repeat (a retry only starts another export), so POST may be retried too
        super().__init__(source, tokens, policy, retry_posts=True)
        self.base_url = graph_base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.max_polls = max_polls

    def billed(self, invoice_id: str, attribute_set: Literal["full", "basic"] = "full") -> PullResult:
        """Every line of a billed invoice."""
        return self._export("billed", {"invoiceId": invoice_id, "attributeSet": attribute_set})

    def unbilled(
        self,
        currency: str,
        period: Literal["current", "last"] = "current",
        attribute_set: Literal["full", "basic"] = "full",
    ) -> PullResult:
        """Unbilled lines of the current or last billing period in one currency."""
        return self._export(
            "unbilled", {"currencyCode": currency, "billingPeriod": period, "attributeSet": attribute_set}
        )

    def _object(self, method: str, url: str, **kwargs: Any) -> tuple[requests.Response, dict[str, Any]]:
        what = f"{method} {urlsplit(url).path}"
        response = self._send(method, url, **kwargs)
        if response.status_code == 202:
            self._check(response, what)
            return response, {}
        body = self._json(response, what)
        if not isinstance(body, dict):
            raise SourceUnavailable(self.source, f"{what} returned {type(body).__name__}, not an object")
        return response, body

    def _export(self, kind: str, request: dict[str, str]) -> PullResult:
        url = f"{self.base_url}/reports/partners/billing/reconciliation/{kind}/export"
        response, _ = self._object("POST", url, json=request)
        location = response.headers.get("Location")
        if response.status_code != 202 or not location:
            raise SourceError(self.source, f"{kind} export was not accepted ({response.status_code}, no Location)")
        log.info("%s: %s recon export started (%s)", self.source, kind, urlsplit(location).path.rsplit("/", 1)[-1])
        manifest_url = self._wait(location)
        if manifest_url is None:
            return PullResult()
        _, manifest = self._object("GET", manifest_url)
        records, errors = self._blobs(manifest)
        lines, bad = self._map(records, lambda item: cost_line(self.source, item, v2_name), id_field="ReferenceId")
        log.info("%s: %s recon export: %d lines, %d malformed", self.source, kind, len(lines), len(errors) + len(bad))
        return PullResult(cost_lines=tuple(lines), errors=tuple(errors + bad))

    def _wait(self, location: str) -> str | None:
        """Poll the operation; the manifest URL on success, ``None`` when Microsoft has no data for the request."""
        for _ in range(self.max_polls):
            response, operation = self._object("GET", location)
            kind = str(operation.get("@odata.type", "")).rsplit(".", 1)[-1]
            if kind == "exportSuccessOperation":
                link = operation.get("resourceLocation@odata.navigationLink")
                if not link:
                    raise SourceError(self.source, "export succeeded without a manifest link")
                return str(link)
            if kind == "failedOperation":
                problem = operation.get("error") or {}
                if str(problem.get("code")) == "5000":
                    return None
                raise SourceError(self.source, f"recon export failed: {problem.get('code')} {problem.get('message')}")
            wait = retry_after(response.headers)
            sleep(self.poll_interval if wait is None else wait)
        raise SourceUnavailable(self.source, f"recon export still running after {self.max_polls} polls")

    def _blobs(self, manifest: dict[str, Any]) -> tuple[list[Any], list[MalformedRecord]]:
        root, sas = str(manifest.get("rootDirectory", "")).rstrip("/"), str(manifest.get("sasToken", ""))
        records: list[Any] = []
        errors: list[MalformedRecord] = []
        for blob in manifest.get("blobs") or []:
            name = str(blob.get("name", ""))
            url = f"{root}/{name}?{sas}"
            try:
                response = self.session.get(url)  # the SAS token authorises; no bearer goes to storage
            except requests.RequestException as exc:
                raise SourceUnavailable(self.source, f"blob {name} failed after retries: {exc}") from exc
            self._check(response, f"blob {name}")
            try:
                text = gzip.decompress(response.content).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SourceUnavailable(self.source, f"blob {name} is not gzip UTF-8 text") from exc
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    records.append(load_json(line))
                except ValueError:
                    errors.append(MalformedRecord(self.source, f"{name}:{number}", "<line>", "not a JSON object"))
        return records, errors
