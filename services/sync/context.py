"""Where a pull lands and what its run counted: shared by the ingest of customers, licences, usage and costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class IngestContext:
    """Where a pull lands: the ledger's source name, its legal entity and the night it describes; with
    ``usage_store`` (config ``usage.store: parquet``) usage rows go to Parquet files under that folder."""

    source: str
    tenant_id: int
    zone: ZoneInfo
    as_of: dt.datetime
    run_id: int | None
    usage_store: Path | None = None

    @property
    def observed_on(self) -> dt.date:
        return self.as_of.astimezone(self.zone).date()


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.values[name] = self.values.get(name, 0) + amount
