"""The Cost Management Exports routes of the ARM sandbox: an export's definition and its run history.

Why apart from the query route: exports are how large scopes are read (scheduled files in a storage account instead of
paged queries under a tight quota); their runs and files come from ``export_files`` so the storage sandbox serves
exactly what the run history reports. Every customer scope of the scenario has one export, ``EXPORT_NAME``.

Contract (https://learn.microsoft.com/en-us/rest/api/cost-management/exports/get and
https://learn.microsoft.com/en-us/rest/api/cost-management/exports/get-execution-history):
``GET {scope}/providers/Microsoft.CostManagement/exports/{name}?api-version=…`` answers the export resource
(``properties.format``, ``deliveryInfo.destination`` with ``resourceId``, ``container``, ``rootFolderPath``,
``definition``, ``schedule``, ``partitionData``, ``dataOverwriteBehavior``; ``$expand=runHistory`` adds the runs);
``GET …/exports/{name}/runHistory`` answers ``{"value": [ExportRun]}`` newest first, with ``status`` ``InProgress``
while a run is being written and ``Completed`` once its files are there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox.core import Request, Response
from sandbox.cost_management.export_files import (
    CONTAINER,
    DATA_VERSION,
    EXPORT_NAME,
    RUN_AT,
    STORAGE_ACCOUNT_ID,
    ExportRun,
    customer_scope,
    export_format,
    runs,
)
from sandbox.cost_management.query import arm_error
from sandbox.routing import Routes
from sandbox.scenario_microsoft import MicrosoftScenario


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _properties(world: MicrosoftScenario, customer: str) -> dict[str, Any]:
    return {
        "format": export_format(world, customer),
        "partitionData": True,
        "dataOverwriteBehavior": "OverwritePreviousReport",
        "compressionMode": "None",
        "deliveryInfo": {"destination": {"type": "AzureBlob", "resourceId": STORAGE_ACCOUNT_ID,
                                         "container": CONTAINER, "rootFolderPath": customer}},
        "definition": {"type": "ActualCost", "timeframe": "MonthToDate",
                       "dataSet": {"granularity": "Daily", "configuration": {"dataVersion": DATA_VERSION}}},
    }


def _run(world: MicrosoftScenario, run: ExportRun, now: dt.datetime) -> dict[str, Any]:
    done = run.finished <= now
    return {
        "id": f"{customer_scope(world, run.customer)}/providers/Microsoft.CostManagement/exports/{EXPORT_NAME}"
              f"/Run/{run.run_id}",
        "name": run.run_id,
        "type": "Microsoft.CostManagement/reports/Run",
        "properties": {
            "executionType": "Scheduled",
            "status": "Completed" if done else "InProgress",
            "submittedBy": "System",
            "submittedTime": _iso(run.submitted),
            "processingStartTime": _iso(run.submitted),
            "processingEndTime": _iso(run.finished) if done else None,
            "startDate": _iso(dt.datetime.combine(run.start, dt.time(0), dt.UTC)),
            "endDate": _iso(dt.datetime.combine(run.end + dt.timedelta(days=1), dt.time(0), dt.UTC)),
            "fileName": f"{run.folder}/manifest.json" if done else None,
            "runSettings": _properties(world, run.customer),
        },
    }


def register(arm: Routes, world: MicrosoftScenario) -> None:
    """Add the export routes to the ARM sandbox's routes (behind its bearer-token guard)."""

    def customer_of(request: Request) -> str | Response:
        if not request.arg("api-version"):
            return arm_error(400, "MissingApiVersionParameter",
                             "The api-version query parameter (?api-version=) is required for all requests.")
        parts = [p for p in request.params["scope"].strip("/").split("/") if p]
        lowered = [p.lower() for p in parts]
        known = {c.billing_customer_id for c in world.customers}
        if (len(parts) != 6 or lowered[:3] != ["providers", "microsoft.billing", "billingaccounts"]
                or parts[3] != world.billing_account_id or lowered[4] != "customers" or parts[5] not in known):
            return arm_error(404, "NotFound", f"Scope '{request.params['scope']}' has no exports.")
        if request.params["name"].lower() != EXPORT_NAME:
            return arm_error(404, "NotFound", f"Export '{request.params['name']}' was not found.")
        return parts[5]

    def history(customer: str, now: dt.datetime) -> list[dict[str, Any]]:
        listed = [run for run in runs(world, customer, now, running=True) if run.listed]
        return [_run(world, run, now) for run in reversed(listed)]

    @arm("GET", r"/(?P<scope>.+)/providers/microsoft\.costmanagement/exports/(?P<name>[^/]+)")
    def get_export(request: Request) -> Response:
        customer = customer_of(request)
        if isinstance(customer, Response):
            return customer
        now = request.clock.now()
        following = dt.datetime.combine(now.date() + dt.timedelta(days=1), RUN_AT, dt.UTC)
        properties: dict[str, Any] = {
            **_properties(world, customer),
            "schedule": {"status": "Active", "recurrence": "Daily",
                         "recurrencePeriod": {"from": _iso(dt.datetime.combine(world.month, RUN_AT, dt.UTC)),
                                              "to": "2030-12-31T00:00:00Z"}},
            "nextRunTimeEstimate": _iso(following),
        }
        if (request.arg("$expand") or "").lower() == "runhistory":
            properties["runHistory"] = {"value": history(customer, now)}
        return Response(200, {
            "id": f"{customer_scope(world, customer)}/providers/Microsoft.CostManagement/exports/{EXPORT_NAME}",
            "name": EXPORT_NAME,
            "type": "Microsoft.CostManagement/exports",
            "eTag": '"1d9a3f0b2c4e5a6"',
            "properties": properties,
        })

    @arm("GET", r"/(?P<scope>.+)/providers/microsoft\.costmanagement/exports/(?P<name>[^/]+)/runhistory")
    def run_history(request: Request) -> Response:
        customer = customer_of(request)
        if isinstance(customer, Response):
            return customer
        return Response(200, {"value": history(customer, request.clock.now())})
