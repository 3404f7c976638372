"""connectors.azure_exports against the ARM (Exports API), storage-account and Entra sandboxes over HTTPS.

Contract sources: https://learn.microsoft.com/en-us/rest/api/cost-management/exports/get ,
https://learn.microsoft.com/en-us/rest/api/cost-management/exports/get-execution-history ,
https://learn.microsoft.com/en-us/azure/cost-management-billing/costs/tutorial-improved-exports (partitioning and
manifest.json) and https://learn.microsoft.com/en-us/azure/cost-management-billing/dataset-schema/cost-usage-details-mca
(column names).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest

from connectors.azure_costs import SCOPE, AzureCosts, customer_scope
from connectors.azure_exports import AzureExports
from connectors.errors import AuthenticationFailed
from connectors.http import HttpPolicy
from sandbox import cost_management, storage_account
from sandbox.core import SandboxServer
from sandbox.scenario_microsoft import scenario
from tests.connectors.conftest import NOW, SEED

WORLD = scenario(SEED, NOW.date().replace(day=1))
FIRST, LAST = dt.date(2026, 4, 27), NOW.date() - dt.timedelta(days=1)  # a window across two months
CONTAINER = storage_account.CREDENTIALS["container"]


def sas_url(server: SandboxServer, expiry: dt.datetime = dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            key: str = storage_account.ACCOUNT_KEY) -> str:
    token = storage_account.container_token(key, storage_account.ACCOUNT, CONTAINER, expiry)
    return f"{server.url}/{storage_account.ACCOUNT}/{CONTAINER}?{token}"


@pytest.fixture
def connect(arm_server: SandboxServer, storage_server: SandboxServer, make_tokens,
            policy: HttpPolicy) -> Callable[..., AzureExports]:
    def make(url: str | None = None, **options: object) -> AzureExports:
        return AzureExports(arm_server.url, make_tokens(SCOPE), export_name=cost_management.EXPORT_NAME,
                            container_sas_url=url or sas_url(storage_server), policy=policy, **options)

    return make


def without_raw(rows) -> dict[str, object]:
    return {row.row_key: dataclasses.replace(row, raw={}) for row in rows}


def test_exports_and_query_give_the_same_usage_rows(connect, arm_server: SandboxServer, clock, tls, make_tokens,
                                                    policy: HttpPolicy) -> None:
    """Both modes of the demo scope: every customer, CSV and Parquet exports, a window across a month end. The
    exports spend no query quota; the Query side runs on its own ARM sandbox with the quotas relaxed."""
    exported = connect().pull(WORLD.billing_account_id, FIRST, LAST)
    assert not [r for r in arm_server.app.received if r.path.lower().endswith("/query")]
    relaxed = cost_management.build(clock, seed=SEED, qpu_buckets=(("QueriesPer10Sec", 1000, 1.0),),
                                    entity_buckets=(("QueriesPerMin", 1000, 1.0),))
    with SandboxServer(relaxed, tls=tls) as server:
        queried = AzureCosts(server.url, make_tokens(SCOPE), policy=policy).pull(WORLD.billing_account_id, FIRST, LAST)
    assert exported.errors == () and queried.errors == ()
    assert queried.usage and without_raw(exported.usage) == without_raw(queried.usage)
    days = (LAST - FIRST).days + 1
    assert {u.usage_date for u in exported.usage} == {FIRST + dt.timedelta(days=n) for n in range(days)}
    assert {storage_account.export_format(WORLD, c.billing_customer_id) for c in WORLD.customers} == {"Csv",
                                                                                                      "Parquet"}


def test_wrong_or_expired_sas_is_authentication_failed(connect, storage_server: SandboxServer) -> None:
    scope = customer_scope(WORLD.billing_account_id, WORLD.customers[0].billing_customer_id)
    wrong_key = base64.b64encode(b"not the account key of the sandbox").decode()
    for url in (sas_url(storage_server, key=wrong_key),
                sas_url(storage_server, expiry=NOW - dt.timedelta(hours=1))):
        with pytest.raises(AuthenticationFailed, match="AuthenticationFailed"):
            connect(url).exported_costs(scope, FIRST, LAST, "c")


MAY = (dt.date(2026, 5, 1), NOW.date() - dt.timedelta(days=1))


def customer_index(fmt: str) -> int:
    return next(i for i, c in enumerate(WORLD.customers)
                if storage_account.export_format(WORLD, c.billing_customer_id) == fmt)


def partition(customer: int, number: int) -> str:
    """The fault route of one partition of a customer's May export (either format)."""
    return (f"GET /{storage_account.ACCOUNT}/{CONTAINER}/{WORLD.customers[customer].billing_customer_id}/"
            rf".*/20260501-20260531/.*/part_{number}_0001\.(csv|parquet)")


@pytest.mark.parametrize("fmt", ["Csv", "Parquet"])
@pytest.mark.parametrize(("knob", "body", "field", "row"), [
    ("drop_column", {"column": "costInBillingCurrency"}, "costInBillingCurrency", False),
    ("drop_column", {"column": "date"}, "date", False),
    ("wrong_value", {"column": "quantity", "value": "n/a"}, "quantity", True),
    ("wrong_value", {"column": "tags", "value": "[1, 2]"}, "tags", True),
    ("wrong_value", {"column": "date", "value": "2026-13-45"}, "date", True),
])
def test_a_partition_that_breaks_the_contract_withholds_its_month(connect, storage_server: SandboxServer, fmt: str,
                                                                  knob: str, body: dict, field: str,
                                                                  row: bool) -> None:
    """The error names the source, the blob (and row) and the column. Partitions are cut by size, so May's other
    files may hold rows of the same days and meters: May is withheld whole rather than summed without that file;
    April, read from its own manifest, comes through."""
    broken = customer_index(fmt)
    scope = customer_scope(WORLD.billing_account_id, WORLD.customers[broken].billing_customer_id)
    clean = connect().exported_costs(scope, FIRST, LAST, "c")
    storage_server.app.faults.arm(partition(broken, 3), knob, times=-1, body=body)
    result = connect().exported_costs(scope, FIRST, LAST, "c")
    (error,) = result.errors
    assert (error.source, error.field) == ("azure_costs", field)
    assert f"/part_3_0001.{fmt.lower()}" in error.record_id and error.record_id.endswith(" row 2") == row
    assert without_raw(result.usage) == {key: usage for key, usage in without_raw(clean.usage).items()
                                         if usage.usage_date.month == 4}
    assert result.usage and len(result.usage) < len(clean.usage)


def test_other_customers_go_on_past_a_broken_file(connect, storage_server: SandboxServer) -> None:
    storage_server.app.faults.arm(partition(0, 0), "drop_column", times=-1, body={"column": "meterId"})
    result = connect().pull(WORLD.billing_account_id, *MAY)
    assert [(e.field, e.record_id.split("/")[0]) for e in result.errors] == [
        ("meterId", WORLD.customers[0].billing_customer_id)]
    assert {u.customer_external_id for u in result.usage} == {c.id for c in WORLD.customers[1:]}


def test_a_manifest_naming_a_missing_blob_is_reported(connect, storage_server: SandboxServer) -> None:
    scope = customer_scope(WORLD.billing_account_id, WORLD.customers[0].billing_customer_id)
    storage_server.app.faults.arm(partition(0, 5), "status", times=-1, status=404,
                                  headers={"x-ms-error-code": "BlobNotFound"})
    result = connect().exported_costs(scope, FIRST, LAST, "c")
    (error,) = result.errors
    assert error.field == "blobs[5].blobName" and error.record_id.endswith("/manifest.json")
    assert "/20260501-20260531/" in error.record_id and "not in the container" in error.problem
    assert result.usage and {u.usage_date.month for u in result.usage} == {4}


def test_a_month_whose_manifest_is_gone_is_reported(connect, storage_server: SandboxServer) -> None:
    """The run history says May's run completed; its manifest cannot be read: May is reported, April still read."""
    scope = customer_scope(WORLD.billing_account_id, WORLD.customers[0].billing_customer_id)
    storage_server.app.faults.arm(f"GET /{storage_account.ACCOUNT}/{CONTAINER}/.*/20260501-20260531/.*/manifest.json",
                                  "status", times=-1, status=404, headers={"x-ms-error-code": "BlobNotFound"})
    result = connect().exported_costs(scope, FIRST, LAST, "c")
    (error,) = result.errors
    assert error.field == "content" and "/20260501-20260531/" in error.record_id
    assert error.record_id.endswith("/manifest.json")
    assert result.usage and {u.usage_date.month for u in result.usage} == {4}


def test_a_file_format_other_than_configured_is_refused(connect) -> None:
    scope = customer_scope(WORLD.billing_account_id, WORLD.customers[customer_index("Csv")].billing_customer_id)
    result = connect(file_format="Parquet").exported_costs(scope, *MAY, "c")
    assert result.usage == ()
    assert [e.field for e in result.errors] == ["deliveryConfig.fileFormat"]


def test_a_run_in_progress_is_not_read(connect, arm_server: SandboxServer, clock) -> None:
    """Between midnight and the end of the night's run, run history shows it ``InProgress``: the day before's
    completed run (and its files) are read."""
    scope = customer_scope(WORLD.billing_account_id, WORLD.customers[0].billing_customer_id)
    clock.set(dt.datetime.combine(NOW.date(), dt.time(0, 5), dt.UTC))
    result = connect().exported_costs(scope, *MAY, "c")
    assert result.errors == ()
    assert max(u.usage_date for u in result.usage) == NOW.date() - dt.timedelta(days=2)
