"""Partner Center REST adapter: customers, NCE licence subscriptions and one-time (NCE) reconciliation line items.

Wire facts follow reference/microsoft.md §2: ``{base}/v1/...`` with a bearer token for
``https://api.partnercenter.microsoft.com/.default``, seek paging through ``links.next`` (relative ``uri`` plus its
``MS-ContinuationToken`` header, never stopping on ``totalCount``), numbers that arrive as numbers or strings,
``chargeType`` in either case. Transient failures (429 with ``Retry-After``, 5xx, dropped connections, timeouts) are
retried by the shared session (urllib3 ``Retry``); a page whose body is cut off is fetched again with the same
continuation token. After the bounded retries the pull fails with ``SourceUnavailable``.

Every pull returns a ``PullResult``: the records that mapped, plus one ``MalformedRecord`` per vendor record that did
not (naming the record and the field), so one bad subscription never hides the valid ones around it.

Recon lines come two ways: ``PartnerCenter.unbilled_line_items`` / ``billed_line_items`` (v1 REST, which since
21 April 2025 serves only billing periods before February 2024) and ``PartnerBillingExport``
(``connectors.partner_billing_export``, the Graph v2 asynchronous export that replaces it); ``invoices()`` discovers
the invoice ids and ``connectors.partner_recon`` routes each period to the API that serves it. Both map to the same
``CostLineRecord`` with the same ``line_id`` for the same line (``connectors.recon_lines``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, retry_if_result

from connectors.auth import TokenProvider
from connectors.base import PageRequest, VendorConnector, Verdict
from connectors.errors import MalformedRecord, SourceUnavailable
from connectors.http import HttpPolicy
from connectors.json_body import load_json
from connectors.recon_lines import cost_line
from connectors.records import (
    BillingFrequency,
    BillingType,
    CustomerRecord,
    Duration,
    FieldReader,
    InvoiceRecord,
    LicenceRecord,
    PullResult,
    Status,
)

log = logging.getLogger("cspbill.connectors.partner_center")

SOURCE = "partner_center"
SCOPE = "https://api.partnercenter.microsoft.com/.default"

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


def ms_headers(request_id: str) -> dict[str, str]:
    """Every Partner Center call: the idempotency key, a fresh correlation id, the contract version."""
    return {"MS-RequestId": request_id, "MS-CorrelationId": str(uuid.uuid4()), "MS-Contract-Version": "v1"}


class MicrosoftConnector(VendorConnector):
    """How Microsoft's partner APIs (Partner Center, Graph partner billing) answer: anything below 400 is an answer,
    429 and 5xx mean "unavailable", and an error names the call, the status and Microsoft's own text."""

    def _succeeded(self, status: int) -> bool:
        return status < 400

    def _unavailable(self, status: int) -> bool:
        return status == 429 or status >= 500

    def _describe(
        self, verdict: Verdict, response: requests.Response, what: str, error: Exception | None = None
    ) -> str:
        detail = response.text[:300].replace("\n", " ")
        if verdict == "refused":
            return f"{what} refused ({response.status_code}): {detail}"
        if verdict == "unavailable":
            return f"{what} still failing after retries ({response.status_code}): {detail}"
        if verdict == "unreadable":
            return f"{what} returned unreadable JSON"
        return f"{what} failed ({response.status_code}): {detail}"


class PartnerCenter(MicrosoftConnector):
    """Partner Center client for one partner tenant: the nightly reads (the service desk's writes are in
    ``connectors.partner_center_writes``).

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
        super().__init__(source, tokens, policy)
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.currency = currency
        self.page_size = max(1, min(page_size, 500))
        self.line_item_page_size = max(1, min(line_item_page_size, 2000))
        self._now = now

    # --- transport -------------------------------------------------------------------------------------------

    def _url(self, path_or_uri: str) -> str:
        """``links.next.uri`` comes as ``/v1/customers?…`` or ``/customers?…``: add ``/v1`` only if missing."""
        path = path_or_uri if path_or_uri.startswith("/") else f"/{path_or_uri}"
        if not path.lower().startswith("/v1/"):
            path = f"/v1{path}"
        return f"{self.base_url}{path}"

    def _get_json(self, page: PageRequest) -> dict[str, Any]:
        """GET one page. Retries (urllib3) cover 429/5xx/timeouts; a cut-off body is fetched again here."""
        request_id = str(uuid.uuid4())  # idempotency key: the same value on every retry of this page
        path = urlsplit(page.url).path
        backoff = self.policy.backoff()

        def attempt(number: int) -> dict[str, Any] | None:
            response = self._send("GET", page.url, params=page.params, headers={**ms_headers(request_id),
                                                                                  **page.headers})
            self._check(response, f"GET {path}")
            try:
                body = load_json(response.content)
            except ValueError:
                log.warning("%s: GET %s returned an unreadable page (attempt %d of %d, request %s)",
                            self.source, path, number, backoff.attempts, request_id)
                return None
            if not isinstance(body, dict):
                raise SourceUnavailable(self.source, f"GET {path} returned {type(body).__name__}, not an object")
            return body

        def exhausted(state: RetryCallState) -> dict[str, Any]:
            raise SourceUnavailable(self.source, f"GET {path} kept returning unreadable JSON ({backoff.attempts} "
                                                 "attempts)")

        return backoff.run(attempt, retry_if_result(lambda body: body is None), exhausted=exhausted)

    def _items(self, path: str, params: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following seek paging until ``links.next`` is absent."""

        def read(body: Any, number: int, before: int) -> tuple[list[Any], PageRequest | None]:
            items = body.get("items") or []
            if not isinstance(items, list):
                raise SourceUnavailable(self.source, f"{path}: page {number + 1} has no item list")
            following = (body.get("links") or {}).get("next")
            if not following or not following.get("uri"):
                return items, None
            headers = {h["key"]: h["value"] for h in following.get("headers") or [] if "key" in h}
            return items, PageRequest(self._url(following["uri"]), None, headers)

        return self._pages(path, PageRequest(self._url(path), params), read)

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
        return self._map(self._items("/customers", {"size": self.page_size}), self._customer)

    def _customer(self, item: FieldReader) -> CustomerRecord:
        profile = item.nested("companyProfile")
        external_id = item.text("id")
        return CustomerRecord(
            source=self.source,
            external_id=external_id,
            name=profile.text("companyName"),
            tenant_id=profile.maybe_text("tenantId") or external_id,
            country=item.maybe_text("billingProfile.defaultAddress.country"),
            street=item.maybe_text("billingProfile.defaultAddress.addressLine1"),
            city=item.maybe_text("billingProfile.defaultAddress.city"),
            postal_code=item.maybe_text("billingProfile.defaultAddress.postalCode"),
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
        return self._map(items, lambda item: self._licence(item, customer, as_of))

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
            billing_type=licence_billing_type(item.get("isTrial") is True, billing_type, frequency),
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

    # --- invoices and reconciliation line items (v1; ``connectors.partner_recon`` picks v1 or v2 per period) ---

    def invoices(self) -> tuple[list[InvoiceRecord], list[MalformedRecord]]:
        """The partner's invoices (``GET /v1/invoices?size=N``, paged by ``links.next``): ids and billing periods."""
        return self._map(self._items("/invoices", {"size": self.page_size}), self._invoice)

    def _invoice(self, item: FieldReader) -> InvoiceRecord:
        return InvoiceRecord(source=self.source, invoice_id=item.text("id"),
                             period_start=item.day("billingPeriodStartDate"),
                             period_end=item.day("billingPeriodEndDate"),
                             currency=item.maybe_text("currencyCode"), raw=item.raw)

    def unbilled_line_items(self, currency: str, period: Literal["current", "previous"] = "current") -> PullResult:
        """NCE (one-time) unbilled recon line items of the current or previous billing period."""
        params = {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": currency,
            "period": period,
            "size": self.line_item_page_size,
        }
        return self._line_items("/invoices/unbilled/lineitems", params)

    def billed_line_items(self, invoice_id: str, currency: str) -> PullResult:
        """NCE (one-time) recon line items of a billed invoice."""
        params = {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": currency,
            "size": self.line_item_page_size,
        }
        return self._line_items(f"/invoices/{invoice_id}/lineitems", params)

    def _line_items(self, path: str, params: dict[str, Any]) -> PullResult:
        items = self._items(path, params)
        lines, errors = self._map(items, lambda item: cost_line(self.source, item), id_field="referenceId")
        return PullResult(cost_lines=tuple(lines), errors=tuple(errors))


def licence_billing_type(trial: bool, billing_type: str, frequency: BillingFrequency) -> BillingType:
    """Trials are never billed; a ``oneTime`` billing cycle (software, reservations) is a one-time purchase."""
    if trial:
        return "trial"
    if billing_type == "usage":
        return "usage"
    return "one_time" if frequency == "ONE_TIME" else "license"

