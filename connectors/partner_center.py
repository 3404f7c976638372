"""Partner Center REST adapter: customers, NCE licence subscriptions and one-time (NCE) reconciliation line items.

Wire facts follow reference/microsoft.md §2: ``{base}/v1/...`` with a bearer token for
``https://api.partnercenter.microsoft.com/.default``, seek paging through ``links.next`` (relative ``uri`` plus its
``MS-ContinuationToken`` header, never stopping on ``totalCount``), numbers that arrive as numbers or strings,
``chargeType`` in either case. Transient failures (429 with ``Retry-After``, 5xx, dropped connections, timeouts) are
retried by the shared session (urllib3 ``Retry``); a page whose body is cut off is fetched again with the same
continuation token. After the bounded retries the pull fails with ``SourceUnavailable``.

Every pull returns a ``PullResult``: the records that mapped, plus one ``MalformedRecord`` per vendor record that did
not (naming the record and the field), so one bad subscription never hides the valid ones around it.

Recon lines come two ways: ``PartnerCenter.unbilled_line_items`` / ``billed_line_items`` (v1 REST, retired by
Microsoft for billing periods from February 2024) and ``PartnerBillingExport`` (the Graph v2 asynchronous export that
replaces it). Both map to the same ``CostLineRecord`` with the same ``line_id`` for the same line.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests

from connectors.auth import TokenProvider, send_with_bearer
from connectors.errors import AuthenticationFailed, MalformedRecord, SourceError, SourceUnavailable
from connectors.http import HttpPolicy, build_session, retry_after_seconds, sleep
from connectors.records import (
    BillingFrequency,
    CostLineRecord,
    CustomerRecord,
    Duration,
    FieldReader,
    LicenceRecord,
    PullResult,
    Status,
)

log = logging.getLogger("cspbill.connectors.partner_center")

SOURCE = "partner_center"
SCOPE = "https://api.partnercenter.microsoft.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"  # for PartnerBillingExport
T = TypeVar("T")
Mapper = Callable[[FieldReader], T]

_BILLING_CYCLES: dict[str, BillingFrequency] = {
    "monthly": "P1M",
    "annual": "P1Y",
    "triennial": "P3Y",
    "onetime": "ONE_TIME",
}
_STATUSES: dict[str, Status] = {
    "active": "active",
    "pending": "pending",
    "suspended": "suspended",
    "disabled": "suspended",
    "deleted": "cancelled",
    "expired": "cancelled",
    "none": "other",
}
_TERMS: frozenset[str] = frozenset({"P1M", "P1Y", "P2Y", "P3Y"})
# Canonical spelling of the NCE charge types (§2.6); Microsoft sends some of them PascalCase.
_CHARGE_TYPES = {
    name.lower(): name
    for name in (
        "new",
        "renew",
        "cycleCharge",
        "addQuantity",
        "removeQuantity",
        "moveQuantity",
        "cancelImmediate",
        "convert",
        "changeBillingPlan",
        "customerCredit",
        "extendTerm",
    )
}


def _line_id(item: dict[str, Any], sign: str, name: Callable[[str], str]) -> str:
    """Recon lines carry no id of their own: derive a stable one from what identifies the line.

    Built from field values only, so the same line read through v1 REST or the v2 export gets the same id.
    """
    keys = (
        "invoiceNumber",
        "customerId",
        "subscriptionId",
        "referenceId",
        "chargeStartDate",
        "chargeEndDate",
        "orderId",
        "alternateId",
    )
    parts = [str(item.get(name(k), "")) for k in keys]
    parts += [str(item.get(name("chargeType"), "")).lower(), sign]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _map(source: str, items: Iterable[Any], id_field: str, mapper: Mapper[T]) -> tuple[list[T], list[MalformedRecord]]:
    """Map every item; an unmappable one becomes a ``MalformedRecord`` and the others still come through."""
    records: list[T] = []
    errors: list[MalformedRecord] = []
    for index, item in enumerate(items):
        record_id = str((item.get(id_field) if isinstance(item, dict) else None) or f"#{index}")
        try:
            records.append(mapper(FieldReader(source, record_id, item)))
        except MalformedRecord as bad:
            log.warning("%s", bad)
            errors.append(bad)
    return records, errors


def _check(source: str, response: requests.Response, what: str) -> None:
    """Typed errors for a final (post-retry) answer: refusals, exhausted retries, other client errors."""
    status = response.status_code
    if status < 400:
        return
    detail = response.text[:300].replace("\n", " ")
    if status in (401, 403):
        raise AuthenticationFailed(source, f"{what} refused ({status}): {detail}")
    if status == 429 or status >= 500:
        raise SourceUnavailable(source, f"{what} still failing after retries ({status}): {detail}")
    raise SourceError(source, f"{what} failed ({status}): {detail}")


def _not_ready(response: requests.Response) -> bool:
    """409 ``800082``: "not ready to be updated, retry later" (``900278`` asks for a day: not worth waiting)."""
    if response.status_code != 409:
        return False
    try:
        return str(json.loads(response.content).get("code")) == "800082"
    except (ValueError, AttributeError):
        return False


class PartnerCenter:
    """Partner Center client for one partner tenant: the nightly reads, plus the service desk's seat changes and
    cancellations (``change_quantity`` / ``cancel``, idempotent by ``MS-RequestId``).

    Config it needs: ``base_url`` (``https://api.partnercenter.microsoft.com``, or the sandbox's ``…/pc``), a
    ``TokenProvider`` for ``SCOPE``, an ``HttpPolicy`` (timeouts, retry bounds, CA bundle as ``verify``), the
    partner tenant id (``account_id``, stored on every licence record) and the partner's billing currency
    (subscriptions carry no currency of their own).
    """

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        account_id: str,
        currency: str,
        policy: HttpPolicy | None = None,
        page_size: int = 100,
        line_item_page_size: int = 2000,
        source: str = SOURCE,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.account_id = account_id
        self.currency = currency
        self.source = source
        self.page_size = max(1, min(page_size, 500))
        self.line_item_page_size = max(1, min(line_item_page_size, 2000))
        self._policy = policy or HttpPolicy()
        self._session = build_session(source, self._policy)
        self._now = now

    def close(self) -> None:
        self._session.close()

    # --- transport -------------------------------------------------------------------------------------------

    def _url(self, path_or_uri: str) -> str:
        """``links.next.uri`` comes as ``/v1/customers?…`` or ``/customers?…``: add ``/v1`` only if missing."""
        path = path_or_uri if path_or_uri.startswith("/") else f"/{path_or_uri}"
        if not path.lower().startswith("/v1/"):
            path = f"/v1{path}"
        return f"{self.base_url}{path}"

    def _fetch(self, url: str, params: dict[str, Any] | None, headers: dict[str, str]) -> dict[str, Any]:
        """GET one page. Retries (urllib3) cover 429/5xx/timeouts; a cut-off body is fetched again here."""
        request_id = str(uuid.uuid4())  # idempotency key: the same value on every retry of this page
        path = urlsplit(url).path
        attempts = self._policy.retries + 1
        for attempt in range(attempts):
            send_headers = {
                "Accept": "application/json",
                "MS-RequestId": request_id,
                "MS-CorrelationId": str(uuid.uuid4()),
                "MS-Contract-Version": "v1",
                **headers,
            }
            try:
                response = send_with_bearer(self._session, self.tokens, "GET", url, params=params, headers=send_headers)
            except requests.RequestException as exc:
                raise SourceUnavailable(self.source, f"GET {path} failed after retries: {exc}") from exc
            _check(self.source, response, f"GET {path}")
            try:
                body = json.loads(response.content, parse_float=Decimal)
            except ValueError:
                log.warning(
                    "%s: GET %s returned an unreadable page (attempt %d of %d, request %s)",
                    self.source,
                    path,
                    attempt + 1,
                    attempts,
                    request_id,
                )
                sleep(min(self._policy.backoff_max, self._policy.backoff_factor * (2**attempt)))
                continue
            if not isinstance(body, dict):
                raise SourceUnavailable(self.source, f"GET {path} returned {type(body).__name__}, not an object")
            return body
        raise SourceUnavailable(self.source, f"GET {path} kept returning unreadable JSON ({attempts} attempts)")

    def _items(self, path: str, params: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following seek paging until ``links.next`` is absent."""
        url, headers = self._url(path), {}
        pages = 0
        seen: set[str] = set()
        while True:
            body = self._fetch(url, params, headers)
            pages += 1
            items = body.get("items") or []
            if not isinstance(items, list):
                raise SourceUnavailable(self.source, f"{path}: page {pages} has no item list")
            yield from items
            following = (body.get("links") or {}).get("next")
            if not following or not following.get("uri"):
                log.info("%s: %s read in %d page(s)", self.source, path, pages)
                return
            url, params = self._url(following["uri"]), None
            headers = {h["key"]: h["value"] for h in following.get("headers") or [] if "key" in h}
            position = f"{url}|{sorted(headers.items())}"
            if position in seen:  # a server handing back the same continuation would loop forever
                raise SourceUnavailable(self.source, f"{path}: page {pages} repeats an earlier continuation token")
            seen.add(position)

    def pull(self) -> PullResult:
        """The nightly read: every customer and every customer's subscriptions."""
        customers, errors = self._customers()
        licences: list[LicenceRecord] = []
        for customer in customers:
            found, bad = self._subscriptions(customer)
            licences += found
            errors += bad
        return PullResult(customers=tuple(customers), licences=tuple(licences), errors=tuple(errors))

    # --- customers -------------------------------------------------------------------------------------------

    def customers(self) -> PullResult:
        """All customers of the partner (``GET /v1/customers?size=N``, seek paging)."""
        customers, errors = self._customers()
        return PullResult(customers=tuple(customers), errors=tuple(errors))

    def _customers(self) -> tuple[list[CustomerRecord], list[MalformedRecord]]:
        return _map(self.source, self._items("/customers", {"size": self.page_size}), "id", self._customer)

    def _customer(self, item: FieldReader) -> CustomerRecord:
        profile = item.nested("companyProfile")
        external_id = item.text("id")
        return CustomerRecord(
            source=self.source,
            external_id=external_id,
            name=profile.text("companyName"),
            tenant_id=profile.maybe_text("tenantId") or external_id,
            country=item.maybe_text("billingProfile.defaultAddress.country"),
            raw=item.raw,
        )

    # --- subscriptions ---------------------------------------------------------------------------------------

    def subscriptions(self, customer: CustomerRecord) -> PullResult:
        """A customer's subscriptions as licence records (``GET /v1/customers/{id}/subscriptions``)."""
        licences, errors = self._subscriptions(customer)
        return PullResult(licences=tuple(licences), errors=tuple(errors))

    def _subscriptions(self, customer: CustomerRecord) -> tuple[list[LicenceRecord], list[MalformedRecord]]:
        as_of = self._now()
        log.info("%s: reading subscriptions of customer %s (%s)", self.source, customer.external_id, customer.name)
        items = self._items(f"/customers/{customer.external_id}/subscriptions", None)
        return _map(self.source, items, "id", lambda item: self._licence(item, customer, as_of))

    def _licence(self, item: FieldReader, customer: CustomerRecord, as_of: dt.datetime) -> LicenceRecord:
        sub_id = item.text("id")
        offer_id = item.text("offerId")
        product_id, _, rest = offer_id.partition(":")
        quantity = item.decimal("quantity", minimum=Decimal(0))
        status_raw = item.text("status")
        status = _STATUSES.get(status_raw.lower(), "other")
        billing_type = (item.maybe_text("billingType") or "license").lower()
        cycle = (item.maybe_text("billingCycle") or "").lower()
        if billing_type == "usage":
            frequency: BillingFrequency = "USAGE"
        elif cycle in _BILLING_CYCLES:
            frequency = _BILLING_CYCLES[cycle]
        else:
            raise item.fail("billingCycle", f"unknown billing cycle {cycle!r} for a {billing_type} subscription")
        term_raw = item.maybe_text("termDuration") or ""
        term: Duration | None = term_raw if term_raw in _TERMS else None  # type: ignore[assignment]
        end = item.maybe_day("commitmentEndDate")
        auto_renew = item.get("autoRenewEnabled")
        details = item.get("refundableQuantity.details")
        batches = []
        for index in range(len(details) if isinstance(details, list) else 0):
            batch = item.nested("refundableQuantity.details", index)
            seats = batch.decimal("quantity", minimum=Decimal(0))
            until = batch.maybe_instant("allowedUntilDateTime")
            if until is None:
                raise batch.fail("allowedUntilDateTime", "is missing")
            batches.append((seats, until))
        return LicenceRecord(
            source=self.source,
            source_account_id=self.account_id,
            customer_external_id=customer.external_id,
            customer_name=customer.name,
            subscription_external_id=sub_id,
            line_external_id=sub_id,
            product_id=product_id,
            product_name=item.maybe_text("offerName") or item.maybe_text("friendlyName") or offer_id,
            quantity=quantity,
            currency=self.currency,
            billing_frequency=frequency,
            billing_type="trial"
            if item.get("isTrial") is True
            else ("usage" if billing_type == "usage" else "license"),
            status=status,
            status_raw=status_raw,
            as_of=as_of,
            commitment_term=term,
            sku=rest.partition(":")[0] or None,
            vendor_sku=offer_id,
            customer_tenant_id=customer.tenant_id,
            vendor_subscription_id=sub_id,
            parent_subscription_id=item.maybe_text("parentSubscriptionId"),
            term_start=item.maybe_day("effectiveStartDate"),
            term_end=end,
            renewal_date=end + dt.timedelta(days=1) if end and auto_renew is True and status == "active" else None,
            auto_renew=auto_renew if isinstance(auto_renew, bool) else None,
            cancellation_allowed_until=item.maybe_instant("cancellationAllowedUntilDate"),
            refundable_batches=tuple(batches),
            raw=item.raw,
        )

    # --- writes (service-desk "apply"; the nightly sync never writes) ------------------------------------------

    def change_quantity(self, customer_id: str, subscription_id: str, quantity: int, request_id: str) -> LicenceRecord:
        """Set a subscription's seat count (NCE: reductions only within the open 168-hour batches, §3.5)."""
        return self._update(customer_id, subscription_id, {"quantity": quantity}, request_id)

    def cancel(self, customer_id: str, subscription_id: str, request_id: str) -> LicenceRecord:
        """Cancel a subscription inside its cancellation window (``status: deleted``)."""
        return self._update(customer_id, subscription_id, {"status": "deleted"}, request_id)

    def _update(self, customer_id: str, subscription_id: str, change: dict[str, Any], request_id: str) -> LicenceRecord:
        """GET the full subscription, PATCH it back with ``change`` (Partner Center wants the whole object and its
        etag). ``request_id`` is the idempotency key: the caller keeps it with the mutation so that a retry (here,
        after a lost answer, or after a crash) is answered with the first result instead of being applied twice."""
        path = f"/customers/{customer_id}/subscriptions/{subscription_id}"
        customer = self._customer(
            FieldReader(self.source, customer_id, self._fetch(self._url(f"/customers/{customer_id}"), None, {}))
        )
        body = {**self._fetch(self._url(path), None, {}), **change}
        url, attempts = self._url(path), self._policy.retries + 1
        for attempt in range(attempts):
            headers = {
                "Accept": "application/json",
                "MS-RequestId": request_id,
                "MS-CorrelationId": str(uuid.uuid4()),
                "MS-Contract-Version": "v1",
            }
            try:
                response = send_with_bearer(self._session, self.tokens, "PATCH", url, json=body, headers=headers)
            except requests.RequestException as exc:  # the write may have been applied: retry with the same id
                log.warning(
                    "%s: PATCH %s lost its answer (attempt %d of %d, request %s): %s",
                    self.source,
                    path,
                    attempt + 1,
                    attempts,
                    request_id,
                    exc,
                )
                sleep(min(self._policy.backoff_max, self._policy.backoff_factor * (2**attempt)))
                continue
            if response.status_code == 429 or response.status_code >= 500 or _not_ready(response):
                log.warning(
                    "%s: PATCH %s answered %d (attempt %d of %d, request %s)",
                    self.source,
                    path,
                    response.status_code,
                    attempt + 1,
                    attempts,
                    request_id,
                )
                sleep(retry_after_seconds(response, default=self._policy.backoff_factor * (2**attempt)))
                continue
            _check(self.source, response, f"PATCH {path}")
            try:
                updated = json.loads(response.content, parse_float=Decimal)
            except ValueError:
                updated = self._fetch(self._url(path), None, {})
            log.info(
                "%s: PATCH %s applied %s for customer %s (request %s)",
                self.source,
                path,
                sorted(change),
                customer.name,
                request_id,
            )
            return self._licence(FieldReader(self.source, subscription_id, updated), customer, self._now())
        raise SourceUnavailable(
            self.source, f"PATCH {path} not confirmed after {attempts} attempts (request {request_id})"
        )

    # --- reconciliation line items ---------------------------------------------------------------------------

    def unbilled_line_items(self, currency: str, period: Literal["current", "previous"] = "current") -> PullResult:
        """NCE (one-time) unbilled recon line items of the current or previous billing period."""
        params = {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": currency,
            "period": period,
            "size": self.line_item_page_size,
        }
        items = self._items("/invoices/unbilled/lineitems", params)
        lines, errors = _map(self.source, items, "referenceId", lambda item: _cost_line(self.source, item))
        return PullResult(cost_lines=tuple(lines), errors=tuple(errors))

    def billed_line_items(self, invoice_id: str, currency: str) -> PullResult:
        """NCE (one-time) recon line items of a billed invoice."""
        params = {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": currency,
            "size": self.line_item_page_size,
        }
        items = self._items(f"/invoices/{invoice_id}/lineitems", params)
        lines, errors = _map(self.source, items, "referenceId", lambda item: _cost_line(self.source, item))
        return PullResult(cost_lines=tuple(lines), errors=tuple(errors))


def _same(name: str) -> str:
    return name


def _pascal(name: str) -> str:
    """v1 camelCase field name -> the v2 export's PascalCase name (§2.6b)."""
    return _V2_NAMES.get(name, name[:1].upper() + name[1:])


_V2_NAMES = {"pcToBCExchangeRate": "PCToBCExchangeRate", "totalForCustomer": "Total"}


def _cost_line(source: str, item: FieldReader, name: Callable[[str], str] = _same) -> CostLineRecord:
    """A recon line item as a cost line, kept exactly as Microsoft billed it; ``name`` spells v1 or v2 fields."""
    charge_raw = item.text(name("chargeType"))
    unit_price = item.decimal(name("effectiveUnitPrice"))
    quantity_field = "billableQuantity" if item.get(name("billableQuantity")) is not None else "quantity"
    quantity = item.decimal(name(quantity_field))
    subtotal = item.decimal(name("subtotal"))
    start = item.day(name("chargeStartDate"))
    end = item.day(name("chargeEndDate"))
    sign = "-" if unit_price < 0 or subtotal < 0 else "+"
    return CostLineRecord(
        source=source,
        line_id=_line_id(item.raw, sign, name),
        customer_external_id=item.text(name("customerId")),
        subscription_external_id=item.text(name("subscriptionId")),
        product_id=item.text(name("productId")),
        charge_type=_CHARGE_TYPES.get(charge_raw.lower(), charge_raw),
        charge_start=start,
        charge_end=end,
        quantity=quantity,
        unit_price=unit_price,
        subtotal=subtotal,
        currency=item.currency(name("currency")),
        reference_id=item.maybe_text(name("referenceId")),
        invoice_id=item.maybe_text(name("invoiceNumber")),
        raw=item.raw,
    )


class PartnerBillingExport:
    """NCE reconciliation line items through Microsoft Graph's asynchronous export (§2.6b).

    Why next to the v1 line items: v1 REST recon is retired for billing periods from February 2024; the export is
    Microsoft's replacement. Flow: POST the export request (202 + ``Location``), poll the operation until it
    succeeds or fails (``5000`` "No data available" = no lines), read the manifest, download each gzip JSON Lines
    blob from ``rootDirectory`` with the manifest's SAS token (never with our bearer token: blobs live on storage).

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
        self.base_url = graph_base_url.rstrip("/")
        self.tokens = tokens
        self.source = source
        self.poll_interval = poll_interval
        self.max_polls = max_polls
        # creating an export is safe to repeat (a retry only starts another export), so POST may be retried too
        self._session = build_session(source, policy or HttpPolicy(), extra_retry_methods=("POST",))

    def close(self) -> None:
        self._session.close()

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

    def _json(self, method: str, url: str, **kwargs: Any) -> tuple[requests.Response, dict[str, Any]]:
        what = f"{method} {urlsplit(url).path}"
        try:
            response = send_with_bearer(self._session, self.tokens, method, url, **kwargs)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, f"{what} failed after retries: {exc}") from exc
        _check(self.source, response, what)
        if response.status_code == 202:
            return response, {}
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise SourceUnavailable(self.source, f"{what} returned unreadable JSON") from exc
        if not isinstance(body, dict):
            raise SourceUnavailable(self.source, f"{what} returned {type(body).__name__}, not an object")
        return response, body

    def _export(self, kind: str, request: dict[str, str]) -> PullResult:
        url = f"{self.base_url}/reports/partners/billing/reconciliation/{kind}/export"
        response, _ = self._json("POST", url, json=request, headers={"Accept": "application/json"})
        location = response.headers.get("Location")
        if response.status_code != 202 or not location:
            raise SourceError(self.source, f"{kind} export was not accepted ({response.status_code}, no Location)")
        log.info("%s: %s recon export started (%s)", self.source, kind, urlsplit(location).path.rsplit("/", 1)[-1])
        manifest_url = self._wait(location)
        if manifest_url is None:
            return PullResult()
        _, manifest = self._json("GET", manifest_url)
        records, errors = self._blobs(manifest)
        lines, bad = _map(self.source, records, "ReferenceId", lambda item: _cost_line(self.source, item, _pascal))
        log.info("%s: %s recon export: %d lines, %d malformed", self.source, kind, len(lines), len(errors) + len(bad))
        return PullResult(cost_lines=tuple(lines), errors=tuple(errors + bad))

    def _wait(self, location: str) -> str | None:
        """Poll the operation; the manifest URL on success, ``None`` when Microsoft has no data for the request."""
        for _ in range(self.max_polls):
            response, operation = self._json("GET", location)
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
            try:
                wait = float(response.headers.get("Retry-After") or self.poll_interval)
            except ValueError:
                wait = self.poll_interval
            sleep(wait)
        raise SourceUnavailable(self.source, f"recon export still running after {self.max_polls} polls")

    def _blobs(self, manifest: dict[str, Any]) -> tuple[list[Any], list[MalformedRecord]]:
        root, sas = str(manifest.get("rootDirectory", "")).rstrip("/"), str(manifest.get("sasToken", ""))
        records: list[Any] = []
        errors: list[MalformedRecord] = []
        for blob in manifest.get("blobs") or []:
            name = str(blob.get("name", ""))
            url = f"{root}/{name}?{sas}"
            try:
                response = self._session.get(url)  # the SAS token authorises; no bearer goes to storage
            except requests.RequestException as exc:
                raise SourceUnavailable(self.source, f"blob {name} failed after retries: {exc}") from exc
            _check(self.source, response, f"blob {name}")
            try:
                text = gzip.decompress(response.content).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SourceUnavailable(self.source, f"blob {name} is not gzip UTF-8 text") from exc
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line, parse_float=Decimal))
                except ValueError:
                    errors.append(MalformedRecord(self.source, f"{name}:{number}", "<line>", "not a JSON object"))
        return records, errors
