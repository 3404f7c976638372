"""Tamper-evident audit trail and sealed billing records

Revision ID: 0010_audit_chain
Revises: 0009_sessions

Why: an auditor accepts a trail only if rewriting it shows. Every audit event becomes a link of a hash chain per
legal entity (``chain``, ``seq``, ``prev_hash``, ``hash``; heads in ``audit_chains``), and carries the real
wall-clock time it was written (``recorded_at``) next to ``at``, the services' instant. Existing events are
chained in id order; until now ``at`` was the wall-clock time the row was written, so it is their ``recorded_at``
too. Approved batches, numbered invoices and their lines become sealed by triggers (``ledger.append_only``).
"""

from collections.abc import Sequence
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from ledger import append_only
from ledger.audit_chain import GENESIS, chain_of, event_hash
from ledger.types import UtcDateTime

revision: str = "0010_audit_chain"
down_revision: str | Sequence[str] | None = "0009_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT = ("audit_events",)
NEW_COLUMNS = (("recorded_at", UtcDateTime()), ("chain", sa.String(length=40)), ("seq", sa.Integer()),
               ("prev_hash", sa.String(length=64)), ("hash", sa.String(length=64)))


def upgrade() -> None:
    bind = op.get_bind()
    append_only.drop(bind, AUDIT)
    for name, type_ in NEW_COLUMNS:
        op.add_column("audit_events", sa.Column(name, type_, nullable=True))
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chains")),
    )
    _chain_existing_events(bind)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for name, type_ in NEW_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_chain_seq"), ["chain", "seq"])
    append_only.create(bind, AUDIT)
    append_only.seal(bind)


def _chain_existing_events(bind: sa.Connection) -> None:
    events = sa.table(
        "audit_events", sa.column("id", sa.Integer()), sa.column("at", UtcDateTime()),
        sa.column("actor", sa.String()), sa.column("action", sa.String()), sa.column("tenant_id", sa.Integer()),
        sa.column("entity", sa.String()), sa.column("entity_id", sa.String()), sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()), sa.column("detail", sa.Text()), sa.column("recorded_at", UtcDateTime()),
        sa.column("chain", sa.String()), sa.column("seq", sa.Integer()), sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    heads: dict[str, tuple[int, str]] = {}
    for row in bind.execute(sa.select(events).order_by(events.c.id)).all():
        chain = chain_of(row.tenant_id)
        seq, prev = heads.get(chain, (0, GENESIS))
        linked = SimpleNamespace(**{**row._asdict(), "recorded_at": row.at, "chain": chain, "seq": seq + 1})
        heads[chain] = (seq + 1, event_hash(linked, prev))
        bind.execute(sa.update(events).where(events.c.id == row.id).values(
            recorded_at=row.at, chain=chain, seq=seq + 1, prev_hash=prev, hash=heads[chain][1]))
    if heads:
        chains = sa.table("audit_chains", sa.column("chain", sa.String()), sa.column("last_seq", sa.Integer()),
                          sa.column("last_hash", sa.String()))
        bind.execute(sa.insert(chains), [{"chain": chain, "last_seq": seq, "last_hash": last}
                                         for chain, (seq, last) in heads.items()])


def downgrade() -> None:
    bind = op.get_bind()
    append_only.unseal(bind)
    append_only.drop(bind, AUDIT)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_chain_seq"), type_="unique")
        for name, _ in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
    op.drop_table("audit_chains")
    append_only.create(bind, AUDIT)
