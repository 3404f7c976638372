"""Pax8 partner API adapter: companies and subscriptions as licence snapshots, invoice items as cost lines.

Why it looks like this (distributors.md §2, §5.1, §6): the nightly sync needs a *complete* picture or none, so every
page is read or the pull raises (a missing page must never look like cancelled seats); one unmappable record is
reported as ``MalformedRecord`` while the records around it come through. Money is ``Decimal`` from the JSON text;
dates are parsed leniently because Pax8 mixes ``Z``, colon-less offsets and date-only values. The token is fetched
once and reused until shortly before its 24 h expiry; token URL, body style and audience are configurable because
several variants are in circulation (§2.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import requests

from connectors.base import BearerToken, CachedToken, PageRequest, VendorConnector
from connectors.errors import MalformedRecord, SourceError, SourceUnavailable, VendorRefused
from connectors.http import HttpPolicy
from connectors.records import (
    BillingFrequency,
    BillingType,
    CostLineRecord,
    CustomerRecord,
    Duration,
    FieldReader,
    LicenceRecord,
    PullResult,
    Status,
    UsageRecord,
)

SOURCE = "pax8"
DEFAULT_AUDIENCE = "https://api.pax8.com"
MAX_PAGE_SIZE = 200

TokenStyle = Literal["oauth", "camel"]

_TERMS: dict[str, tuple[BillingFrequency, BillingType]] = {
    "Monthly": ("P1M", "license"),
    "Annual": ("P1Y", "license"),
    "2-Year": ("P2Y", "license"),
    "3-Year": ("P3Y", "license"),
    "One-Time": ("ONE_TIME", "one_time"),
    "Activation": ("ONE_TIME", "one_time"),
    "Trial": ("ONE_TIME", "trial"),  # not recurring: never becomes a monthly amount (§2.6)
}
_COMMITMENTS: dict[str, Duration] = {"1-Month": "P1M", "1-Year": "P1Y", "2-Year": "P2Y", "3-Year": "P3Y"}
# PendingCancel stays active (seats are still provisioned and billed); status_raw carries the flag (§5.1).
_STATUSES: dict[str, Status] = {
    "Active": "active", "Activated": "active", "PendingCancel": "active",
    "PendingManual": "pending", "PendingAutomated": "pending", "WaitingForDetails": "pending",
    "PendingActivation": "pending", "Cancelled": "cancelled", "Trial": "trial", "Converted": "other",
}


class Pax8Connector(VendorConnector):
    """Reads one Pax8 partner account.

    ``base_url`` is e.g. ``https://api.pax8.com/v1``; ``token_url`` defaults to ``{base_url}/token``.
    ``token_style`` ``"oauth"`` posts ``{client_id, client_secret, grant_type, audience}`` and reads ``access_token``;
    ``"camel"`` posts ``{clientId, clientSecret, audience, grantType}`` and reads ``token``/``expiresIn``.
    ``ca_bundle`` (a PEM path) overrides the policy's trust store, e.g. the sandbox CA.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        token_url: str | None = None,
        token_style: TokenStyle = "oauth",
        audience: str = DEFAULT_AUDIENCE,
        account_id: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        ca_bundle: str | None = None,
        policy: HttpPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        # POST is retried too: the token request is the only POST this read-only adapter makes; repeating it is safe.
        super().__init__(SOURCE, CachedToken(SOURCE, self._fetch_token), policy, ca_bundle=ca_bundle, retry_posts=True,
                         headers={"Content-Type": "application/json"})
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or f"{self.base_url}/token"
        self.account_id = account_id or client_id
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_style = token_style
        self._audience = audience
        self._now = now

    # public API

    def pull_customers(self) -> PullResult:
        """All companies as ``CustomerRecord``s (every page, or raise)."""
        customers, errors = self._customers()
        return PullResult(customers=tuple(customers.values()), errors=tuple(errors))

    def pull_licences(self) -> PullResult:
        """One complete licence snapshot: all companies and one ``LicenceRecord`` per subscription.

        Raises ``SourceUnavailable`` / ``AuthenticationFailed`` / ``SourceError`` when any page cannot be read; a
        subscription that cannot be mapped is in ``errors`` and the others are still returned.
        """
        as_of = self._now()
        customers, errors = self._customers()
        licences, bad = self._map(self._all("/subscriptions"), lambda item: self._licence(item, customers, as_of),
                                  "subscription")
        return PullResult(customers=tuple(customers.values()), licences=tuple(licences), errors=tuple(errors + bad))

    def pull_usage(self, usage_date: date, subscription_ids: Iterable[str]) -> PullResult:
        """One day of metered usage (Azure plans) for the named subscriptions, partner cost as delivered.

        Why the caller names the subscriptions: Pax8 has usage only under ``/subscriptions/{id}/usage-summaries``,
        so asking every subscription would cost one call per licence; the caller knows which ones are metered.
        ``cost`` is ``partnerTotal`` (what the reseller pays); the customer-side figures stay in ``raw``.
        """
        records: list[UsageRecord] = []
        errors: list[MalformedRecord] = []
        for subscription_id in subscription_ids:
            summaries, bad = self._map(self._all(f"/subscriptions/{subscription_id}/usage-summaries"), _summary,
                                       "usage summary")
            errors += bad
            for summary in summaries:
                summary_id = summary.text("id")
                lines = self._all(f"/usage-summaries/{summary_id}/usage-lines", {"usageDate": usage_date.isoformat()})
                found, bad = self._map(lines, lambda item, summary=summary, sid=subscription_id: self._usage(
                    item, summary, sid), f"usage summary {summary_id} line", id_field=None)
                records += found
                errors += bad
        return PullResult(usage=tuple(records), errors=tuple(errors))

    def pull_cost_lines(self, invoice_date_from: date, invoice_date_to: date) -> PullResult:
        """Partner-side invoice items (``cost``/``costTotal``) of the invoices dated in the inclusive range."""
        invoices = self._all("/invoices", {"invoiceDateRangeStart": invoice_date_from.isoformat(),
                                           "invoiceDateRangeEnd": invoice_date_to.isoformat()})
        lines: list[CostLineRecord] = []
        errors: list[MalformedRecord] = []
        for index, invoice in enumerate(invoices):
            invoice_id = invoice.get("id") if isinstance(invoice, dict) else None
            if invoice_id in (None, ""):
                errors.append(MalformedRecord(SOURCE, f"invoice #{index}", "id", "is missing"))
                continue
            found, bad = self._map(self._all(f"/invoices/{invoice_id}/items"),
                                   lambda item, invoice_id=str(invoice_id): self._cost_line(item, invoice_id),
                                   f"invoice {invoice_id} item")
            lines += found
            errors += bad
        return PullResult(cost_lines=tuple(lines), errors=tuple(errors))

    # writes (the service desk's provisioning; the nightly read never writes)

    def quantity_of(self, subscription_id: str) -> Decimal:
        """The subscription's seat count now (``GET /subscriptions/{id}``): what a retry looks at before writing."""
        reader = FieldReader(SOURCE, subscription_id, self._get_json(PageRequest(f"{self.base_url}/subscriptions/"
                                                                                 f"{subscription_id}")))
        return reader.decimal("quantity", minimum=Decimal(0))

    def set_quantity(self, subscription_id: str, quantity: int) -> Decimal:
        """``PUT /subscriptions/{id}`` with ``{"quantity": n}``; a 4xx is ``VendorRefused`` with Pax8's ``type`` and
        ``message``. Returns the seat count Pax8 answered with."""
        path = f"/subscriptions/{subscription_id}"
        response = self._write_once("PUT", f"{self.base_url}{path}", {"quantity": quantity})
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429):
            body = _body(response)
            raise VendorRefused(SOURCE, f"PUT {path}", str(body.get("type") or response.status_code),
                                str(body.get("message") or response.text[:300]))
        reader = FieldReader(SOURCE, subscription_id, self._json(response, f"PUT {path}"))
        return reader.decimal("quantity", minimum=Decimal(0))

    # HTTP

    def _fetch_token(self) -> BearerToken:
        if self._token_style == "camel":
            body = {"clientId": self._client_id, "clientSecret": self._client_secret, "audience": self._audience,
                    "grantType": "client_credentials"}
        else:
            body = {"client_id": self._client_id, "client_secret": self._client_secret,
                    "grant_type": "client_credentials", "audience": self._audience}
        payload = self._token_answer(self.token_url, _refusal, json=body)
        value = payload.get("access_token") or payload.get("token") if isinstance(payload, dict) else None
        if not value:
            raise SourceError(SOURCE, "token response carries no access_token/token")
        lifetime = payload.get("expires_in") or payload.get("expiresIn") or 86400
        return BearerToken.issued(str(value), float(lifetime))

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every element of a ``{content, page}`` listing, reading 0-based pages until ``totalPages``.

        Raises when a page is unreadable, lacks its ``page`` object, or the pages add up to fewer elements than
        ``totalElements`` says: an incomplete listing must fail the run (§6.2). A missing ``content`` is ``[]``
        (empty ``/invoices`` pages omit it).
        """
        url = f"{self.base_url}{path}"

        def request(number: int) -> PageRequest:
            return PageRequest(url, {**(params or {}), "page": number, "size": self.page_size})

        def read(body: Any, number: int, before: int) -> tuple[list[Any], PageRequest | None]:
            page = body.get("page") if isinstance(body, dict) else None
            content = body.get("content", []) if isinstance(body, dict) else None
            if not isinstance(page, dict) or not isinstance(content, list):
                raise SourceUnavailable(SOURCE, f"{path} page {number}: not a {{content, page}} listing")
            read_so_far = before + len(content)
            try:
                total_pages, total = int(page.get("totalPages", 0)), int(page.get("totalElements", read_so_far))
            except (TypeError, ValueError) as exc:
                raise SourceUnavailable(SOURCE, f"{path} page {number}: unreadable page object {page!r}") from exc
            if number + 1 < total_pages:
                return content, request(number + 1)
            if read_so_far != total:
                raise SourceUnavailable(SOURCE, f"{path}: read {read_so_far} of {total} elements")
            return content, None

        return list(self._pages(path, request(0), read))

    # mapping

    def _customers(self) -> tuple[dict[str, CustomerRecord], list[MalformedRecord]]:
        customers, errors = self._map(self._all("/companies"), _customer, "company")
        return {customer.external_id: customer for customer in customers}, errors

    def _licence(self, reader: FieldReader, customers: dict[str, CustomerRecord], as_of: datetime) -> LicenceRecord:
        subscription_id = reader.text("id")
        company_id = reader.text("companyId")
        customer = customers.get(company_id)
        if customer is None:
            raise reader.fail("companyId", f"company {company_id} is not in /companies")
        billing_term = reader.text("billingTerm")
        if billing_term not in _TERMS:
            raise reader.fail("billingTerm", f"unknown billing term {billing_term!r}")
        frequency, billing_type = _TERMS[billing_term]
        commitment_field = "commitmentTerm" if "commitmentTerm" in reader.raw else "commitment"
        commitment, commitment_end = None, None
        if reader.get(commitment_field) is not None:
            term = reader.nested(commitment_field)
            name = term.text("term")
            if name not in _COMMITMENTS:
                raise term.fail("term", f"unknown commitment term {name!r}")
            commitment, commitment_end = _COMMITMENTS[name], term.maybe_day("endDate")
        status_raw = reader.text("status")
        unit_cost = reader.maybe_decimal("partnerCost")
        return LicenceRecord(
            source=SOURCE,
            source_account_id=self.account_id,
            customer_external_id=company_id,
            customer_name=customer.name,
            customer_reference=customer.reference,
            subscription_external_id=subscription_id,
            line_external_id=subscription_id,
            vendor_subscription_id=reader.maybe_text("vendorSubscriptionId"),
            parent_subscription_id=reader.maybe_text("parentSubscriptionId"),
            product_id=reader.text("productId"),
            product_name=reader.maybe_text("productName") or "",
            vendor_sku=reader.maybe_text("vendorSkuId"),
            quantity=reader.decimal("quantity", minimum=Decimal(0)),
            unit_cost=unit_cost,
            unit_cost_field="partnerCost" if unit_cost is not None else None,
            unit_price=reader.maybe_decimal("price"),
            currency=reader.currency("currencyCode"),
            commitment_term=commitment,
            billing_frequency=frequency,
            billing_type=billing_type,
            term_start=reader.maybe_day("startDate") or reader.maybe_day("billingStart"),
            term_end=commitment_end or reader.maybe_day("endDate"),
            status=_STATUSES.get(status_raw, "other"),
            status_raw=status_raw,
            source_updated_at=reader.maybe_instant("updatedDate"),
            as_of=as_of,
            raw=reader.raw,
        )

    def _usage(self, reader: FieldReader, summary: FieldReader, subscription_id: str) -> UsageRecord:
        summary_id = summary.text("id")
        day = reader.day("usageDate")
        product_id, product_name = reader.text("productId"), reader.text("productName")
        return UsageRecord(
            source=SOURCE,
            row_key=f"{summary_id}:{day.isoformat()}:{product_id}:{product_name}",
            customer_external_id=summary.text("companyId"),
            subscription_external_id=subscription_id,
            usage_date=day,
            meter_id=product_id,
            meter_name=product_name,
            meter_category="",  # Pax8 usage lines name the product only, no meter category
            resource_group=summary.maybe_text("resourceGroup"),
            resource_location=None,
            tags=(),
            quantity=reader.decimal("quantity"),
            cost=reader.decimal("partnerTotal"),
            currency=reader.currency("currencyCode"),
            raw=reader.raw,
        )

    def _cost_line(self, reader: FieldReader, invoice_id: str) -> CostLineRecord:
        return CostLineRecord(
            source=SOURCE,
            line_id=reader.text("id"),
            customer_external_id=reader.text("companyId"),
            subscription_external_id=reader.maybe_text("subscriptionId") or "",
            product_id=reader.maybe_text("productId") or "",
            charge_type=reader.text("type"),
            charge_start=reader.day("startPeriod"),
            charge_end=reader.day("endPeriod"),
            quantity=reader.decimal("quantity"),
            unit_price=reader.decimal("cost"),
            subtotal=reader.decimal("costTotal"),
            currency=reader.currency("currencyCode"),
            reference_id=reader.maybe_text("externalId"),
            invoice_id=invoice_id,
            billing_type=item_billing_type(reader.text("type"), reader.maybe_text("term")),
            product_name=reader.maybe_text("productName") or reader.maybe_text("description"),
            raw=reader.raw,
        )


def item_billing_type(kind: str, term: str | None) -> BillingType | None:
    """An invoice item's billing type from its ``type`` and ``term`` (§2.3: ``One-Time``/``One-time``/``Activation``
    are one-time, ``Trial`` a trial, ``Monthly``/``Annual``/``2 Year``/``3 Year`` licences); anything else unsaid."""
    spelled = (term or "").lower().replace("-", " ")
    if kind.lower() == "one-time" or spelled in ("one time", "activation"):
        return "one_time"
    if spelled == "trial":
        return "trial"
    return "license" if spelled in ("monthly", "annual", "2 year", "3 year") else None


def _customer(reader: FieldReader) -> CustomerRecord:
    return CustomerRecord(source=SOURCE, external_id=reader.text("id"), name=reader.text("name"),
                          reference=reader.maybe_text("externalId"), country=reader.maybe_text("address.country"),
                          street=reader.maybe_text("address.street"), city=reader.maybe_text("address.city"),
                          postal_code=reader.maybe_text("address.postalCode"), raw=reader.raw)


def _summary(reader: FieldReader) -> FieldReader:
    """A usage summary, checked for the ids its lines are filed under."""
    reader.text("id")
    reader.text("companyId")
    return reader


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(response: requests.Response) -> str:
    """The OAuth error of a refused token request (never echoes what we sent)."""
    try:
        body = response.json()
    except ValueError:
        return f"({response.status_code}): {response.text[:200]}"
    if isinstance(body, dict):
        text = f"{body.get('error', '')}: {body.get('error_description', body.get('message', ''))}".strip(": ")
    else:
        text = str(body)[:200]
    return f"({response.status_code}): {text}"
