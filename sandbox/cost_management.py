"""Azure Resource Manager stand-in for Cost Management queries and MPA billing customers (microsoft.md §4, §5.4).

Served at the root (``PREFIX = ""``) so the ARM base URL is ``https://127.0.0.1:P`` exactly as
``https://management.azure.com``. The query route aggregates the shared Microsoft scenario's daily usage facts by
whatever dimensions / tag keys the body asks for, with the real limits (≤ 2 aggregations, ≤ 2 groupings, ``In``
filters), the real column order (aggregations, groupings, ``UsageDate``, ``Currency``), unrounded floats and
``nextLink`` paging that needs the same body re-POSTed with ``$skiptoken``.

Query processing units: buckets of 12 / 10 s, 60 / min and 600 / h per tenant; a query costs the months it spans
(continuation pages are free: a sandbox choice, the real accounting is not published). Exhausted → 429 with
``x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after`` and no ``Retry-After``, as ARM does.

Fault knobs on ``POST .*/query`` (besides the core ``status`` / ``delay`` / ``drop``): ``throttle`` (429 with the
QPU retry header, ``seconds``; ``body={"header": name}`` picks another documented ``*-retry-after`` header),
``expire_token``, ``broken_page``, ``malformed`` (``body={"index": row, "field": column index, "value": v}``),
``paginate`` (``body={"size": n}`` rows per page), ``licence_rows`` (New Commerce licence purchases appear at
billing-account and customer scopes with ``PublisherType`` Microsoft, as in real partner data), ``empty`` (204
instead of an empty 200), ``restate`` (``body={"days": n, "factor": "1.1"}``: the last n days re-rated),
``swap_aggregations`` (two-aggregation order bug).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.entra import verify_bearer
from sandbox.knobs import broken_json, corrupt
from sandbox.routing import Routes
from sandbox.scenario_microsoft import MicrosoftScenario, add_months, scenario

PREFIX = ""
AUDIENCE = "https://management.azure.com"
CREDENTIALS: dict[str, str] = {"scope": f"{AUDIENCE}/.default", "audience": AUDIENCE}
DEFAULT_PAGE_SIZE = 1000
QPU_HEADER = "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"
QPU_BUCKETS = (("QueriesPer10Sec", 12, 10.0), ("QueriesPerMin", 60, 60.0), ("QueriesPerHour", 600, 3600.0))
TYPES = {"actualcost", "amortizedcost", "usage", "focuscost"}
TIMEFRAMES = {
    "custom",
    "monthtodate",
    "billingmonthtodate",
    "thelastmonth",
    "thelastbillingmonth",
    "weektodate",
    "thecurrentmonth",
}
AGGREGATIONS = {
    "cost": "Cost",
    "costusd": "CostUSD",
    "pretaxcost": "PreTaxCost",
    "pretaxcostusd": "PreTaxCostUSD",
    "usagequantity": "UsageQuantity",
}
DIMENSIONS = (
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroupName",
    "ResourceGroup",
    "ResourceId",
    "ResourceLocation",
    "ServiceName",
    "MeterId",
    "Meter",
    "MeterCategory",
    "MeterSubcategory",
    "ChargeType",
    "PublisherType",
    "PricingModel",
    "CustomerName",
    "PartnerEarnedCreditApplied",
)
USD_RATE = Decimal("1.0812")  # fixed EUR→USD rate for the *USD aggregations


def arm_error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


def invalid_query(detail: str) -> Response:
    return arm_error(400, "BadRequest", f"Invalid query definition: {detail}")


class _Quota:
    """Sliding QPU buckets per tenant (wall clock: a quota is about bursts, not about the sandbox's date)."""

    def __init__(self, buckets: tuple[tuple[str, int, float], ...]) -> None:
        self.buckets = buckets
        self._spent: list[tuple[float, int]] = []
        self._lock = threading.Lock()

    def charge(self, cost: int) -> tuple[float, dict[str, int]]:
        """(seconds to wait or 0, remaining per bucket after this query)."""
        with self._lock:
            now = time.monotonic()
            self._spent = [(t, c) for t, c in self._spent if now - t < max(w for _, _, w in self.buckets)]
            wait, remaining = 0.0, {}
            for name, limit, window in self.buckets:
                inside = [(t, c) for t, c in self._spent if now - t < window]
                used = sum(c for _, c in inside)
                remaining[name] = limit - used
                if used + cost > limit:
                    wait = max(wait, window - (now - inside[0][0]) if inside else window)
            if wait == 0:
                self._spent.append((now, cost))
                remaining = {name: left - cost for name, left in remaining.items()}
            return wait, remaining


def _months(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _period(body: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date] | Response:
    timeframe = str(body.get("timeframe", "")).lower()
    if timeframe not in TIMEFRAMES:
        return invalid_query(f"timeframe '{body.get('timeframe')}' is not supported.")
    month = today.replace(day=1)
    if timeframe == "custom":
        period = body.get("timePeriod") or {}
        try:
            first = dt.datetime.fromisoformat(str(period["from"])).date()
            last = dt.datetime.fromisoformat(str(period["to"])).date()
        except (KeyError, ValueError):
            return invalid_query("timePeriod with 'from' and 'to' is required for timeframe Custom.")
        if last < first:
            return invalid_query("timePeriod 'to' is before 'from'.")
        return first, last
    if timeframe in ("thelastmonth", "thelastbillingmonth"):
        start = add_months(month, -1)
        return start, month - dt.timedelta(days=1)
    if timeframe == "weektodate":
        return today - dt.timedelta(days=today.weekday()), today
    if timeframe == "thecurrentmonth":
        return month, add_months(month, 1) - dt.timedelta(days=1)
    return month, today


def _matches(fact: dict[str, Any], expression: dict[str, Any]) -> bool | str:
    """Evaluate a filter expression; a string return is the validation error."""
    if "and" in expression or "or" in expression:
        key = "and" if "and" in expression else "or"
        parts = expression[key]
        if not isinstance(parts, list) or len(parts) < 2:
            return f"'{key}' needs at least two expressions."
        results = [_matches(fact, part) for part in parts]
        errors = [r for r in results if isinstance(r, str)]
        if errors:
            return errors[0]
        return all(results) if key == "and" else any(results)
    for key in ("dimensions", "tags"):
        if key in expression:
            clause = expression[key]
            if str(clause.get("operator", "")).lower() != "in":
                return f"operator '{clause.get('operator')}' is not supported, use In."
            values = {str(v).lower() for v in clause.get("values") or []}
            name = str(clause.get("name", ""))
            if key == "tags":
                value = fact["tags"].get(name)
            else:
                dimension = next((d for d in DIMENSIONS if d.lower() == name.lower()), None)
                if dimension is None:
                    return f"dimension '{name}' is not valid for this scope."
                value = fact[dimension]
            return value is not None and str(value).lower() in values
    return "a filter needs 'and', 'or', 'dimensions' or 'tags'."


def build(clock: Clock, seed: int = 1, qpu_buckets: tuple[tuple[str, int, float], ...] = QPU_BUCKETS) -> SandboxApp:
    """The ARM sandbox: Cost Management query at billing-account / customer / subscription scopes.

    ``qpu_buckets`` = (header name, QPU, window seconds) per bucket; tests shrink the windows to stay fast.
    """
    app = SandboxApp("cost_management", clock)
    world: MicrosoftScenario = scenario(seed, clock.now().date().replace(day=1))
    quota = _Quota(qpu_buckets)

    def facts_for(scope: str, with_licences: bool) -> list[dict[str, Any]] | Response:
        parts = [p for p in scope.strip("/").split("/") if p]
        lowered = [p.lower() for p in parts]
        now = clock.now()
        if lowered[:3] == ["providers", "microsoft.billing", "billingaccounts"] and len(parts) >= 4:
            if parts[3] != world.billing_account_id:
                return arm_error(404, "NotFound", f"Billing account '{parts[3]}' was not found.")
            facts = world.usage(add_months(world.month, -1), world.month_end, now)
            if with_licences:
                facts = facts + world.licence_facts(add_months(world.month, -1), world.month_end, now)
            if len(parts) >= 6 and lowered[4] == "customers":
                customer = next((c for c in world.customers if c.billing_customer_id == parts[5]), None)
                if customer is None:
                    return arm_error(404, "NotFound", f"Customer '{parts[5]}' was not found.")
                facts = [f for f in facts if f["BillingCustomerId"] == parts[5]]
            return facts
        if lowered[:1] == ["subscriptions"] and len(parts) >= 2:
            facts = [
                f
                for f in world.usage(add_months(world.month, -1), world.month_end, now)
                if f["SubscriptionId"] == parts[1].lower()
            ]
            if not any(parts[1].lower() == r.subscription_id for c in world.customers for r in c.resources):
                return arm_error(404, "SubscriptionNotFound", f"The subscription '{parts[1]}' could not be found.")
            if len(parts) >= 4 and lowered[2] == "resourcegroups":
                facts = [f for f in facts if f["ResourceGroupName"] == lowered[3]]
            return facts
        return arm_error(400, "BadRequest", f"Scope '{scope}' is not supported for Cost Management queries.")

    def grouping_columns(grouping: list[dict[str, Any]]) -> list[tuple[str, str, str]] | Response:
        """(column name, kind, source name) per grouping; a TagKey grouping yields TagKey and TagValue columns."""
        columns: list[tuple[str, str, str]] = []
        for group in grouping:
            kind, name = str(group.get("type", "")), str(group.get("name", ""))
            if kind.lower() == "tagkey":
                columns += [("TagKey", "tagkey", name), ("TagValue", "tagvalue", name)]
            elif kind.lower() == "dimension":
                dimension = next((d for d in DIMENSIONS if d.lower() == name.lower()), None)
                if dimension is None:
                    return invalid_query(f"grouping dimension '{name}' is not valid for this scope.")
                columns.append((dimension, "dimension", dimension))
            else:
                return invalid_query(f"grouping type '{kind}' is not supported.")
        return columns

    def evaluate(request: Request, scope: str, body: dict[str, Any]) -> tuple[list[dict], list[list]] | Response:
        if str(body.get("type", "")).lower() not in TYPES:
            return invalid_query(f"type '{body.get('type')}' is not supported.")
        period = _period(body, request.clock.now().date())
        if isinstance(period, Response):
            return period
        dataset = body.get("dataset")
        if not isinstance(dataset, dict):
            return invalid_query("Dataset is invalid or not supplied.")
        granularity = str(dataset.get("granularity") or "None").lower()
        if granularity not in ("daily", "monthly", "none"):
            return invalid_query(f"granularity '{dataset.get('granularity')}' is not supported.")
        aggregation = dataset.get("aggregation") or {}
        if not isinstance(aggregation, dict) or not 1 <= len(aggregation) <= 2:
            return invalid_query("between one and two aggregations are allowed.")
        measures: list[str] = []
        for alias, spec in aggregation.items():
            name = AGGREGATIONS.get(str((spec or {}).get("name", "")).lower())
            if name is None or str(spec.get("function", "")).lower() != "sum":
                return invalid_query(f"aggregation '{alias}' must be Sum of a supported column.")
            measures.append(name)
        grouping = dataset.get("grouping") or []
        if not isinstance(grouping, list) or len(grouping) > 2:
            return invalid_query("at most two groupings are allowed.")
        columns = grouping_columns(grouping)
        if isinstance(columns, Response):
            return columns
        facts = facts_for(scope, bool(request.has_fault("licence_rows")))
        if isinstance(facts, Response):
            return facts
        first, last = period
        facts = [f for f in facts if first <= f["UsageDate"] <= last]
        if dataset.get("filter"):
            checked = [(_matches(f, dataset["filter"]), f) for f in facts]
            problem = next((m for m, _ in checked if isinstance(m, str)), None)
            if problem:
                return invalid_query(problem)
            facts = [f for m, f in checked if m]
        restate = request.has_fault("restate")
        totals: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(measures))
        for fact in facts:
            key: list[Any] = []
            for _, kind, source in columns:
                if kind == "dimension":
                    key.append(fact[source])
                elif kind == "tagkey":
                    key.append(source if source in fact["tags"] else "")
                else:
                    key.append(fact["tags"].get(source, ""))
            if granularity == "daily":
                key.append(int(fact["UsageDate"].strftime("%Y%m%d")))
            elif granularity == "monthly":
                key.append(fact["UsageDate"].replace(day=1).strftime("%Y-%m-%dT00:00:00"))
            key.append(fact["Currency"])
            factor = Decimal(1)
            age = (request.clock.now().date() - fact["UsageDate"]).days
            if restate and age <= int((restate.body or {}).get("days", 2)):
                factor = Decimal(str((restate.body or {}).get("factor", "1.1")))
            sums = totals[tuple(key)]
            for index, measure in enumerate(measures):
                if measure == "UsageQuantity":
                    sums[index] += fact["UsageQuantity"]
                else:
                    sums[index] += fact["Cost"] * factor * (USD_RATE if measure.endswith("USD") else 1)
        names = [{"name": m, "type": "Number"} for m in measures]
        names += [{"name": column, "type": "String"} for column, _, _ in columns]
        if granularity == "daily":
            names.append({"name": "UsageDate", "type": "Number"})
        elif granularity == "monthly":
            names.append({"name": "BillingMonth", "type": "Datetime"})
        names.append({"name": "Currency", "type": "String"})
        swap = request.has_fault("swap_aggregations") and len(measures) == 2
        rows = []
        for key, sums in sorted(totals.items(), key=lambda item: tuple(str(k) for k in item[0][-2::-1])):
            values = list(reversed(sums)) if swap else sums
            rows.append([float(v) for v in values] + list(key))
        return names, rows

    def skip_state(body: dict[str, Any], offset: int) -> str:
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return base64.b64encode(json.dumps({"o": offset, "h": digest}).encode()).decode()

    def read_skip(token: str, body: dict[str, Any]) -> int | None:
        try:
            state = json.loads(base64.b64decode(token, validate=True))
        except ValueError:
            return None
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return int(state["o"]) if isinstance(state, dict) and state.get("h") == digest else None

    @Routes(app)("POST", r"/(?P<scope>.+)/providers/microsoft\.costmanagement/query")
    def query(request: Request) -> Response:
        allowed = verify_bearer(request, AUDIENCE)
        if allowed is not True:
            return allowed
        version = request.arg("api-version")
        if not version:
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        throttle = request.has_fault("throttle")
        if throttle:
            header = (throttle.body or {}).get("header", QPU_HEADER)
            return Response(
                429,
                {"error": {"code": "429", "message": "Too many requests. Please retry."}},
                {header: str(max(1, round(throttle.seconds or 1)))},
            )
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return invalid_query("Dataset is invalid or not supplied.")
        scope = request.params["scope"]
        skiptoken = request.arg("$skiptoken")
        offset = 0
        if skiptoken is not None:
            found = read_skip(skiptoken, body)
            if found is None:
                return invalid_query("the $skiptoken does not belong to this query.")
            offset = found
        headers: dict[str, str] = {}
        if skiptoken is None:
            period = _period(body, request.clock.now().date())
            cost = _months(*period) if not isinstance(period, Response) else 1
            wait, remaining = quota.charge(cost)
            headers = {
                "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed": str(cost),
                "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": ",".join(
                    f"{name}:{max(0, left)}" for name, left in reversed(remaining.items())
                ),
            }
            if wait:
                headers[QPU_HEADER] = str(max(1, int(wait + 0.999)))
                return Response(429, {"error": {"code": "429", "message": "Too many requests. Please retry."}}, headers)
        result = evaluate(request, scope, body)
        if isinstance(result, Response):
            return result
        columns, rows = result
        paginate = request.has_fault("paginate")
        default_size = int((paginate.body or {}).get("size", 2)) if paginate else DEFAULT_PAGE_SIZE
        try:
            size = max(1, int(request.arg("$top") or default_size))
        except ValueError:
            return invalid_query("$top must be a number.")
        chunk = rows[offset : offset + size]
        malformed = request.has_fault("malformed")
        if malformed and chunk:
            chunk = corrupt(
                chunk, dataclasses.replace(malformed, body={"field": "0", "value": "n/a", **(malformed.body or {})})
            )
        if not rows and request.has_fault("empty"):
            return Response(204, None, headers)
        next_link = None
        if offset + size < len(rows):
            token = quote(skip_state(body, offset + size), safe="")
            next_link = (
                f"https://{request.header('Host', '127.0.0.1')}/{scope}/providers/Microsoft.CostManagement/"
                f"query?api-version={version}&$skiptoken={token}"
            )
        name = hashlib.sha256(f"{scope}|{json.dumps(body, sort_keys=True, default=str)}".encode()).hexdigest()[:32]
        response = Response(
            200,
            {
                "id": f"{scope}/providers/Microsoft.CostManagement/query/{name}",
                "name": name,
                "type": "microsoft.costmanagement/Query",
                "location": None,
                "sku": None,
                "eTag": None,
                "properties": {"nextLink": next_link, "columns": columns, "rows": chunk},
            },
            headers,
        )
        if request.has_fault("broken_page"):
            return broken_json(response.body)
        return response

    @Routes(app)("GET", r"/providers/microsoft\.billing/billingaccounts/(?P<ba>[^/]+)/customers")
    def billing_customers(request: Request) -> Response:
        allowed = verify_bearer(request, AUDIENCE)
        if allowed is not True:
            return allowed
        if request.params["ba"] != world.billing_account_id:
            return arm_error(404, "NotFound", f"Billing account '{request.params['ba']}' was not found.")
        prefix = f"/providers/Microsoft.Billing/billingAccounts/{world.billing_account_id}"
        return Response(
            200,
            {
                "value": [
                    {
                        "id": f"{prefix}/customers/{c.billing_customer_id}",
                        "name": c.billing_customer_id,
                        "type": "Microsoft.Billing/billingAccounts/customers",
                        "properties": {
                            "displayName": c.company_name,
                            "billingProfileId": f"{prefix}/billingProfiles/bp-eur",
                            "billingProfileDisplayName": "EUR billing profile",
                            "tenantId": c.id,
                        },
                    }
                    for c in world.customers
                ],
                "nextLink": None,
            },
        )

    return app
