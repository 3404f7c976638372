"""Azure consumption of large scopes from Cost Management exports: scheduled files in a storage account.

Why exports: the Query API allows a handful of queries per scope a minute and about one QPU per month queried; a
large customer's daily costs by resource, meter and tag take several queries and many pages each night. A daily
export writes the same data once as files; reading them costs no query quota at all.

How a customer is read (per customer scope, where Microsoft offers cost exports to partners):

1. ``GET …/exports/{name}`` (the export's root folder and format) and ``GET …/exports/{name}/runHistory``, through the
   SDK with the same retries and throttling headers as the Query path (``AzureCosts._call``);
2. the manifests under ``{rootFolderPath}/{name}/`` are listed through the container SAS URL
   (``azure-storage-blob``, ``List Blobs`` with ``NextMarker`` paging); per month the lookback window touches, the
   newest ``Completed`` run of that month is taken from the history and the newest manifest of that month is read
   (the month's ``{yyyymmdd-yyyymmdd}`` folder when there is one; with ``OverwritePreviousReport`` it holds one run).
   It must be at least as new as that run. Partition names are only ever taken from the manifest, as Microsoft
   asks;
3. every blob the manifest names is downloaded and read as CSV or Parquet (``connectors.azure_export_rows``).

Contract breaks are ``MalformedRecord``s naming the source, the blob or row and the field: a manifest naming a blob
that is not there, a file in another format than configured, a documented column missing, a value of the wrong
type. A refused file withholds that customer's month: exports are partitioned by size, not by day, so the rows of
one day, resource and meter may lie in two files, and a sum read without one of them would overwrite the stored,
complete one. The customer's other months and the other customers go on; the sync keeps what it stored for a source
with refused records (``services.sync.ingest``), so nothing is lost and the next clean read completes the month. A
refused SAS is ``AuthenticationFailed``; storage that keeps failing is ``SourceUnavailable``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from connectors.auth import TokenProvider
from connectors.azure_costs import SOURCE, AzureCosts, customer_scope
from connectors.azure_export_rows import ExportUsage, partition_rows
from connectors.errors import AuthenticationFailed, MalformedRecord, SourceUnavailable
from connectors.http import HttpPolicy
from connectors.records import PullResult, UsageRecord

log = logging.getLogger("cspbill.connectors.azure_exports")

FORMATS = ("Csv", "Parquet")


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    """First day of every month [first, last] touches."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _month_folder(month: dt.date) -> str:
    end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return f"{month:%Y%m%d}-{end:%Y%m%d}"


class AzureExports(AzureCosts):
    """Reads the daily usage of a billing account's customers from each customer's Cost Management export.

    Config beyond ``AzureCosts``: the export's name (the same at every customer scope), the container SAS URL the
    exports are delivered to, and optionally the file format the exports must have (``Csv`` or ``Parquet``).
    """

    def __init__(
        self,
        arm_base_url: str,
        tokens: TokenProvider,
        *,
        export_name: str,
        container_sas_url: str,
        file_format: str | None = None,
        policy: HttpPolicy | None = None,
        tag_keys: tuple[str, ...] = ("environment",),
        source: str = SOURCE,
    ) -> None:
        super().__init__(arm_base_url, tokens, policy=policy, tag_keys=tag_keys, source=source)
        if file_format is not None and file_format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        self.export_name = export_name
        self.file_format = file_format
        from azure.storage.blob import ContainerClient  # the blob SDK only where exports are read, not at import

        self._container = ContainerClient.from_container_url(
            container_sas_url,
            connection_verify=self.policy.verify,
            connection_timeout=self.policy.connect_timeout,
            read_timeout=self.policy.read_timeout,
            retry_total=self.policy.retries,
        )

    def close(self) -> None:
        self._container.close()
        super().close()

    def pull(self, billing_account_id: str, first: dt.date, last: dt.date) -> PullResult:
        """Usage of every customer of the billing account for ``first``..``last`` (inclusive), from the exports."""
        listed = self.billing_customers(billing_account_id)
        usage: list[UsageRecord] = []
        errors = list(listed.errors)
        for customer in listed.customers:
            scope = customer_scope(billing_account_id, customer.external_id)
            result = self.exported_costs(scope, first, last, customer.tenant_id or customer.external_id)
            usage += result.usage
            errors += result.errors
        return PullResult(customers=listed.customers, usage=tuple(usage), errors=tuple(errors))

    def exported_costs(self, scope: str, first: dt.date, last: dt.date, customer_external_id: str) -> PullResult:
        """Usage rows for days ``first``..``last`` (inclusive) from the export at ``scope``."""
        what = f"export {self.export_name} at {scope}"
        export = self._call(what, lambda client: client.exports.get(scope, self.export_name))
        history = self._call(f"{what} run history",
                             lambda client: client.exports.get_execution_history(scope, self.export_name))
        destination = export.properties.delivery_info.destination
        folder = f"{(destination.root_folder_path or '').strip('/')}/{self.export_name}".lstrip("/")
        completed = [run.properties for run in history.value or []
                     if run.properties is not None and _text(run.properties.status) == "Completed"]
        records: list[UsageRecord] = []
        errors: list[MalformedRecord] = []
        manifests = self._storage(f"list {folder}/", lambda: [
            blob.name for blob in self._container.list_blobs(name_starts_with=f"{folder}/")
            if blob.name.endswith("/manifest.json")])
        for month in _months(first, last):
            runs = [run for run in completed if run.start_date is not None
                    and run.start_date.date().replace(day=1) == month]
            if not runs:
                log.info("%s: %s has no completed run for %s yet", self.source, what, f"{month:%Y-%m}")
                continue
            newest = max(runs, key=lambda run: run.submitted_time)
            try:
                manifest_name, manifest = self._manifest(manifests, month, newest)
            except MalformedRecord as bad:
                log.warning("%s", bad)
                errors.append(bad)
                continue
            found = ExportUsage(self.source, customer_external_id, first, last, self.tag_keys)
            refused = self._read_partitions(manifest_name, manifest, _text(export.properties.format), found)
            if refused:
                log.warning("%s: %s, %s withheld: %d of its files refused", self.source, what, f"{month:%Y-%m}",
                            len(refused))
                errors += refused
                continue
            records += found.records()
        log.info("%s: %d usage rows, %d files refused, for customer %s", self.source, len(records), len(errors),
                 customer_external_id)
        return PullResult(usage=tuple(records), errors=tuple(errors))

    # --- storage ---------------------------------------------------------------------------------------------

    def _storage(self, what: str, operation: Any) -> Any:
        """One storage call (the client retries transport failures itself); its failures as our typed errors."""
        try:
            return operation()
        except ClientAuthenticationError as exc:
            raise AuthenticationFailed(self.source, f"{what}: the storage account refused the SAS "
                                                    f"({_text(exc.error_code) or exc.status_code})") from exc
        except ResourceNotFoundError:
            raise
        except HttpResponseError as exc:
            raise SourceUnavailable(self.source, f"{what} failed ({exc.status_code}): {exc.reason}") from exc

    def _manifest(self, names: list[str], month: dt.date, run: Any) -> tuple[str, dict[str, Any]]:
        """(blob name, content) of the newest manifest of ``month`` among the export's manifests ``names``; it must be
        at least as new as ``run``, the newest completed run of that month.

        Only the month's folder (``…/{yyyymmdd-yyyymmdd}/``, as Microsoft writes them) is read when there is one; a
        manifest belongs to the month its ``runInfo.startDate`` is in.
        """
        token = f"/{_month_folder(month)}/"
        candidates = [name for name in names if token in name] or names
        best: tuple[str, dict[str, Any]] | None = None
        for name in candidates:
            manifest = self._json(name)
            info = manifest["runInfo"]
            if _instant(info.get("startDate")).date().replace(day=1) != month:
                continue
            if best is None or _instant(info.get("submittedTime")) > _instant(best[1]["runInfo"].get("submittedTime")):
                best = (name, manifest)
        if best is None or _instant(best[1]["runInfo"].get("submittedTime")) < run.submitted_time:
            where = best[0] if best else f"{token.strip('/')}/manifest.json"
            raise MalformedRecord(self.source, where, "runInfo.submittedTime",
                                  f"the run of {run.submitted_time:%Y-%m-%d %H:%M} UTC completed but no manifest "
                                  "of it is in the container")
        return best

    def _json(self, name: str) -> dict[str, Any]:
        try:
            content = self._download(name)
        except ResourceNotFoundError:
            raise MalformedRecord(self.source, name, "content", "listed, but gone when downloaded") from None
        try:
            manifest = json.loads(content)
        except ValueError:
            raise MalformedRecord(self.source, name, "content", "not JSON") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("runInfo"), dict) \
                or not isinstance(manifest.get("blobs"), list):
            raise MalformedRecord(self.source, name, "blobs", "a manifest needs runInfo and blobs")
        return manifest

    def _download(self, name: str) -> bytes:
        return self._storage(f"download {name}", lambda: self._container.download_blob(name).readall())

    def _read_partitions(self, manifest_name: str, manifest: dict[str, Any], export_format: str,
                         found: ExportUsage) -> list[MalformedRecord]:
        """Read every blob the manifest names into ``found``; a broken one is reported and skipped whole."""
        file_format = str((manifest.get("deliveryConfig") or {}).get("fileFormat") or export_format)
        if self.file_format is not None and file_format.lower() != self.file_format.lower():
            return [MalformedRecord(self.source, manifest_name, "deliveryConfig.fileFormat",
                                    f"{file_format}, but the source is configured for {self.file_format}")]
        errors: list[MalformedRecord] = []
        for index, blob in enumerate(manifest["blobs"]):
            field = f"blobs[{index}].blobName"
            name = blob.get("blobName") if isinstance(blob, dict) else None
            try:
                if not isinstance(name, str) or not name.strip():
                    raise MalformedRecord(self.source, manifest_name, field, f"not a blob name: {name!r}")
                try:
                    content = self._download(name.strip())
                except ResourceNotFoundError:
                    raise MalformedRecord(self.source, manifest_name, field,
                                          f"names {name.strip()}, which is not in the container") from None
                found.add_partition(name, partition_rows(self.source, name, content, file_format))
            except MalformedRecord as bad:
                log.warning("%s", bad)
                errors.append(bad)
        return errors


def _text(value: Any) -> str:
    """An SDK enum member or plain string as its wire text."""
    return str(getattr(value, "value", value) or "")


def _instant(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

