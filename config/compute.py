"""The ``compute`` section of config.yaml: where the month-end build rates its partitions.

Why apart from the rest of the schema: it names a Dask cluster (an address outside the ledger and the vendors), and
how finely a legal entity's customers are split for it.
"""

from __future__ import annotations

from pydantic import Field

from config.base import Strict


class Compute(Strict):
    """Without ``dask_scheduler`` the build rates a legal entity on this machine, in ranges of at most
    ``partition_customers`` customers (bounding memory): one after the other in this process, or with ``processes``
    above 1 by that many worker processes of this machine (a Dask ``LocalCluster`` started for the build) while
    this process stores each. With it (for example
    ``tcp://10.0.0.5:8786``), the customers are split into ``partitions`` ranges (default: eight per worker thread of
    the cluster), each read from the ledger and rated on a Dask worker; this process stores each range's lines as
    they come back. The draft is the same either way."""

    dask_scheduler: str | None = Field(None, pattern=r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")
    partitions: int | None = Field(None, ge=1, le=100_000)
    partition_customers: int = Field(50_000, ge=1)
    processes: int = Field(1, ge=1, le=256)  # worker processes of this machine rating partitions (1: this process)
    connect_timeout_seconds: int = Field(30, ge=1)  # reaching the scheduler; past it the build fails, unwritten
    timeout_seconds: int = Field(3600, ge=1)  # a partition not back by then fails the build (nothing is written)
