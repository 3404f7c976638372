"""Acknowledgements of a draft batch's findings: who accepted which finding, when and why, before approval.

Why stored with the finding's fingerprint: the findings themselves are computed afresh from the batch each time
(they follow the data), but an acknowledgement is a person's decision about the facts they saw; when a rebuild
changes those facts the fingerprint no longer matches and the finding blocks again. Rows are never changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
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
