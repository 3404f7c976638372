"""What finance reviews of a batch, kept in the ledger: acknowledgements of a draft's findings, and the review
figures a build works out ahead of the batch page.

Acknowledgements (``FindingAck``): who accepted which finding, when and why, before approval. Stored with the
finding's fingerprint: the findings are computed from the ledger, but an acknowledgement is a person's decision
about the facts they saw; when a rebuild changes those facts the fingerprint no longer matches and the finding blocks
again. Rows are never changed.

Prepared review figures (``BatchCheck``, ``BatchChange``): at hundreds of thousands of invoices the month-on-month
change per customer and subscription and the vendor-count walk take seconds each, too slow for a page. The build
works them out once and stores them with the state of the ledger they were worked out from (``BatchCheck.inputs``);
a reader uses them only while that state still holds, and otherwise works them out live (``services.batches
.prepared``). The changes are kept as integer 10^-4 units (``ledger.repositories.sums``), so they sort in SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class FindingAck(Base):
    __tablename__ = "finding_acks"
    __table_args__ = (UniqueConstraint("batch_id", "fingerprint"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    finding_id: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    sentence: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    acknowledged_by: Mapped[str] = mapped_column(String(40))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    auth: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # how the person signed in (Actor.authentication)


class BatchCheck(Base):
    """A review figure of a batch worked out at build time (``kind``: ``changes``, ``vendor_counts``), with the
    fingerprint of the ledger state it holds for (``inputs``) and its result."""

    __tablename__ = "batch_checks"
    __table_args__ = (UniqueConstraint("batch_id", "kind"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    kind: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[str] = mapped_column(String(200))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BatchChange(Base):
    """A customer's or subscription's net in one currency that differs between a batch and the batch before it
    (``now_units``/``before_units``: 10^-4 units, ``None`` where it had no line), stored by the build: the largest
    of each view, with the ties at the cut (``services.batches.prepared.STORED_CHANGES``), as the page lists them."""

    __tablename__ = "batch_changes"
    __table_args__ = (Index("ix_batch_changes_largest", "batch_id", "per", "delta_units"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    per: Mapped[str] = mapped_column(String(12))  # customer, subscription
    key: Mapped[int | None] = mapped_column(Integer)  # customer or subscription id; None: usage without one
    currency: Mapped[str] = mapped_column(String(3))
    now_units: Mapped[int | None] = mapped_column(BigInteger)
    before_units: Mapped[int | None] = mapped_column(BigInteger)
    delta_units: Mapped[int] = mapped_column(BigInteger)  # |now − before|: the page lists the largest
