"""The nightly sync: every configured source read completely, its licences, usage and costs stored in the ledger."""

from services.sync.context import IngestContext
from services.sync.ingest import store_pull
from services.sync.run import SourceRunReport, SyncReport, sync
from services.sync.runs import SyncRunRow, last_sync_runs
from services.sync.sources import OpenSource, SourcePull, open_source

__all__ = [
    "IngestContext",
    "OpenSource",
    "SourcePull",
    "SourceRunReport",
    "SyncReport",
    "SyncRunRow",
    "last_sync_runs",
    "open_source",
    "store_pull",
    "sync",
]
