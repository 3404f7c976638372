"""The nightly sync: every configured source read completely, its licences, usage and costs stored in the ledger."""

from services.sync.context import IngestContext
from services.sync.fx import FxRateView, list_fx, sync_fx
from services.sync.ingest import store_pull
from services.sync.run import SourceRunReport, SyncReport, sync
from services.sync.runs import SyncRunRow, close_abandoned_sync_runs, last_sync_runs
from services.sync.sources import OpenSource, SourcePull, open_source
from services.sync.vat_checks import VatCheckReport, recheck_vat_ids

__all__ = [
    "FxRateView",
    "IngestContext",
    "OpenSource",
    "SourcePull",
    "SourceRunReport",
    "SyncReport",
    "SyncRunRow",
    "VatCheckReport",
    "close_abandoned_sync_runs",
    "last_sync_runs",
    "list_fx",
    "open_source",
    "recheck_vat_ids",
    "store_pull",
    "sync",
    "sync_fx",
]
