"""Azure Cost Management adapter: daily actual cost per subscription, resource group, meter and tag.

Why several queries per pull: the Query API allows at most two groupings (microsoft.md §4.2) and, with two
aggregations, may return values out of column order (§4.3), so one query cannot carry resource, meter, quantity and
tag at once. The pull runs one-aggregation queries that share the resource id as join key:

* cost and quantity by (``ResourceId``, ``MeterId``) per day: the rows of the result;
* meter name and category by ``MeterId``, and location by ``ResourceId``, for the whole range;
* each configured tag key by (``ResourceId``, tag) per day.

Quota cost: each query costs about one QPU per month it spans; ``pull`` spends 2 + 4 per customer, so with 600 QPU
per hour a one-month window covers roughly 150 customers an hour before the connector starts waiting on 429s.

Only Azure consumption is read (``PublisherType`` In ``Azure``): New Commerce licences billed alongside Azure are
Partner Center's business (§4.6). How a row becomes a ``UsageRecord`` (subscription and resource group out of the
resource id, the deterministic ``row_key``) is ``connectors.azure_rows``.

Throttling: the SDK's azure-core pipeline never retries a POST on 429 and does not read Cost Management's
``x-ms-ratelimit-microsoft.costmanagement-*-retry-after`` headers (§4.4); this module does both, and retries 5xx,
timeouts and unreadable pages, bounded by the ``HttpPolicy`` (``connectors.retry``). The SDK has no pager:
``nextLink`` is followed here by re-POSTing the same body with its ``$skiptoken``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from tenacity import RetryCallState, retry_if_exception_type

from connectors.auth import TokenProvider, TokenProviderCredential
from connectors.azure_rows import Lookups, index, usage_record
from connectors.base import Verdict
from connectors.errors import AuthenticationFailed, MalformedRecord, SourceError, SourceUnavailable
from connectors.http import HttpPolicy
from connectors.partner_center import MicrosoftConnector
from connectors.records import CustomerRecord, FieldReader, PullResult, UsageRecord
from connectors.retry import failure, retry_after

if TYPE_CHECKING:
    from azure.mgmt.costmanagement import CostManagementClient

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
# An SDK failure worth another attempt: throttled or failing answers (checked in ``_call``), no answer, a cut-off body.
_TRANSIENT = (HttpResponseError, ServiceRequestError, ServiceResponseError, DecodeError)


def customer_scope(billing_account_id: str, billing_customer_id: str) -> str:
    """The Cost Management scope of one CSP customer under the partner's MPA billing account."""
    return f"providers/Microsoft.Billing/billingAccounts/{billing_account_id}/customers/{billing_customer_id}"


def subscription_scope(subscription_id: str) -> str:
    return f"subscriptions/{subscription_id}"


def _throttle_hint(state: RetryCallState) -> float | None:
    """The longest wait any throttling header of the failed answer asks for (they may disagree; the strictest wins)."""
    exc = failure(state)
    response = exc.response if isinstance(exc, HttpResponseError) else None
    return retry_after(response.headers if response is not None else None, RETRY_AFTER_HEADERS)


def _problem(exc: BaseException | None) -> str:
    return f"HTTP {exc.status_code or 0}" if isinstance(exc, HttpResponseError) else type(exc).__name__


class AzureCosts(MicrosoftConnector):
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
        super().__init__(source, tokens, policy)
        self.base_url = arm_base_url.rstrip("/")
        self.tag_keys = tag_keys
        self._client = self._new_client()

    def _new_client(self) -> CostManagementClient:
        """The SDK client; the SDK is imported here, not with the module, so commands that only reach this module
        through ``services.sync`` do not load it. azure-core retries are off: every retry decision (429 headers,
        POST, 5xx) is made in ``_call``."""
        from azure.mgmt.costmanagement import CostManagementClient

        return CostManagementClient(
            TokenProviderCredential(self.tokens),
            base_url=self.base_url,
            connection_verify=self.policy.verify,
            connection_timeout=self.policy.connect_timeout,
            read_timeout=self.policy.read_timeout,
            retry_total=0,
        )

    def close(self) -> None:
        self._client.close()
        super().close()

    def _describe(
        self, verdict: Verdict, response: requests.Response, what: str, error: Exception | None = None
    ) -> str:
        if verdict == "refused":
            return f"{what} refused ({response.status_code})"
        if verdict == "unavailable":
            return f"{what} still failing ({response.status_code})"
        if verdict == "unreadable":
            return f"{what} returned unreadable JSON"
        return f"{what} failed ({response.status_code}): {response.text[:200]}"

    # --- transport -------------------------------------------------------------------------------------------

    def _call(self, what: str, operation: Callable[[CostManagementClient], T]) -> T:
        """Run one SDK call with bounded retries; one fresh token after a 401."""
        backoff = self.policy.backoff()
        refreshed = False

        def attempt(number: int) -> T:
            nonlocal refreshed
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
                return attempt(number)
            except HttpResponseError as exc:
                status = exc.status_code or 0
                # a 2xx lands here when its body could not be read (a page cut off): worth another try
                if status not in (408, 429) and 300 <= status < 500:
                    raise SourceError(self.source, f"{what} failed ({status}): {exc.message}") from exc
                warn(exc, number)
                raise
            except _TRANSIENT as exc:
                warn(exc, number)
                raise

        def warn(exc: BaseException, number: int) -> None:
            if number < backoff.attempts:  # the last failure is reported by ``exhausted``
                log.warning("%s: %s: %s, attempt %d of %d", self.source, what, _problem(exc), number, backoff.attempts)

        def exhausted(state: RetryCallState) -> T:
            raise SourceUnavailable(
                self.source, f"{what} still failing after {backoff.attempts} attempts ({_problem(failure(state))})"
            )

        return backoff.run(attempt, retry_if_exception_type(_TRANSIENT), hint=_throttle_hint, exhausted=exhausted)

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
            return index(
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
        quantities = index(
            self._rows(scope, self._body(first, last, "Daily", "UsageQuantity", by_resource_meter)),
            ("UsageDate", "ResourceId", "MeterId", "Currency"),
            "UsageQuantity",
        )
        meter_names, categories = meters or self.meters(scope, first, last)
        by_location = [{"type": "Dimension", "name": "ResourceId"}, {"type": "Dimension", "name": "ResourceLocation"}]
        locations = index(
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
                lookups = Lookups(quantities, meter_names, categories, locations, tags)
                records.append(usage_record(self.source, item, customer_external_id, lookups))
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
            response = self._send("GET", url, headers={"x-ms-client-request-id": str(uuid.uuid4())})
            self._check(response, f"GET {path}")
            try:
                body = json.loads(response.content)
            except ValueError as exc:
                raise SourceUnavailable(self.source, self._describe("unreadable", response, f"GET {path}")) from exc
            found, bad = self._map(body.get("value") or [], self._billing_customer, id_field="name")
            customers += found
            errors += bad
            url = body.get("nextLink") or ""
        return PullResult(customers=tuple(customers), errors=tuple(errors))

    def _billing_customer(self, item: FieldReader) -> CustomerRecord:
        return CustomerRecord(
            source=self.source,
            external_id=item.text("name"),
            name=item.text("properties.displayName"),
            tenant_id=item.maybe_text("properties.tenantId"),
            raw=item.raw,
        )
