"""Contract tests of the storage-account sandbox (Blob REST through a container SAS) and of the Cost Management
Exports routes of the ARM sandbox, against Microsoft's documentation:

- List Blobs: https://learn.microsoft.com/en-us/rest/api/storageservices/list-blobs (``restype=container&comp=list``,
  ``prefix``, ``marker``, ``maxresults``, ``EnumerationResults`` with ``NextMarker``);
- Get Blob: https://learn.microsoft.com/en-us/rest/api/storageservices/get-blob (``x-ms-range`` → 206);
- service SAS: https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas (``sv``, ``sr``, ``sp``,
  ``se``, ``sig``); failures: https://learn.microsoft.com/en-us/rest/api/storageservices/common-rest-api-error-codes
  (403 ``AuthenticationFailed``, ``AuthorizationPermissionMismatch``);
- Exports - Get: https://learn.microsoft.com/en-us/rest/api/cost-management/exports/get and Exports - Get Execution
  History: https://learn.microsoft.com/en-us/rest/api/cost-management/exports/get-execution-history ;
- manifest.json and partitioning:
  https://learn.microsoft.com/en-us/azure/cost-management-billing/costs/tutorial-improved-exports ;
- columns: https://learn.microsoft.com/en-us/azure/cost-management-billing/dataset-schema/cost-usage-details-mca .
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
from azure.storage.blob import ContainerClient, ContainerSasPermissions, generate_container_sas

from sandbox import cost_management, entra, storage_account
from sandbox.core import Clock, SandboxServer
from sandbox.cost_management.export_files import COLUMNS, PARTITION_BYTES, files, latest_per_month, rows, runs
from sandbox.scenario_microsoft import scenario
from sandbox.tls import TlsFiles, make_tls_files

NOW = dt.datetime(2026, 5, 20, 0, 5, tzinfo=dt.UTC)  # five minutes into the night's export run
SEED = 4
WORLD = scenario(SEED, NOW.date().replace(day=1))
CONTAINER = storage_account.CREDENTIALS["container"]
CUSTOMER = WORLD.customers[1].billing_customer_id  # an odd customer: Parquet


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("tls")))


SMALL_PARTITIONS = 4_000  # bytes: about two partitions a day, so listings page and a day straddles two files


@pytest.fixture
def storage(tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(storage_account.build(Clock(NOW), seed=SEED, partition_bytes=SMALL_PARTITIONS),
                       tls=tls) as server:
        yield server


def container_url(server: SandboxServer) -> str:
    return f"{server.url}/{storage_account.ACCOUNT}/{CONTAINER}"


def list_page(server: SandboxServer, tls: TlsFiles, token: str, **params: str) -> requests.Response:
    return requests.get(f"{container_url(server)}?{token}", params={"restype": "container", "comp": "list", **params},
                        verify=str(tls.ca_cert), timeout=10)


def test_list_blobs_pages_with_next_marker(storage: SandboxServer, tls: TlsFiles) -> None:
    prefix = f"{CUSTOMER}/{cost_management.EXPORT_NAME}/"
    names, marker, pages = [], "", 0
    while True:
        answer = list_page(storage, tls, storage_account.SAS_TOKEN, prefix=prefix, maxresults="7", marker=marker)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/xml"
        root = ET.fromstring(answer.content)
        assert root.tag == "EnumerationResults" and root.get("ContainerName") == CONTAINER
        names += [blob.findtext("Name") for blob in root.iter("Blob")]
        assert all(blob.findtext("Properties/BlobType") == "BlockBlob" for blob in root.iter("Blob"))
        pages += 1
        marker = root.findtext("NextMarker") or ""
        if not marker:
            break
    assert pages > 2 and names == sorted(names) and all(name.startswith(prefix) for name in names)
    assert sum(name.endswith("/manifest.json") for name in names) == 2  # April and May, one run each (overwritten)


def test_the_sdk_reads_through_a_sas_it_signed_itself(storage: SandboxServer, tls: TlsFiles) -> None:
    """A SAS made by azure-storage-blob's own generate_container_sas is accepted: the sandbox signs as documented."""
    token = generate_container_sas(storage_account.ACCOUNT, CONTAINER, account_key=storage_account.ACCOUNT_KEY,
                                   permission=ContainerSasPermissions(read=True, list=True),
                                   expiry=NOW + dt.timedelta(days=1))
    client = ContainerClient.from_container_url(f"{container_url(storage)}?{token}", connection_verify=str(tls.ca_cert))
    manifest_name = next(b.name for b in client.list_blobs(name_starts_with=f"{CUSTOMER}/")
                         if b.name.endswith("/manifest.json"))
    manifest = json.loads(client.download_blob(manifest_name).readall())
    assert manifest["manifestVersion"] == "2024-04-01"
    assert set(manifest) >= {"byteCount", "blobCount", "dataRowCount", "exportConfig", "deliveryConfig", "runInfo",
                             "blobs"}
    assert manifest["deliveryConfig"]["fileFormat"] == "Parquet"
    assert manifest["deliveryConfig"]["dataOverwriteBehavior"] == "OverwritePreviousReport"
    first = manifest["blobs"][0]
    content = client.download_blob(first["blobName"]).readall()
    assert len(content) == first["byteCount"]
    table = pq.read_table(io.BytesIO(content))
    assert table.num_rows == first["dataRowCount"] and tuple(table.column_names) == COLUMNS
    assert manifest["blobCount"] == len(manifest["blobs"])


@pytest.mark.parametrize("limit", [SMALL_PARTITIONS, PARTITION_BYTES])
def test_partitions_are_cut_by_size_and_hold_every_row_once_in_date_order(limit: int) -> None:
    """"Partitioned by size" (partitionData): a partition closes at about ``limit`` bytes of CSV, whatever the days,
    and the manifest's partitions together are the run's rows, each once, in date order."""
    (may,) = [run for run in latest_per_month(runs(WORLD, CUSTOMER, NOW)) if run.start == dt.date(2026, 5, 1)]
    written = files(WORLD, may, "Csv", limit)
    manifest = json.loads(written[f"{may.folder}/manifest.json"])
    parts = [list(csv.DictReader(io.StringIO(written[blob["blobName"]].decode("utf-8")))) for blob in manifest["blobs"]]
    assert [len(part) for part in parts] == [blob["dataRowCount"] for blob in manifest["blobs"]]
    header = len(",".join(COLUMNS)) + 2
    assert all(len(written[blob["blobName"]]) <= limit + header for blob in manifest["blobs"])
    expected = [row["date"] for day in range((may.end - may.start).days + 1)
                for row in rows(WORLD, may, may.start + dt.timedelta(days=day))]
    assert [row["date"] for part in parts for row in part] == expected
    days = (may.end - may.start).days + 1
    assert (len(parts) > days) == (limit == SMALL_PARTITIONS)  # small: more files than days; default: fewer


def test_a_csv_partition_has_the_documented_header_and_dates(storage: SandboxServer, tls: TlsFiles) -> None:
    csv_customer = WORLD.customers[0].billing_customer_id
    client = ContainerClient.from_container_url(f"{container_url(storage)}?{storage_account.SAS_TOKEN}",
                                                connection_verify=str(tls.ca_cert))
    name = next(b.name for b in client.list_blobs(name_starts_with=f"{csv_customer}/") if b.name.endswith(".csv"))
    rows = list(csv.DictReader(io.StringIO(client.download_blob(name).readall().decode("utf-8"))))
    assert rows and tuple(rows[0]) == COLUMNS
    assert all(dt.datetime.strptime(row["date"], "%m/%d/%Y") for row in rows)
    assert {row["publisherType"] for row in rows} <= {"Azure", "Microsoft"}


def test_ranged_get_answers_206(storage: SandboxServer, tls: TlsFiles) -> None:
    listing = ET.fromstring(list_page(storage, tls, storage_account.SAS_TOKEN, prefix=f"{CUSTOMER}/").content)
    name = listing.find("Blobs/Blob/Name").text
    answer = requests.get(f"{container_url(storage)}/{name}?{storage_account.SAS_TOKEN}",
                          headers={"x-ms-range": "bytes=0-9"}, verify=str(tls.ca_cert), timeout=10)
    assert answer.status_code == 206 and len(answer.content) == 10
    assert answer.headers["Content-Range"].startswith("bytes 0-9/") and answer.headers["x-ms-blob-type"] == "BlockBlob"


@pytest.mark.parametrize(("token", "code"), [
    ("", "AuthenticationFailed"),
    (storage_account.SAS_TOKEN.replace("sig=", "sig=AAAA"), "AuthenticationFailed"),
    (storage_account.container_token(storage_account.ACCOUNT_KEY, storage_account.ACCOUNT, CONTAINER,
                                     NOW - dt.timedelta(minutes=1)), "AuthenticationFailed"),
    (storage_account.container_token(storage_account.ACCOUNT_KEY, storage_account.ACCOUNT, CONTAINER,
                                     NOW + dt.timedelta(days=1), permissions="r"), "AuthorizationPermissionMismatch"),
])
def test_a_bad_sas_is_refused_with_the_documented_error(storage: SandboxServer, tls: TlsFiles, token: str,
                                                        code: str) -> None:
    answer = list_page(storage, tls, token)
    assert answer.status_code == 403 and answer.headers["x-ms-error-code"] == code
    error = ET.fromstring(answer.content)
    assert error.tag == "Error" and error.findtext("Code") == code
    if code == "AuthenticationFailed":
        assert error.findtext("Message").startswith("Server failed to authenticate the request.")
        assert error.findtext("AuthenticationErrorDetail")


@pytest.fixture
def arm(tls: TlsFiles) -> Iterator[tuple[SandboxServer, str]]:
    clock = Clock(NOW)
    with SandboxServer(entra.build(clock, seed=SEED), tls=tls, prefix=entra.PREFIX) as login, \
            SandboxServer(cost_management.build(clock, seed=SEED), tls=tls) as server:
        token = requests.post(f"{login.url}/{entra.CREDENTIALS['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": entra.CREDENTIALS["client_id"],
            "client_secret": entra.CREDENTIALS["client_secret"], "scope": cost_management.CREDENTIALS["scope"]},
            verify=str(tls.ca_cert), timeout=10).json()["access_token"]
        yield server, token


def arm_get(arm: tuple[SandboxServer, str], tls: TlsFiles, path: str, **params: str) -> requests.Response:
    server, token = arm
    scope = f"providers/Microsoft.Billing/billingAccounts/{WORLD.billing_account_id}/customers/{CUSTOMER}"
    return requests.get(f"{server.url}/{scope}/providers/Microsoft.CostManagement/exports/{path}",
                        params={"api-version": "2025-03-01", **params}, headers={"Authorization": f"Bearer {token}"},
                        verify=str(tls.ca_cert), timeout=10)


def test_export_definition(arm, tls: TlsFiles) -> None:
    answer = arm_get(arm, tls, cost_management.EXPORT_NAME)
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == cost_management.EXPORT_NAME and body["type"] == "Microsoft.CostManagement/exports"
    properties = body["properties"]
    assert properties["format"] == "Parquet" and properties["partitionData"] is True
    assert properties["dataOverwriteBehavior"] == "OverwritePreviousReport"
    assert properties["deliveryInfo"]["destination"]["container"] == CONTAINER
    assert properties["deliveryInfo"]["destination"]["rootFolderPath"] == CUSTOMER
    assert properties["definition"]["type"] == "ActualCost" and properties["schedule"]["recurrence"] == "Daily"
    assert "runHistory" not in properties
    expanded = arm_get(arm, tls, cost_management.EXPORT_NAME, **{"$expand": "runHistory"}).json()
    assert expanded["properties"]["runHistory"]["value"]
    assert arm_get(arm, tls, "no-such-export").status_code == 404


def test_run_history_is_newest_first_with_the_running_one(arm, tls: TlsFiles) -> None:
    answer = arm_get(arm, tls, f"{cost_management.EXPORT_NAME}/runHistory")
    assert answer.status_code == 200
    runs = [run["properties"] for run in answer.json()["value"]]
    submitted = [run["submittedTime"] for run in runs]
    assert submitted == sorted(submitted, reverse=True)
    assert runs[0]["status"] == "InProgress" and runs[0]["processingEndTime"] is None  # tonight's, five minutes in
    assert {run["status"] for run in runs[1:]} == {"Completed"}
    assert runs[1]["startDate"] == "2026-05-01T00:00:00Z" and runs[1]["endDate"] == "2026-05-19T00:00:00Z"
    assert all(run["executionType"] == "Scheduled" and run["submittedBy"] == "System" for run in runs)
