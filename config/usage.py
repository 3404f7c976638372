"""The ``usage`` section of config.yaml: where the nightly sync keeps Azure usage rows.

Why apart from the rest of the schema: the store decides both what the sync writes and what the month-end build
reads, and the Parquet store brings its own folder and memory bound for DuckDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from config.base import Strict


class UsageStore(Strict):
    """Where the nightly sync keeps usage rows: the ledger table (default) or partitioned Parquet files that the
    month-end batch rates out of core with DuckDB within ``memory_limit`` (issue 20)."""

    store: Literal["ledger", "parquet"] = "ledger"
    parquet_dir: str = "var/usage"  # relative to the config file's folder
    memory_limit: str = Field("1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")

    def root(self, base_dir: Path) -> Path | None:
        """The store's folder when usage goes to Parquet, else ``None``."""
        return (base_dir / self.parquet_dir).resolve() if self.store == "parquet" else None
