"""The ARM routes: the Cost Management query (evaluation, QPU and per-scope quotas, ``$skiptoken`` paging, knobs)
and the MPA billing account's customers; the export routes are added from ``exports.py``.

Why one module: a query's cost, its pages and its knobs are decided together per request; the query's vocabulary
and validation live in ``query.py``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import threading
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.cost_management import exports
from sandbox.cost_management.query import (
    AGGREGATIONS,
    TYPES,
    USD_RATE,
    arm_error,
    grouping_columns,
    invalid_query,
    matches,
    months_spanned,
    query_period,
)
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
# Per scope ("entity"): live Cost Management answers 429 after a handful of queries on one scope within a minute.
ENTITY_HEADER = "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after"
ENTITY_BUCKETS = (("QueriesPerMin", 5, 60.0),)
TOO_MANY = {"error": {"code": "429", "message": "Too many requests. Please retry."}}


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


def build(
    clock: Clock,
    seed: int = 1,
    qpu_buckets: tuple[tuple[str, int, float], ...] = QPU_BUCKETS,
    entity_buckets: tuple[tuple[str, int, float], ...] = ENTITY_BUCKETS,
) -> SandboxApp:
    """The ARM sandbox: Cost Management query at billing-account / customer / subscription scopes, and each customer
    scope's export (``exports.py``).

    ``qpu_buckets`` = (name, QPU, window seconds) per bucket for the tenant; ``entity_buckets`` the same in queries
    per scope; tests shrink the windows to stay fast.
    """
    app = SandboxApp("cost_management", clock)
    world: MicrosoftScenario = scenario(seed, clock.now().date().replace(day=1))
    quota = _Quota(qpu_buckets)
    per_scope: dict[str, _Quota] = defaultdict(lambda: _Quota(entity_buckets))

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

    def evaluate(request: Request, scope: str, body: dict[str, Any]) -> tuple[list[dict], list[list]] | Response:
        if str(body.get("type", "")).lower() not in TYPES:
            return invalid_query(f"type '{body.get('type')}' is not supported.")
        period = query_period(body, request.clock.now().date())
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
            checked = [(matches(f, dataset["filter"]), f) for f in facts]
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

    def guard(request: Request, handler: Handler) -> Response:
        allowed = verify_bearer(request, AUDIENCE)
        return handler(request) if allowed is True else allowed

    arm = Routes(app, guard=guard)
    exports.register(arm, world)

    @arm("POST", r"/(?P<scope>.+)/providers/microsoft\.costmanagement/query")
    def query(request: Request) -> Response:
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
            return Response(429, TOO_MANY, {header: str(max(1, round(throttle.seconds or 1)))})
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
            wait, _ = per_scope[scope.strip("/").lower()].charge(1)
            if wait:
                return Response(429, TOO_MANY, {ENTITY_HEADER: str(max(1, int(wait + 0.999)))})
            period = query_period(body, request.clock.now().date())
            cost = months_spanned(*period) if not isinstance(period, Response) else 1
            wait, remaining = quota.charge(cost)
            headers = {
                "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed": str(cost),
                "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": ",".join(
                    f"{name}:{max(0, left)}" for name, left in reversed(remaining.items())
                ),
            }
            if wait:
                headers[QPU_HEADER] = str(max(1, int(wait + 0.999)))
                return Response(429, TOO_MANY, headers)
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

    @arm("GET", r"/providers/microsoft\.billing/billingaccounts/(?P<ba>[^/]+)/customers")
    def billing_customers(request: Request) -> Response:
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
