"""What the vendors said: sync runs, licence snapshots (append-only), daily usage rows and the cost lines the
reseller was billed, each kept as delivered with the run that read it.

Why together: this is the vendor's view of reconciliation, written only by the nightly sync.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class SyncRun(Base):
    """One read of one source: when, how much, and whether it completed (an incomplete run is no truth)."""

    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    as_of: Mapped[dt.datetime]  # the instant the source was read "as of" (the night)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    # running, succeeded, partial, failed, abandoned (its process died: finished_at says when it was found, error why)
    status: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str | None] = mapped_column(String(100))  # 0012: host:pid:token of the process running it


class Snapshot(Base):
    """What the vendor said about a subscription at a moment. Append-only: history is never rewritten."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_subscription_observed", "subscription_id", "observed_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    observed_at: Mapped[dt.datetime]
    observed_on: Mapped[dt.date] = mapped_column(Date)  # billing day of observed_at in the tenant's zone
    quantity: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[str] = mapped_column(String(200))
    unit_cost: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw_hash: Mapped[str] = mapped_column(String(64))
    state_hash: Mapped[str | None] = mapped_column(String(64))  # hash of the billing-relevant state (sync compares it)


class UsageRow(Base):
    """One day of consumption from a source, replaced (never appended) when the source restates the day."""

    __tablename__ = "usage_rows"
    __table_args__ = (
        UniqueConstraint("source", "row_key"),
        Index("ix_usage_rows_tenant_date", "tenant_id", "usage_date"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    source: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(String(200))
    subscription_external_id: Mapped[str] = mapped_column(String(200))
    usage_date: Mapped[dt.date] = mapped_column(Date)
    meter_id: Mapped[str] = mapped_column(String(200))
    meter_name: Mapped[str] = mapped_column(String(300))
    meter_category: Mapped[str] = mapped_column(String(200))
    resource_group: Mapped[str | None] = mapped_column(String(300))
    resource_location: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quantity: Mapped[Decimal]
    cost: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CostLine(Base):
    """What the vendor billed the reseller (recon line, distributor invoice item), stored exactly as delivered."""

    __tablename__ = "cost_lines"
    __table_args__ = (UniqueConstraint("source", "line_id"),
                      Index("ix_cost_lines_tenant_start", "tenant_id", "charge_start"))  # 0033: a month's costs
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    line_id: Mapped[str] = mapped_column(String(200))
    customer_external_id: Mapped[str] = mapped_column(String(200))
    subscription_external_id: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(String(200))
    charge_type: Mapped[str] = mapped_column(String(40))
    charge_start: Mapped[dt.date] = mapped_column(Date)
    charge_end: Mapped[dt.date] = mapped_column(Date)  # inclusive
    quantity: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    subtotal: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    reference_id: Mapped[str | None] = mapped_column(String(200))
    invoice_id: Mapped[str | None] = mapped_column(String(100))
    billing_type: Mapped[str | None] = mapped_column(String(16))  # license, one_time, trial; None = not stated
    order_id: Mapped[str | None] = mapped_column(String(200))
    ordered_on: Mapped[dt.date | None] = mapped_column(Date)  # the day the order (purchase or refund) was placed
    product_name: Mapped[str | None] = mapped_column(String(300))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))


class UsageFile(Base):
    """The manifest of the Parquet usage store (``ledger.usage_files``): one row per file, replaced with the file.

    Why: the files live outside the database, so the ledger keeps what each holds (its sha256 and row count) and
    which run wrote it. A file re-written by a later run replaces its row, so the month's rows are counted once.
    """

    __tablename__ = "usage_files"
    __table_args__ = (UniqueConstraint("path"), Index("ix_usage_files_tenant_month", "tenant_id", "month"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    source: Mapped[str] = mapped_column(String(40))
    month: Mapped[dt.date] = mapped_column(Date)
    usage_date: Mapped[dt.date] = mapped_column(Date)
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int]
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))
    written_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UsageFileSet(Base):
    """The usage files a month of a build's usage lines was summed from, as they were then: path, sha256 and rows each.

    Why: a usage line's lineage names its inputs, and a usage month of the Parquet store is every day file of it:
    31 names of about 70 characters on each of hundreds of thousands of lines, over a gigabyte of lineage a month at
    scale. The set is stored once and a line names it (``usage_file_set:<id>``). Its ``digest`` covers the legal
    entity, the month and every file's path, sha256 and rows, so the same files give the same set and a rebuild
    leaves its lines as they are. Append-only: it records what billed lines were computed from, while a manifest
    row (``usage_files``) is replaced when its file is written again."""

    __tablename__ = "usage_file_sets"
    __table_args__ = (UniqueConstraint("digest"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    month: Mapped[dt.date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(64))
    files: Mapped[list[Any]]  # [[path, sha256, rows], ...] by path
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
