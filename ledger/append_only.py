"""Database triggers that keep the past as it was, so not even a stray SQL statement rewrites it.

Two kinds of protection, on SQLite and PostgreSQL alike:

- **Append-only** tables (snapshots, audit events): every UPDATE and DELETE is refused.
- **Sealed** rows (approved batches, numbered invoices, the lines of those invoices): once a row is sealed it
  cannot be deleted, nothing can be added under it, and an UPDATE is refused unless it changes only the columns
  the product still legitimately moves afterwards, in the allowed direction (``SEALS`` lists them; today only the
  export moving ``status`` from ``approved`` to ``exported``). Drafts stay freely editable: a rebuild rewrites them.

On PostgreSQL a sealed row is compared as a whole (``to_jsonb(NEW)`` minus the allowed columns), so a column added
later is protected without touching the triggers. SQLite has no such row value: its triggers name the columns the
table has when they are created, and a SQLite table rebuilt by a migration (Alembic batch mode) loses its triggers.
A migration that adds a column to, or rebuilds, a sealed table must therefore call ``unseal`` and ``seal`` again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, inspect


class AppendOnlyViolation(Exception):
    """Raised by the repositories before the database would refuse the statement."""


def create(connection: Connection, tables: Iterable[str]) -> None:
    for table in tables:
        for statement in _create_statements(connection.dialect.name, table):
            connection.exec_driver_sql(statement)


def drop(connection: Connection, tables: Iterable[str]) -> None:
    for table in tables:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        else:
            for op in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


def _create_statements(dialect: str, table: str) -> list[str]:
    message = f"{table} is append-only"
    if dialect == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}'; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_{op} BEFORE {op.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        for op in ("update", "delete")
    ]


# --- sealed rows ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parent:
    """The row a sealed row belongs to: its foreign key, the parent table, and when the parent is sealed (SQL over
    ``{row}``, the parent row)."""

    column: str
    table: str
    sealed: str

    def sealed_for(self, row: str) -> str:
        condition = self.sealed.format(row="p")
        return f"EXISTS (SELECT 1 FROM {self.table} p WHERE p.id = {row}.{self.column} AND ({condition}))"


@dataclass(frozen=True)
class Seal:
    """When a table's rows become immutable, what may still change, and under which parent nothing may be added.

    ``sealed`` is SQL over ``{row}`` (``None``: the row is sealed when its parent is); ``may_change`` maps a column
    to the SQL condition (over ``OLD`` and ``NEW``) under which a sealed row's column may still change.
    """

    table: str
    what: str  # for the refusal: "an approved batch"
    sealed: str | None = None
    may_change: Mapping[str, str] = field(default_factory=dict)
    parent: Parent | None = None

    def sealed_for(self, row: str) -> str:
        if self.sealed is not None:
            return f"({self.sealed.format(row=row)})"
        assert self.parent is not None
        return self.parent.sealed_for(row)

    @property
    def message(self) -> str:
        return f"{self.table} is sealed: {self.what} cannot be changed or deleted"


APPROVED_BATCH = "{row}.status <> 'draft'"
NUMBERED_INVOICE = "{row}.status <> 'draft' OR {row}.number IS NOT NULL"
# The one change after approval the product makes: the export marks what reached the ERP (services/export/outbox.py).
EXPORTED = "OLD.status = 'approved' AND NEW.status = 'exported'"

SEALS = (
    Seal("batches", "an approved batch", APPROVED_BATCH, {"status": EXPORTED}),
    Seal("invoices", "a numbered invoice", NUMBERED_INVOICE, {"status": EXPORTED},
         Parent("batch_id", "batches", APPROVED_BATCH)),
    Seal("invoice_lines", "a line of a numbered invoice", parent=Parent("invoice_id", "invoices", NUMBERED_INVOICE)),
)


def seal(connection: Connection, seals: Iterable[Seal] = SEALS) -> None:
    """Create the triggers of ``seals`` (SQLite: for the columns the tables have now)."""
    for spec in seals:
        if connection.dialect.name == "postgresql":
            statements = _postgres_seal(spec)
        else:
            columns = [column["name"] for column in inspect(connection).get_columns(spec.table)]
            statements = _sqlite_seal(spec, columns)
        for statement in statements:
            connection.exec_driver_sql(statement)


def unseal(connection: Connection, seals: Iterable[Seal] = SEALS) -> None:
    for spec in seals:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {spec.table}_sealed ON {spec.table}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {spec.table}_sealed()")
        else:
            for op in ("update", "delete", "insert", "move"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {spec.table}_sealed_{op}")


def _sqlite_seal(spec: Seal, columns: list[str]) -> list[str]:
    allowed = " AND ".join(
        f"(NEW.{c} IS OLD.{c} OR ({spec.may_change[c]}))" if c in spec.may_change else f"NEW.{c} IS OLD.{c}"
        for c in columns)
    refuse = f"BEGIN SELECT RAISE(ABORT, '{spec.message}'); END"
    statements = [
        f"CREATE TRIGGER {spec.table}_sealed_update BEFORE UPDATE ON {spec.table} "
        f"WHEN {spec.sealed_for('OLD')} AND NOT ({allowed}) {refuse}",
        f"CREATE TRIGGER {spec.table}_sealed_delete BEFORE DELETE ON {spec.table} WHEN {spec.sealed_for('OLD')} "
        f"{refuse}",
    ]
    if spec.parent is not None:
        key = spec.parent.column
        statements += [
            f"CREATE TRIGGER {spec.table}_sealed_insert BEFORE INSERT ON {spec.table} "
            f"WHEN {spec.parent.sealed_for('NEW')} {refuse}",
            f"CREATE TRIGGER {spec.table}_sealed_move BEFORE UPDATE OF {key} ON {spec.table} "
            f"WHEN NEW.{key} IS NOT OLD.{key} AND {spec.parent.sealed_for('NEW')} {refuse}",
        ]
    return statements


def _postgres_seal(spec: Seal) -> list[str]:
    moving = ", ".join(f"'{c}'" for c in spec.may_change)
    unchanged = (f"(to_jsonb(NEW) - ARRAY[{moving}]::text[]) = (to_jsonb(OLD) - ARRAY[{moving}]::text[])"
                 if moving else "to_jsonb(NEW) = to_jsonb(OLD)")
    allowed = " AND ".join([unchanged, *(f"(NEW.{c} IS NOT DISTINCT FROM OLD.{c} OR ({condition}))"
                                         for c, condition in spec.may_change.items())])
    refuse = f"RAISE EXCEPTION '{spec.message} ({spec.table}.id %%)', OLD.id;"
    body = [
        "IF TG_OP = 'DELETE' THEN",
        f"  IF {spec.sealed_for('OLD')} THEN {refuse} END IF;",
        "  RETURN OLD;",
        "END IF;",
        "IF TG_OP = 'UPDATE' THEN",
        f"  IF {spec.sealed_for('OLD')} AND NOT ({allowed}) THEN {refuse} END IF;",
        "END IF;",
    ]
    operations = "UPDATE OR DELETE"
    if spec.parent is not None:
        key, operations = spec.parent.column, "INSERT OR UPDATE OR DELETE"
        into = f"RAISE EXCEPTION '{spec.message} ({spec.parent.table}.id %%)', NEW.{key};"
        body += [
            "IF TG_OP = 'INSERT' THEN",
            f"  IF {spec.parent.sealed_for('NEW')} THEN {into} END IF;",
            f"ELSIF NEW.{key} IS DISTINCT FROM OLD.{key} AND {spec.parent.sealed_for('NEW')} THEN",
            f"  {into}",
            "END IF;",
        ]
    body.append("RETURN NEW;")
    return [
        f"CREATE OR REPLACE FUNCTION {spec.table}_sealed() RETURNS trigger AS $$ BEGIN {' '.join(body)} END; $$ "
        f"LANGUAGE plpgsql",
        f"CREATE TRIGGER {spec.table}_sealed BEFORE {operations} ON {spec.table} "
        f"FOR EACH ROW EXECUTE FUNCTION {spec.table}_sealed()",
    ]
