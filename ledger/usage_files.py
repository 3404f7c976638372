"""Usage rows kept on disk as partitioned Parquet files, for resellers whose usage does not fit in memory.

Why files beside the ledger: a month of Azure usage of a large reseller is hundreds of millions of rows; the ledger
table would hold them, but rating them means reading them all into one process. Parquet files, partitioned by
tenant and month (``tenant=<code>/month=<yyyy-mm>/<name>.parquet``), are read column by column by a query engine
(``ledger.usage_sums``) in bounded memory.

Every file is written whole or not at all: to a temporary name in the same folder, flushed to disk, then renamed
over its final name. A file is named after the source run that wrote it (source and day), so writing the same run
again replaces the file and never doubles its rows; :class:`StoredFile` gives its sha256 and row count for the
manifest the caller keeps.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

import pyarrow as pa
import pyarrow.parquet as pq

# The columns every usage file has; grouping may also use tag columns ``tag_<name>`` (text, empty as null).
COLUMNS: dict[str, pa.DataType] = {
    "row_id": pa.string(),
    "customer": pa.string(),
    "subscription": pa.string(),
    "resource_group": pa.string(),
    "meter": pa.string(),
    "meter_category": pa.string(),
    "currency": pa.string(),
    "cost_units": pa.int64(),
}
# What the sync adds so a line can be described and explained without the ledger table (all optional).
DETAILS: dict[str, pa.DataType] = {
    "usage_date": pa.date32(),
    "customer_id": pa.int64(),
    "subscription_id": pa.int64(),
    "subscription_external_id": pa.string(),
    "meter_name": pa.string(),
    "resource_location": pa.string(),
    "quantity": pa.string(),  # exact decimal text
    "tags": pa.string(),  # JSON object
}
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class StoredFile:
    """One written usage file: its path relative to the store's root, content hash and row count."""

    path: str
    sha256: str
    rows: int


def partition(tenant: str, month: dt.date, name: str) -> str:
    """The relative path of a usage file: ``tenant=<code>/month=<yyyy-mm>/<name>.parquet`` (unsafe characters of
    the tenant code and name become ``_``)."""
    return f"tenant={_SAFE.sub('_', tenant)}/month={month:%Y-%m}/{_SAFE.sub('_', name)}.parquet"


def usage_table(columns: dict[str, list[object]]) -> pa.Table:
    """A usage table with :data:`COLUMNS` typed as the store requires, plus any of :data:`DETAILS` and any
    ``tag_<name>`` text columns; a missing column or a column of another name is a ``ValueError`` naming it."""
    types = {**COLUMNS, **DETAILS}
    missing = [name for name in COLUMNS if name not in columns]
    extra = [name for name in columns if name not in types and not name.startswith("tag_")]
    if missing or extra:
        raise ValueError(f"usage file columns: missing {missing or 'none'}, unknown {extra or 'none'}")
    arrays = {name: pa.array(values, type=types.get(name, pa.string())) for name, values in columns.items()}
    if arrays["currency"].null_count:
        raise ValueError("usage file column currency: rows without a currency")
    return pa.table(arrays)


def write_file(root: Path, relative: str, table: pa.Table) -> StoredFile:
    """Write ``table`` to ``root/relative`` atomically (temporary file, fsync, rename) and describe it."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, temporary, compression="snappy")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        digest = file_sha256(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return StoredFile(relative, digest, table.num_rows)


class ParquetWriter:
    """Writes one large usage file in row groups (for imports and benchmarks that cannot hold it whole), with the
    same atomic rename as :func:`write_file`."""

    def __init__(self, root: Path, relative: str, schema: pa.Schema) -> None:
        self.relative = relative
        self._target = root / relative
        self._target.parent.mkdir(parents=True, exist_ok=True)
        self._temporary = self._target.with_name(f".{self._target.name}.{os.getpid()}.tmp")
        self._writer = pq.ParquetWriter(self._temporary, schema, compression="snappy")
        self._rows = 0

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self._rows += table.num_rows

    def close(self) -> StoredFile:
        self._writer.close()
        try:
            digest = file_sha256(self._temporary)
            os.replace(self._temporary, self._target)
        finally:
            self._temporary.unlink(missing_ok=True)
        return StoredFile(self.relative, digest, self._rows)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def holds_sha256(path: Path, sha256: str) -> bool:
    """Whether ``path`` is a file and its bytes hash to ``sha256`` (what the manifest recorded).

    Why remembered per process while the file stays the same inode with the same size and change times: a build in
    ranges of customers, and a Dask worker rating several, checks the month's files for every range, and hashing
    gigabytes once per range cost more than rating them. Any write changes the times (the change time cannot be set
    back), and a file renamed over it is another inode."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    if not S_ISREG(stat.st_mode):
        return False
    return _hashes_to(str(path), sha256, (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))


@functools.lru_cache(maxsize=4096)
def _hashes_to(path: str, sha256: str, _version: tuple[int, int, int, int]) -> bool:
    return file_sha256(Path(path)) == sha256
