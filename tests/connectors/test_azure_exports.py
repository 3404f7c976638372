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
