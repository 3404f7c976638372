"""Azure Cost Management adapter: daily actual cost per subscription, resource group, meter and tag.

Why several queries per pull: the Query API allows at most two groupings (microsoft.md §4.2) and, with two
aggregations, may return values out of column order (§4.3), so one query cannot carry resource, meter, quantity and
tag at once. The pull runs one-aggregation queries that share the resource id as join key:

* cost and quantity by (``ResourceId``, ``MeterId``) per day: the rows of the result;
* meter name and category by ``MeterId``, and location by ``ResourceId``, for the whole range;
* each configured tag key by (``ResourceId``, tag) per day.

Quota cost: each query costs about one QPU per month it spans; ``pull`` spends 2 + 4 per customer, so with 600 QPU
per hour a one-month window covers roughly 150 customers an hour before the connector starts waiting on 429s.

Subscription and resource group come out of the resource id. Only Azure consumption is read (``PublisherType`` In
``Azure``): New Commerce licences billed alongside Azure are Partner Center's business (§4.6). Each row gets a
deterministic ``row_key`` (customer, subscription, day, resource, meter, currency) so a re-rated day replaces the
stored row instead of adding to it.

Throttling: the SDK's azure-core pipeline never retries a POST on 429 and does not read Cost Management's
``x-ms-ratelimit-microsoft.costmanagement-*-retry-after`` headers (§4.4); this module does both, and retries 5xx,
timeouts and unreadable pages, bounded by the ``HttpPolicy``. The SDK has no pager: ``nextLink`` is followed here by
re-POSTing the same body with its ``$skiptoken``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.costmanagement import CostManagementClient

from connectors.auth import TokenProvider, TokenProviderCredential, send_with_bearer
from connectors.errors import AuthenticationFailed, MalformedRecord, SourceError, SourceUnavailable
from connectors.http import HttpPolicy, build_session, sleep
from connectors.records import CustomerRecord, FieldReader, PullResult, UsageRecord

log = logging.getLogger("cspbill.connectors.azure_costs")

SOURCE = "azure_costs"
SCOPE = "https://management.azure.com/.default"
BILLING_API_VERSION = "2020-05-01"
# Every throttling header Cost Management / ARM is seen to send (§4.4), in the order they are consulted.
RETRY_AFTER_HEADERS = (
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-client-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after",
    "Retry-After",
)
AZURE_ONLY = {"dimensions": {"name": "PublisherType", "operator": "In", "values": ["Azure"]}}
T = TypeVar("T")


def customer_scope(billing_account_id: str, billing_customer_id: str) -> str:
    """The Cost Management scope of one CSP customer under the partner's MPA billing account."""
    return f"providers/Microsoft.Billing/billingAccounts/{billing_account_id}/customers/{billing_customer_id}"


def subscription_scope(subscription_id: str) -> str:
    return f"subscriptions/{subscription_id}"


def _retry_after(headers: Any) -> float | None:
    """The longest wait any throttling header asks for (they may disagree; honour the strictest)."""
    waits = []
    for name in RETRY_AFTER_HEADERS:
        value = headers.get(name) if headers is not None else None
        try:
            waits.append(float(value)) if value not in (None, "") else None
        except ValueError:
            continue
    return max(waits) if waits else None


def _number(item: FieldReader, column: str) -> Decimal:
    """A Query API float as an exact ``Decimal`` of its shortest repr (``Decimal(repr(x))``, §4.3)."""
    value = item.get(column)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise item.fail(column, f"expected a number, got {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise item.fail(column, f"not a number: {value!r}") from None
    if not number.is_finite():
        raise item.fail(column, f"not a finite number: {value!r}")
    return number


def _usage_day(item: FieldReader) -> dt.date:
    value = item.get("UsageDate")
    try:
        return dt.datetime.strptime(str(int(value)), "%Y%m%d").date()
    except (TypeError, ValueError):
        raise item.fail("UsageDate", f"not a yyyymmdd day: {value!r}") from None


def _resource_parts(resource_id: str) -> tuple[str, str | None]:
    """(subscription id, resource group) from ``/subscriptions/{s}/resourceGroups/{rg}/…`` (any case)."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    subscription = parts[lowered.index("subscriptions") + 1] if "subscriptions" in lowered[:-1] else ""
    group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else None
    return subscription.lower(), group.lower() if group else None


@dataclass(frozen=True)
class _Lookups:
    """What the side queries found, keyed by lower-cased ids: joined onto each cost row."""

    quantities: dict[tuple, Any]  # (UsageDate, ResourceId, MeterId, Currency) -> quantity
    meter_names: dict[tuple, Any]  # (MeterId,) -> Meter
    categories: dict[tuple, Any]  # (MeterId,) -> MeterCategory
    locations: dict[tuple, Any]  # (ResourceId,) -> ResourceLocation
    tags: dict[tuple, dict[str, str]]  # (UsageDate, ResourceId) -> {tag key: value}


class AzureCosts:
    """Cost Management reader for one partner (billing account) through ``azure-mgmt-costmanagement``.

    Config it needs: the ARM base URL (``https://management.azure.com`` or the sandbox root), a ``TokenProvider``
    for ``SCOPE`` (Entra client credentials of an app with Cost Management Reader on the billing account), an
    ``HttpPolicy`` (timeouts, retry bounds, CA bundle as ``verify`` → azure-core ``connection_verify``) and the tag
    keys to carry onto usage rows.
    """

    def __init__(
        self,
        arm_base_url: str,
        tokens: TokenProvider,
        *,
        policy: HttpPolicy | None = None,
        tag_keys: tuple[str, ...] = ("environment",),
        source: str = SOURCE,
    ) -> None:
        self.base_url = arm_base_url.rstrip("/")
        self.tokens = tokens
        self.tag_keys = tag_keys
        self.source = source
        self._policy = policy or HttpPolicy()
        self._client = self._new_client()
        self._session = build_session(source, self._policy)

    def _new_client(self) -> CostManagementClient:
        # azure-core retries are off: every retry decision (429 headers, POST, 5xx) is made in ``_call``.
        return CostManagementClient(
            TokenProviderCredential(self.tokens),
            base_url=self.base_url,
            connection_verify=self._policy.verify,
            connection_timeout=self._policy.connect_timeout,
            read_timeout=self._policy.read_timeout,
            retry_total=0,
        )

    def close(self) -> None:
        self._client.close()
        self._session.close()

    # --- transport -------------------------------------------------------------------------------------------

    def _call(self, what: str, operation: Callable[[CostManagementClient], T]) -> T:
        """Run one SDK call with bounded retries; one fresh token after a 401."""
        attempts = self._policy.retries + 1
        refreshed = False
        attempt = 0
        while True:
            try:
                return operation(self._client)
            except ClientAuthenticationError as exc:
                if refreshed:
                    raise AuthenticationFailed(self.source, f"{what} refused: {exc.message}") from exc
                log.info("%s: %s answered 401, retrying once with a new token", self.source, what)
                refreshed = True
                self.tokens.invalidate()
                self._client.close()
                self._client = self._new_client()  # azure-core's bearer policy caches the rejected token
                continue
            except HttpResponseError as exc:
                status = exc.status_code or 0
                # a 2xx lands here when its body could not be read (a page cut off): worth another try
                if status not in (408, 429) and 300 <= status < 500:
                    raise SourceError(self.source, f"{what} failed ({status}): {exc.message}") from exc
                headers = exc.response.headers if exc.response is not None else None
                wait, problem = _retry_after(headers), f"HTTP {status}"
            except (ServiceRequestError, ServiceResponseError, DecodeError) as exc:
                wait, problem = None, type(exc).__name__
            attempt += 1
            if attempt >= attempts:
                raise SourceUnavailable(self.source, f"{what} still failing after {attempts} attempts ({problem})")
            backoff = min(self._policy.backoff_max, self._policy.backoff_factor * 2 ** (attempt - 1))
            log.warning("%s: %s: %s, attempt %d of %d", self.source, what, problem, attempt, attempts)
            sleep(wait if wait is not None else backoff)

    def _rows(self, scope: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every row of a query as {column name: value}, following ``nextLink`` by re-POSTing the body."""
        what = f"query {scope}"
        result = self._call(what, lambda client: client.query.usage(scope, body))
        pages = 0
        seen: set[str] = set()
        while result is not None:
            pages += 1
            properties = result.properties
            names = [column.name for column in properties.columns or []]
            for row in properties.rows or []:
                yield dict(zip(names, row, strict=False))
            if not properties.next_link:
                break
            token = parse_qs(urlsplit(properties.next_link).query).get("$skiptoken", [""])[0]
            if not token:
                raise SourceError(self.source, f"{what}: nextLink without $skiptoken: {properties.next_link}")
            if token in seen:  # the same skiptoken twice would page forever
                raise SourceUnavailable(self.source, f"{what}: page {pages} repeats an earlier $skiptoken")
            seen.add(token)
            result = self._call(what, lambda client, t=token: client.query.usage(scope, body, params={"$skiptoken": t}))
        log.info("%s: %s read in %d page(s)", self.source, what, pages)

    # --- queries ---------------------------------------------------------------------------------------------

    @staticmethod
    def _body(
        first: dt.date, last: dt.date, granularity: str, measure: str, grouping: list[dict[str, str]]
    ) -> dict[str, Any]:
        return {
            "type": "ActualCost",
            "timeframe": "Custom",
            "timePeriod": {"from": f"{first.isoformat()}T00:00:00Z", "to": f"{last.isoformat()}T23:59:59Z"},
            "dataset": {
                "granularity": granularity,
                "aggregation": {"total": {"name": measure, "function": "Sum"}},
                "grouping": grouping,
                "filter": AZURE_ONLY,
            },
        }

    def pull(self, billing_account_id: str, first: dt.date, last: dt.date) -> PullResult:
        """Usage of every customer of the billing account for ``first``..``last`` (inclusive).

        Customers are keyed by their Entra tenant id (the Partner Center customer id) when the billing account
        names it, else by the billing customer id. Meter names are read once at the billing-account scope.
        """
        listed = self.billing_customers(billing_account_id)
        meters = self.meters(f"providers/Microsoft.Billing/billingAccounts/{billing_account_id}", first, last)
        usage: list[UsageRecord] = []
        errors = list(listed.errors)
        for customer in listed.customers:
            scope = customer_scope(billing_account_id, customer.external_id)
            result = self.daily_costs(scope, first, last, customer.tenant_id or customer.external_id, meters)
            usage += result.usage
            errors += result.errors
        return PullResult(customers=listed.customers, usage=tuple(usage), errors=tuple(errors))

    def meters(self, scope: str, first: dt.date, last: dt.date) -> tuple[dict[tuple, Any], dict[tuple, Any]]:
        """(meter name by meter id, meter category by meter id) for the range, one query each."""

        def by_meter(column: str) -> dict[tuple, Any]:
            grouping = [{"type": "Dimension", "name": "MeterId"}, {"type": "Dimension", "name": column}]
            return self._index(
                self._rows(scope, self._body(first, last, "None", "Cost", grouping)), ("MeterId",), column
            )

        return by_meter("Meter"), by_meter("MeterCategory")

    def daily_costs(
        self,
        scope: str,
        first: dt.date,
        last: dt.date,
        customer_external_id: str,
        meters: tuple[dict[tuple, Any], dict[tuple, Any]] | None = None,
    ) -> PullResult:
        """Usage rows for days ``first``..``last`` (inclusive) at ``scope`` (see ``customer_scope``)."""
        log.info(
            "%s: reading daily costs of customer %s at %s for %s..%s",
            self.source,
            customer_external_id,
            scope,
            first,
            last,
        )
        by_resource_meter = [{"type": "Dimension", "name": "ResourceId"}, {"type": "Dimension", "name": "MeterId"}]
        errors: list[MalformedRecord] = []
        costs = list(self._rows(scope, self._body(first, last, "Daily", "Cost", by_resource_meter)))
        quantities = self._index(
            self._rows(scope, self._body(first, last, "Daily", "UsageQuantity", by_resource_meter)),
            ("UsageDate", "ResourceId", "MeterId", "Currency"),
            "UsageQuantity",
        )
        meter_names, categories = meters or self.meters(scope, first, last)
        by_location = [{"type": "Dimension", "name": "ResourceId"}, {"type": "Dimension", "name": "ResourceLocation"}]
        locations = self._index(
            self._rows(scope, self._body(first, last, "None", "Cost", by_location)), ("ResourceId",), "ResourceLocation"
        )
        tags: dict[tuple, dict[str, str]] = {}
        for key in self.tag_keys:
            grouping = [{"type": "Dimension", "name": "ResourceId"}, {"type": "TagKey", "name": key}]
            for row in self._rows(scope, self._body(first, last, "Daily", "Cost", grouping)):
                if row.get("TagValue") not in (None, "") and row.get("TagKey"):
                    tags.setdefault((row.get("UsageDate"), str(row.get("ResourceId", "")).lower()), {})[
                        str(row["TagKey"])
                    ] = str(row["TagValue"])
        records: list[UsageRecord] = []
        for row in costs:
            record_id = f"{row.get('UsageDate')}|{row.get('ResourceId')}|{row.get('MeterId')}"
            try:
                item = FieldReader(self.source, record_id, row)
                lookups = _Lookups(quantities, meter_names, categories, locations, tags)
                records.append(self._usage(item, customer_external_id, lookups))
            except MalformedRecord as bad:
                log.warning("%s", bad)
                errors.append(bad)
        log.info(
            "%s: %d usage rows, %d malformed, for customer %s",
            self.source,
            len(records),
            len(errors),
            customer_external_id,
        )
        return PullResult(usage=tuple(records), errors=tuple(errors))

    @staticmethod
    def _index(rows: Iterator[dict[str, Any]], key: tuple[str, ...], value: str) -> dict[tuple, Any]:
        return {tuple(str(row.get(k, "")).lower() for k in key): row.get(value) for row in rows}

    def _usage(self, item: FieldReader, customer: str, lookups: _Lookups) -> UsageRecord:
        day = _usage_day(item)
        cost = _number(item, "Cost")
        currency = item.currency("Currency")
        resource_id = item.maybe_text("ResourceId") or ""
        meter_id = item.text("MeterId")
        subscription, group = _resource_parts(resource_id)
        key = (str(item.get("UsageDate")), resource_id.lower(), meter_id.lower(), currency.lower())
        raw_quantity = lookups.quantities.get(key)
        quantity = (
            Decimal(0)
            if raw_quantity is None
            else _number(FieldReader(self.source, item.record_id, {"UsageQuantity": raw_quantity}), "UsageQuantity")
        )
        row_key = hashlib.sha256(
            "|".join(
                (self.source, customer, subscription, day.isoformat(), resource_id.lower(), meter_id.lower(), currency)
            ).encode()
        ).hexdigest()[:40]
        row_tags = lookups.tags.get((item.get("UsageDate"), resource_id.lower()), {})
        location = lookups.locations.get((resource_id.lower(),))
        return UsageRecord(
            source=self.source,
            row_key=row_key,
            customer_external_id=customer,
            subscription_external_id=subscription,
            usage_date=day,
            meter_id=meter_id,
            meter_name=str(lookups.meter_names.get((meter_id.lower(),)) or meter_id),
            meter_category=str(lookups.categories.get((meter_id.lower(),)) or ""),
            resource_group=group,
            resource_location=str(location) if location else None,
            tags=tuple(sorted(row_tags.items())),
            quantity=quantity,
            cost=cost,
            currency=currency,
            raw={**item.raw, "UsageQuantity": raw_quantity},
        )

    # --- billing customers -----------------------------------------------------------------------------------

    def billing_customers(self, billing_account_id: str) -> PullResult:
        """The MPA billing account's customers; ``external_id`` is the billing customer id, ``tenant_id`` Entra's."""
        url = (
            f"{self.base_url}/providers/Microsoft.Billing/billingAccounts/{billing_account_id}/customers"
            f"?api-version={BILLING_API_VERSION}"
        )
        customers: list[CustomerRecord] = []
        errors: list[MalformedRecord] = []
        while url:
            path = urlsplit(url).path
            try:
                response = send_with_bearer(
                    self._session,
                    self.tokens,
                    "GET",
                    url,
                    headers={"Accept": "application/json", "x-ms-client-request-id": str(uuid.uuid4())},
                )
            except requests.RequestException as exc:
                raise SourceUnavailable(self.source, f"GET {path} failed after retries: {exc}") from exc
            if response.status_code in (401, 403):
                raise AuthenticationFailed(self.source, f"GET {path} refused ({response.status_code})")
            if response.status_code == 429 or response.status_code >= 500:
                raise SourceUnavailable(self.source, f"GET {path} still failing ({response.status_code})")
            if response.status_code >= 400:
                raise SourceError(self.source, f"GET {path} failed ({response.status_code}): {response.text[:200]}")
            try:
                body = json.loads(response.content)
            except ValueError as exc:
                raise SourceUnavailable(self.source, f"GET {path} returned unreadable JSON") from exc
            for index, value in enumerate(body.get("value") or []):
                try:
                    item = FieldReader(self.source, str((value or {}).get("name") or f"#{index}"), value)
                    customers.append(
                        CustomerRecord(
                            source=self.source,
                            external_id=item.text("name"),
                            name=item.text("properties.displayName"),
                            tenant_id=item.maybe_text("properties.tenantId"),
                            raw=item.raw,
                        )
                    )
                except MalformedRecord as bad:
                    log.warning("%s", bad)
                    errors.append(bad)
            url = body.get("nextLink") or ""
        return PullResult(customers=tuple(customers), errors=tuple(errors))
