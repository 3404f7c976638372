"""Partner Center REST adapter: customers, NCE licence subscriptions and one-time (NCE) reconciliation line items.

Wire facts follow reference/microsoft.md §2: ``{base}/v1/...`` with a bearer token for
``https://api.partnercenter.microsoft.com/.default``, seek paging through ``links.next`` (relative ``uri`` plus its
``MS-ContinuationToken`` header, never stopping on ``totalCount``), numbers that arrive as numbers or strings,
``chargeType`` in either case. Transient failures (429 with ``Retry-After``, 5xx, dropped connections, timeouts) are
retried by the shared session (urllib3 ``Retry``); a page whose body is cut off is fetched again with the same
continuation token. After the bounded retries the pull fails with ``SourceUnavailable``.

Every pull returns a ``PullResult``: the records that mapped, plus one ``MalformedRecord`` per vendor record that did
not (naming the record and the field), so one bad subscription never hides the valid ones around it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import requests

from connectors.auth import TokenProvider, send_with_bearer
from connectors.errors import AuthenticationFailed, MalformedRecord, SourceError, SourceUnavailable
from connectors.http import HttpPolicy, build_session, sleep
from connectors.records import BillingFrequency, CostLineRecord, CustomerRecord, Duration, LicenceRecord, Status

log = logging.getLogger("cspbill.connectors.partner_center")

SOURCE = "partner_center"
SCOPE = "https://api.partnercenter.microsoft.com/.default"
T = TypeVar("T")

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


@dataclass(frozen=True)
class PullResult(Generic[T]):
    """What one pull produced: the mapped records and the vendor records that could not be mapped."""

    records: tuple[T, ...]
    errors: tuple[MalformedRecord, ...]


class _Bad(Exception):
    """A field of one vendor record is unusable; turned into ``MalformedRecord`` with the record's id."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _get(item: dict[str, Any], path: str, required: bool = True) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if required and (value is None or value == ""):
        raise _Bad(path, "missing")
    return value


def _decimal(item: dict[str, Any], path: str) -> Decimal:
    value = _get(item, path)
    if isinstance(value, bool):
        raise _Bad(path, f"not a number: {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise _Bad(path, f"not a number: {value!r}") from None
    if not number.is_finite():
        raise _Bad(path, f"not a finite number: {value!r}")
    return number


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _instant(item: dict[str, Any], path: str) -> dt.datetime:
    """ISO 8601 instant in UTC; Microsoft sends 0-7 fractional digits and ``Z``."""
    value = _get(item, path)
    if not isinstance(value, str):
        raise _Bad(path, f"not a date-time: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        raise _Bad(path, f"not an ISO 8601 date-time: {value!r}") from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _optional_instant(item: dict[str, Any], path: str) -> dt.datetime | None:
    return _instant(item, path) if _get(item, path, required=False) not in (None, "") else None


def _line_id(item: dict[str, Any], sign: str) -> str:
    """Recon lines carry no id of their own: derive a stable one from what identifies the line."""
    parts = [
        str(item.get(k, ""))
        for k in (
            "invoiceNumber",
            "customerId",
            "subscriptionId",
            "referenceId",
            "chargeStartDate",
            "chargeEndDate",
            "orderId",
            "alternateId",
        )
    ]
    parts += [str(item.get("chargeType", "")).lower(), sign]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class PartnerCenter:
    """Read-only Partner Center client for one partner tenant.

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
            self._raise_for_status(response, path)
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

    def _raise_for_status(self, response: requests.Response, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = response.text[:300].replace("\n", " ")
        if status in (401, 403):
            raise AuthenticationFailed(self.source, f"GET {path} refused ({status}): {detail}")
        if status == 429 or status >= 500:
            raise SourceUnavailable(self.source, f"GET {path} still failing after retries ({status}): {detail}")
        raise SourceError(self.source, f"GET {path} failed ({status}): {detail}")

    def _items(self, path: str, params: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following seek paging until ``links.next`` is absent."""
        url, headers = self._url(path), {}
        pages = 0
        while True:
            body = self._fetch(url, params, headers)
            pages += 1
            items = body.get("items") or []
            yield from (item for item in items if isinstance(item, dict))
            following = (body.get("links") or {}).get("next")
            if not following or not following.get("uri"):
                log.info("%s: %s read in %d page(s)", self.source, path, pages)
                return
            url, params = self._url(following["uri"]), None
            headers = {h["key"]: h["value"] for h in following.get("headers") or [] if "key" in h}

    def _pull(
        self, items: Iterable[dict[str, Any]], id_field: str, mapper: Callable[[dict[str, Any]], T]
    ) -> PullResult[T]:
        records: list[T] = []
        errors: list[MalformedRecord] = []
        for index, item in enumerate(items):
            record_id = str(item.get(id_field) or f"#{index}")
            try:
                records.append(mapper(item))
            except _Bad as bad:
                log.warning("%s: record %s: field %s: %s", self.source, record_id, bad.field, bad.problem)
                errors.append(MalformedRecord(self.source, record_id, bad.field, bad.problem))
        return PullResult(tuple(records), tuple(errors))

    # --- customers -------------------------------------------------------------------------------------------

    def customers(self) -> PullResult[CustomerRecord]:
        """All customers of the partner (``GET /v1/customers?size=N``, seek paging)."""
        return self._pull(self._items("/customers", {"size": self.page_size}), "id", self._customer)

    def _customer(self, item: dict[str, Any]) -> CustomerRecord:
        profile = _get(item, "companyProfile")
        if not isinstance(profile, dict):
            raise _Bad("companyProfile", f"not an object: {profile!r}")
        return CustomerRecord(
            source=self.source,
            external_id=str(_get(item, "id")),
            name=str(_get(item, "companyProfile.companyName")),
            tenant_id=str(_get(item, "companyProfile.tenantId", required=False) or _get(item, "id")),
            country=_get(item, "billingProfile.defaultAddress.country", required=False),
            raw=item,
        )

    # --- subscriptions ---------------------------------------------------------------------------------------

    def subscriptions(self, customer: CustomerRecord) -> PullResult[LicenceRecord]:
        """A customer's subscriptions as licence records (``GET /v1/customers/{id}/subscriptions``)."""
        as_of = self._now()
        log.info("%s: reading subscriptions of customer %s (%s)", self.source, customer.external_id, customer.name)
        items = self._items(f"/customers/{customer.external_id}/subscriptions", None)
        return self._pull(items, "id", lambda item: self._licence(item, customer, as_of))

    def licences(self, customers: Iterable[CustomerRecord] | None = None) -> PullResult[LicenceRecord]:
        """Subscriptions of every customer (all customers when none are given); errors of all customers."""
        if customers is None:
            listed = self.customers()
            customers, errors = listed.records, list(listed.errors)
        else:
            errors = []
        records: list[LicenceRecord] = []
        for customer in customers:
            result = self.subscriptions(customer)
            records += result.records
            errors += result.errors
        return PullResult(tuple(records), tuple(errors))

    def _licence(self, item: dict[str, Any], customer: CustomerRecord, as_of: dt.datetime) -> LicenceRecord:
        sub_id = str(_get(item, "id"))
        offer_id = str(_get(item, "offerId"))
        product_id, _, rest = offer_id.partition(":")
        sku_id = rest.partition(":")[0] or None
        quantity = _decimal(item, "quantity")
        status_raw = str(_get(item, "status"))
        status = _STATUSES.get(status_raw.lower(), "other")
        billing_type_raw = str(_get(item, "billingType", required=False) or "license").lower()
        is_trial = bool(_get(item, "isTrial", required=False))
        cycle = str(_get(item, "billingCycle", required=False) or "").lower()
        if billing_type_raw == "usage":
            frequency: BillingFrequency = "USAGE"
        elif cycle in _BILLING_CYCLES:
            frequency = _BILLING_CYCLES[cycle]
        else:
            raise _Bad("billingCycle", f"unknown billing cycle {cycle!r} for a {billing_type_raw} subscription")
        term_raw = str(_get(item, "termDuration", required=False) or "")
        term: Duration | None = term_raw if term_raw in _TERMS else None  # type: ignore[assignment]
        start = _optional_instant(item, "effectiveStartDate")
        end = _optional_instant(item, "commitmentEndDate")
        auto_renew = _get(item, "autoRenewEnabled", required=False)
        batches = []
        for index, detail in enumerate(_get(item, "refundableQuantity.details", required=False) or []):
            field = f"refundableQuantity.details[{index}]"
            if not isinstance(detail, dict):
                raise _Bad(field, f"not an object: {detail!r}")
            try:
                seats, until = _decimal(detail, "quantity"), _instant(detail, "allowedUntilDateTime")
            except _Bad as bad:
                raise _Bad(f"{field}.{bad.field}", bad.problem) from None
            batches.append((seats, until))
        return LicenceRecord(
            source=self.source,
            source_account_id=self.account_id,
            customer_external_id=customer.external_id,
            customer_name=customer.name,
            subscription_external_id=sub_id,
            line_external_id=sub_id,
            product_id=product_id,
            product_name=str(
                _get(item, "offerName", required=False) or _get(item, "friendlyName", required=False) or offer_id
            ),
            quantity=quantity,
            currency=self.currency,
            billing_frequency=frequency,
            billing_type="trial" if is_trial else ("usage" if billing_type_raw == "usage" else "license"),
            status=status,
            status_raw=status_raw,
            as_of=as_of,
            commitment_term=term,
            sku=sku_id,
            vendor_sku=offer_id,
            customer_tenant_id=customer.tenant_id,
            vendor_subscription_id=sub_id,
            parent_subscription_id=_get(item, "parentSubscriptionId", required=False),
            term_start=start.date() if start else None,
            term_end=end.date() if end else None,
            renewal_date=end.date() + dt.timedelta(days=1) if end and auto_renew and status == "active" else None,
            auto_renew=bool(auto_renew) if auto_renew is not None else None,
            cancellation_allowed_until=_optional_instant(item, "cancellationAllowedUntilDate"),
            refundable_batches=tuple(batches),
            raw=item,
        )

    # --- reconciliation line items ---------------------------------------------------------------------------

    def unbilled_line_items(
        self, currency: str, period: Literal["current", "previous"] = "current"
    ) -> PullResult[CostLineRecord]:
        """NCE (one-time) unbilled recon line items of the current or previous billing period."""
        params = {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": currency,
            "period": period,
            "size": self.line_item_page_size,
        }
        return self._pull(self._items("/invoices/unbilled/lineitems", params), "referenceId", self._cost_line)

    def billed_line_items(self, invoice_id: str, currency: str) -> PullResult[CostLineRecord]:
        """NCE (one-time) recon line items of a billed invoice."""
        params = {
            "provider": "onetime",
            "invoicelineitemtype": "billinglineitems",
            "currencycode": currency,
            "size": self.line_item_page_size,
        }
        return self._pull(self._items(f"/invoices/{invoice_id}/lineitems", params), "referenceId", self._cost_line)

    def _cost_line(self, item: dict[str, Any]) -> CostLineRecord:
        charge_raw = str(_get(item, "chargeType"))
        unit_price = _decimal(item, "effectiveUnitPrice")
        quantity_field = (
            "billableQuantity" if _get(item, "billableQuantity", required=False) is not None else "quantity"
        )
        quantity = _decimal(item, quantity_field)
        subtotal = _decimal(item, "subtotal")
        start = _instant(item, "chargeStartDate")
        end = _instant(item, "chargeEndDate")
        sign = "-" if unit_price < 0 or subtotal < 0 else "+"
        return CostLineRecord(
            source=self.source,
            line_id=_line_id(item, sign),
            customer_external_id=str(_get(item, "customerId")),
            subscription_external_id=str(_get(item, "subscriptionId")),
            product_id=str(_get(item, "productId")),
            charge_type=_CHARGE_TYPES.get(charge_raw.lower(), charge_raw),
            charge_start=start.date(),
            charge_end=end.date(),
            quantity=quantity,
            unit_price=unit_price,
            subtotal=subtotal,
            currency=str(_get(item, "currency")),
            reference_id=_get(item, "referenceId", required=False),
            invoice_id=_get(item, "invoiceNumber", required=False) or None,
            raw=item,
        )
