"""Usage rows: one day of consumption per (source, row key), replaced when the source restates the day; with the
Parquet usage store, the manifest of its files instead (one row per file, replaced with the file)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from ledger.models import UsageFile, UsageFileSet, UsageRow
from ledger.repositories.base import Repository, chunks, insert_if_missing
from ledger.repositories.bulk_insert import merge_by_key

if TYPE_CHECKING:  # the Parquet store's module imports pyarrow, which only the store's users need
    from ledger.usage_files import StoredFile

COMPARED = ("tenant_id", "customer_id", "subscription_id", "subscription_external_id", "usage_date", "meter_id",
            "meter_name", "meter_category", "resource_group", "resource_location", "tags", "quantity", "cost",
            "currency")


@dataclass(frozen=True)
class ReplaceCounts:
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


class UsageRepository(Repository):
    def replace_window(
        self, source: str, first: dt.date, last: dt.date, rows: Sequence[dict[str, Any]], sync_run_id: int | None,
        keep_missing: bool = False,
    ) -> ReplaceCounts:
        """Make the source's rows dated ``first``..``last`` (inclusive) exactly ``rows`` (with ``keep_missing``: insert
        and update only, removing nothing).

        Why not delete-and-insert: a re-run of the same night must store nothing new, and rows that did not change
        keep their ids; a day the source no longer reports loses its rows instead of keeping stale ones. A read that
        refused part of what it was sent (a broken export file) has not seen those days, so it keeps what is stored.
        """
        table = UsageRow.__table__
        existing = {
            row.row_key: row
            for row in self.session.execute(
                select(table).where(table.c.source == source, table.c.usage_date.between(first, last))
            )
        }
        inserted, updated, unchanged = merge_by_key(self.session, table, rows, existing, "row_key", COMPARED,
                                                    {"source": source, "sync_run_id": sync_run_id})
        if existing and not keep_missing:
            ids = [row.id for row in existing.values()]
            for chunk in chunks(ids):
                self.session.execute(delete(table).where(self.one_of(table.c.id, chunk)))
        return ReplaceCounts(inserted, updated, 0 if keep_missing else len(existing), unchanged)

    def for_tenant(self, tenant_id: int, first: dt.date, last: dt.date) -> Sequence[UsageRow]:
        return self.session.scalars(
            select(UsageRow)
            .where(UsageRow.tenant_id == tenant_id, UsageRow.usage_date.between(first, last))
            .order_by(UsageRow.usage_date, UsageRow.id)
        ).all()

    def record_file(self, tenant_id: int, source: str, usage_date: dt.date, stored: StoredFile,
                    sync_run_id: int | None) -> UsageFile:
        """Note a written usage file in the manifest; a file written again (same path) replaces its row."""
        row = self.session.scalars(select(UsageFile).where(UsageFile.path == stored.path)).one_or_none()
        if row is None:
            row = UsageFile(tenant_id=tenant_id, source=source, path=stored.path)
            self.session.add(row)
        row.month, row.usage_date = usage_date.replace(day=1), usage_date
        row.sha256, row.rows, row.sync_run_id = stored.sha256, stored.rows, sync_run_id
        self.session.flush()
        return row

    def files(self, tenant_id: int, first: dt.date, last: dt.date) -> Sequence[UsageFile]:
        """The manifest rows of the tenant's usage files of days ``first``..``last`` (inclusive), by path."""
        return self.session.scalars(
            select(UsageFile)
            .where(UsageFile.tenant_id == tenant_id, UsageFile.usage_date.between(first, last))
            .order_by(UsageFile.path)
        ).all()

    def file_set(self, tenant_id: int, month: dt.date, files: Sequence[UsageFile]) -> int:
        """The id of the usage file set of ``files`` (manifest rows of the tenant's usage ``month``) as they are now:
        stored once per distinct content (``UsageFileSet``), so the same files give the same id on every build."""
        listed = [[row.path, row.sha256, row.rows] for row in sorted(files, key=lambda row: row.path)]
        digest = hashlib.sha256(json.dumps([tenant_id, month.isoformat(), listed]).encode()).hexdigest()
        insert_if_missing(self.session, UsageFileSet, tenant_id=tenant_id, month=month, digest=digest, files=listed)
        return self.session.scalars(select(UsageFileSet.id).where(UsageFileSet.digest == digest)).one()
