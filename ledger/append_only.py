"""Database triggers that make history tables append-only, so not even a stray SQL statement rewrites the past."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection


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
