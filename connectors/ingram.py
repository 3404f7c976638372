"""Ingram Micro Cloud Marketplace (CMP "Marketplace API") adapter: customers and subscription product lines.

Why it looks like this (distributors.md §3, §5.2, §6): seat counts exist only on ``GET /subscriptions/{id}``, so a
snapshot is the customer list, the subscription list and one detail call per subscription (bounded parallelism);
every one of them must succeed or the pull raises, because a subscription we failed to read must never look
cancelled. Every request carries ``X-Subscription-Key``; the bearer token is short-lived (1500 s), refreshed before
it runs out and once more on a 401. Money arrives as strings (``Decimal`` as written); dates are date-only and stay
plain dates. ``X-Correlation-ID`` is logged with every response by the shared session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from connectors.base import BearerToken, CachedToken, PageRequest, VendorConnector
from connectors.errors import MalformedRecord, SourceError, SourceUnavailable, VendorRefused
from connectors.http import HttpPolicy, correlation_of
from connectors.records import (
    BillingFrequency,
    BillingType,
    CustomerRecord,
    Duration,
    FieldReader,
    LicenceRecord,
    PullResult,
    Status,
)

SOURCE = "ingram_cmp"
DEFAULT_PAGE_SIZE = 100

_DURATIONS: dict[tuple[str, int], Duration] = {
    ("month", 1): "P1M", ("year", 1): "P1Y", ("year", 2): "P2Y", ("year", 3): "P3Y",
}
_BILLING: dict[tuple[str, int], BillingFrequency] = {
    **_DURATIONS, ("statement_day", 1): "P1M",  # billed every month on the statement day
}
_STATUSES: dict[str, Status] = {
    "active": "active", "pending": "pending", "hold": "suspended", "terminated": "cancelled", "removed": "cancelled",
}


class IngramConnector(VendorConnector):
    """Reads one reseller account of Ingram Micro Cloud Marketplace.

    ``base_url`` is e.g. ``https://api.cloud.im/marketplace/eu``; ``token_url`` defaults to ``{base_url}/token``.
    ``username``/``password`` are the CMPAPI user's, ``subscription_key`` the key shown with the Marketplace API
    product, ``marketplace`` the code posted to ``/token``. ``ca_bundle`` (a PEM path) overrides the policy's trust
    store. ``detail_workers`` bounds the parallel ``/subscriptions/{id}`` calls.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        subscription_key: str,
        *,
        marketplace: str = "us",
        token_url: str | None = None,
        account_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        detail_workers: int = 4,
        ca_bundle: str | None = None,
        policy: HttpPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._key_header = {"X-Subscription-Key": subscription_key}
        # POST is retried too: the token request is the only POST this read-only adapter makes; repeating it is safe.
        super().__init__(SOURCE, CachedToken(SOURCE, self._fetch_token), policy, ca_bundle=ca_bundle, retry_posts=True,
                         headers=self._key_header)
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or f"{self.base_url}/token"
        self.marketplace = marketplace
        self.account_id = account_id or marketplace
        self.page_size = max(1, page_size)
        self.detail_workers = max(1, detail_workers)
        self._credentials = (username, password)
        self._now = now
        self._plans: dict[str, Any] = {}
        self._plans_lock = threading.Lock()

    # public API

    def pull_customers(self) -> PullResult:
        """All customers as ``CustomerRecord``s (every page, or raise)."""
        customers, errors = self._customers()
        return PullResult(customers=tuple(customers.values()), errors=tuple(errors))

    def pull_licences(self) -> PullResult:
        """One complete licence snapshot: one ``LicenceRecord`` per ``products[]`` line of every subscription.

        Raises ``SourceUnavailable`` / ``AuthenticationFailed`` / ``SourceError`` when any list page or detail call
        fails; a line that cannot be mapped is in ``errors`` and the other lines are still returned.
        """
        as_of = self._now()
        customers, errors = self._customers()
        ids: list[str] = []
        for index, item in enumerate(self._all("/subscriptions")):
            value = item.get("id") if isinstance(item, dict) else None
            if value in (None, ""):
                errors.append(MalformedRecord(SOURCE, f"subscription #{index}", "id", "is missing"))
            else:
                ids.append(str(value))
        with ThreadPoolExecutor(max_workers=self.detail_workers, thread_name_prefix="ingram-detail") as pool:
            details = list(pool.map(lambda sid: self._get(f"/subscriptions/{sid}"), ids))
        licences: list[LicenceRecord] = []
        for subscription_id, detail in zip(ids, details, strict=True):
            try:
                lines = self._licences(subscription_id, detail, customers, as_of)
            except MalformedRecord as problem:
                errors.append(problem)
                continue
            for line in lines:
                if isinstance(line, MalformedRecord):
                    errors.append(line)
                else:
                    licences.append(line)
        return PullResult(customers=tuple(customers.values()), licences=tuple(licences), errors=tuple(errors))

    # HTTP

    # writes (the service desk's provisioning; the nightly read never writes)

    def quantity_of(self, subscription_id: str, product_id: str) -> Decimal:
        """The seat count of one product line now (``GET /subscriptions/{id}``): what a retry looks at first."""
        detail = FieldReader(SOURCE, subscription_id, self._get(f"/subscriptions/{subscription_id}"))
        for index, line in enumerate(detail.get("products") or []):
            if isinstance(line, dict) and str(line.get("id")) == product_id:
                return detail.nested("products", index).decimal("quantity", minimum=Decimal(0))
        raise detail.fail("products", f"no product line {product_id!r}")

    def find_change(self, customer_id: str, subscription_id: str, po_number: str) -> str | None:
        """The id of a change order placed earlier with this ``poNumber`` (our request id), if any."""
        orders = self._all("/orders", {"customerId": customer_id, "subscriptionId": subscription_id})
        return next((str(o["id"]) for o in orders if isinstance(o, dict) and o.get("poNumber") == po_number), None)

    def place_change(self, customer_id: str, subscription_id: str, mpn: str, quantity: int, po_number: str) -> str:
        """``POST /orders`` of ``type: change`` with the new ``quantity`` of the ``mpn`` line; ``poNumber`` carries
        our request id so ``find_change`` can tell whether a lost answer's order exists. Returns the order id; an
        answer of 400/404/409/422 is ``VendorRefused`` (the body is undocumented: its text is the reason)."""
        body = {"type": "change", "customerId": customer_id, "subscriptionId": subscription_id, "poNumber": po_number,
                "products": [{"mpn": mpn, "quantity": quantity}]}
        response = self._write_once("POST", f"{self.base_url}/orders", body)
        if response.status_code in (400, 404, 409, 422):
            raise VendorRefused(SOURCE, "POST /orders", str(response.status_code), response.text[:300])
        order = FieldReader(SOURCE, po_number, self._json(response, "POST /orders"))
        return order.text("id")

    def _fetch_token(self) -> BearerToken:
        payload = self._token_answer(self.token_url, _refusal, json={"marketplace": self.marketplace},
                                     auth=self._credentials, headers=self._key_header)
        value = payload.get("token") if isinstance(payload, dict) else None
        if not value:
            raise SourceError(SOURCE, "token response carries no token")
        return BearerToken.issued(str(value), float(payload.get("expiresInSeconds") or 1500))

    def _get(self, path: str) -> Any:
        return self._get_json(PageRequest(f"{self.base_url}{path}"))

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every element of a ``{data, pagination}`` listing, advancing ``offset`` by what each page returned.

        Advancing by the page's actual length keeps us right when the server clamps ``limit``. Raises when a page is
        unreadable or the listing ends short of ``pagination.total``: an incomplete listing fails the run (§6.2).
        """
        url = f"{self.base_url}{path}"

        def request(offset: int) -> PageRequest:
            return PageRequest(url, {**(params or {}), "offset": offset, "limit": self.page_size})

        def read(body: Any, number: int, before: int) -> tuple[list[Any], PageRequest | None]:
            data = body.get("data") if isinstance(body, dict) else None
            pagination = body.get("pagination") if isinstance(body, dict) else None
            if not isinstance(data, list) or not isinstance(pagination, dict):
                raise SourceUnavailable(SOURCE, f"{path} at offset {before}: not a {{data, pagination}} listing")
            try:
                total = int(pagination["total"])
            except (KeyError, TypeError, ValueError) as exc:
                raise SourceUnavailable(SOURCE, f"{path}: unreadable pagination {pagination!r}") from exc
            read_so_far = before + len(data)
            if read_so_far >= total:
                if read_so_far != total:
                    raise SourceUnavailable(SOURCE, f"{path}: read {read_so_far} elements, total says {total}")
                return data, None
            if not data:
                raise SourceUnavailable(SOURCE, f"{path}: empty page at offset {read_so_far} of {total}")
            return data, request(read_so_far)

        return list(self._pages(path, request(0), read))

    def _plan(self, plan_id: str) -> Any:
        """``GET /plans/{id}``, once per plan per connector: periods for subscriptions in the 1.6 shape."""
        with self._plans_lock:
            if plan_id not in self._plans:
                self._plans[plan_id] = self._get(f"/plans/{plan_id}")
            return self._plans[plan_id]

    # mapping

    def _customers(self) -> tuple[dict[str, CustomerRecord], list[MalformedRecord]]:
        customers, errors = self._map(self._all("/customers"), _customer, "customer")
        return {customer.external_id: customer for customer in customers}, errors

    def _licences(self, subscription_id: str, detail: Any, customers: dict[str, CustomerRecord], as_of: datetime,
                  ) -> list[LicenceRecord | MalformedRecord]:
        """One record (or the problem with it) per ``products[]`` line; raises for subscription-wide problems."""
        reader = FieldReader(SOURCE, subscription_id, detail)
        customer_id = reader.text("customerId")
        customer = customers.get(customer_id)
        if customer is None:
            raise reader.fail("customerId", f"customer {customer_id} is not in /customers")
        products = reader.get("products")
        if not isinstance(products, list) or not products:
            raise reader.fail("products", "is missing or empty")
        _check_shapes(reader)
        commitment, frequency, billing_type = self._periods(reader)
        status_raw = reader.text("status")
        common = {
            "source": SOURCE, "source_account_id": self.account_id, "customer_external_id": customer_id,
            "customer_name": customer.name, "customer_reference": customer.reference,
            "subscription_external_id": reader.text("id"), "commitment_term": commitment,
            "billing_frequency": frequency, "billing_type": billing_type,
            "term_start": reader.maybe_day("creationDate"), "term_end": reader.maybe_day("expirationDate"),
            "renewal_date": reader.maybe_day("renewalDate"),
            "auto_renew": reader.get("renewalStatus") if isinstance(reader.get("renewalStatus"), bool) else None,
            "status": _STATUSES.get(status_raw, "other"), "status_raw": status_raw,
            "source_updated_at": reader.maybe_day("lastModifiedDate"), "as_of": as_of, "raw": detail,
        }
        out: list[LicenceRecord | MalformedRecord] = []
        for index in range(len(products)):
            try:
                out.append(self._line(reader, index, common))
            except MalformedRecord as problem:
                out.append(problem)
        return out

    def _line(self, subscription: FieldReader, index: int, common: dict[str, Any]) -> LicenceRecord:
        line = subscription.nested("products", index)
        cost_currency = line.currency("unitCost.currency") if line.get("unitCost") is not None else None
        price_currency = line.currency("unitPrice.currency") if line.get("unitPrice") is not None else None
        if cost_currency and price_currency and cost_currency != price_currency:
            raise line.fail("unitPrice.currency", f"{price_currency} differs from unitCost's {cost_currency}")
        currency = cost_currency or price_currency
        if currency is None:
            raise line.fail("unitCost", "is missing (no currency for the line)")
        unit_cost = line.maybe_decimal("unitCost.amount")
        product_id = line.text("id")
        return LicenceRecord(
            **common,
            line_external_id=product_id,
            product_id=product_id,
            sku=line.maybe_text("mpn"),
            product_name=line.maybe_text("name") or subscription.maybe_text("name") or "",
            vendor_subscription_id=line.maybe_text("vendorSubscriptionId"),
            quantity=line.decimal("quantity", minimum=Decimal(0)),
            unit_cost=unit_cost,
            unit_cost_field="products[].unitCost.amount" if unit_cost is not None else None,
            unit_price=line.maybe_decimal("unitPrice.amount"),
            currency=currency,
        )

    def _periods(self, reader: FieldReader) -> tuple[Duration | None, BillingFrequency, BillingType]:
        """Commitment and billing frequency from the subscription (newer API) or its plan (1.6 shape)."""
        subscription_period, billing_period = reader.get("subscriptionPeriod"), reader.get("billingPeriod")
        billing_model = reader.get("billingModel")
        source = reader
        if billing_period is None:
            plan_id = reader.text("planId")
            source = FieldReader(SOURCE, reader.record_id, self._plan(plan_id), prefix=f"plan {plan_id}.")
            billing_period, billing_model = source.get("billingPeriod"), source.get("billingModel")
            periods = source.get("subscriptionPeriods")
            subscription_period = periods[0] if isinstance(periods, list) and len(periods) == 1 else None
        if billing_model == "chargeExternalRating":
            return None, "USAGE", "usage"
        frequency = _period(source, "billingPeriod", billing_period, _BILLING)
        if frequency is None:
            raise source.fail("billingPeriod", "is missing")
        commitment = _period(source, "subscriptionPeriod", subscription_period, _DURATIONS)
        return commitment, frequency, "license"


def _check_shapes(reader: FieldReader) -> None:
    """``attributes`` arrives as ``[]`` when empty and as an object otherwise, ``planId`` as a string (the reference
    payloads) or, in older documentation, an integer: both are accepted; anything else breaks the contract."""
    attributes = reader.get("attributes")
    if attributes is not None and not isinstance(attributes, (list, dict)):
        raise reader.fail("attributes", f"expected an object or a list, got {type(attributes).__name__}")
    plan_id = reader.get("planId")
    if plan_id is not None and (isinstance(plan_id, bool) or not isinstance(plan_id, (str, int))):
        raise reader.fail("planId", f"expected a string or an integer, got {type(plan_id).__name__}")


def _customer(reader: FieldReader) -> CustomerRecord:
    return CustomerRecord(source=SOURCE, external_id=reader.text("id"), name=reader.text("name"),
                          reference=reader.maybe_text("externalId"), country=reader.maybe_text("address.countryCode"),
                          street=reader.maybe_text("address.streetAddress"), city=reader.maybe_text("address.city"),
                          postal_code=reader.maybe_text("address.postalCode"), raw=reader.raw)


def _refusal(response: requests.Response) -> str:
    return f"({response.status_code}, correlation {correlation_of(response)}): {response.text[:200]}"


def _period(reader: FieldReader, name: str, value: Any, table: dict[tuple[str, int], Any]) -> Any:
    """``{type, duration}`` looked up in ``table``; ``None`` when absent, ``MalformedRecord`` when unknown."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise reader.fail(name, f"expected {{type, duration}}, got {value!r}")
    try:
        key = (str(value.get("type")), int(value.get("duration")))
    except (TypeError, ValueError):
        raise reader.fail(name, f"unreadable period {value!r}") from None
    if key not in table:
        raise reader.fail(name, f"unsupported period {key[1]} {key[0]}")
    return table[key]
