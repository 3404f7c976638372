"""Database triggers that count every change to a legal entity's mutations (``mutation_revisions``).

Why: the batch page's vendor counts depend on every mutation of the legal entity (the dating reads their kind,
status, dates and quantities), and the page checks on each view whether the figure stored by the build still holds.
Hashing the mutations for that check read every one of them: about 3 s per view at 300,000, and the table only
grows. A counter raised by the database on every insert, update and delete answers the same question in one read,
and no writer can forget it: the desk, provisioning, reconciliation and a stray SQL statement alike.

The counter is a row per legal entity, upserted in the writer's transaction, so its value orders the commits (a
largest id would not: ids are drawn before commit). PostgreSQL raises it once per statement and legal entity
(transition tables); SQLite, which has no statement triggers, once per row. A SQLite table rebuilt by a migration
(Alembic batch mode) loses its triggers: a migration that rebuilds ``mutations`` must call ``create`` again.
"""

from __future__ import annotations

from sqlalchemy import Connection

TABLE, COUNTER = "mutations", "mutation_revisions"
EVENTS = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}  # the rows whose legal entity is counted
RAISED = f"ON CONFLICT (tenant_id) DO UPDATE SET revision = {COUNTER}.revision + 1"  # a new row starts at 1


def create(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for event, rows in EVENTS.items():
            name = f"{TABLE}_revision_{event}"
            tenants = " UNION ".join(f"SELECT tenant_id FROM {row.lower()}_rows" for row in rows)
            connection.exec_driver_sql(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"INSERT INTO {COUNTER} (tenant_id, revision) SELECT tenant_id, 1 FROM ({tenants}) AS changed "
                f"{RAISED}; RETURN NULL; END; $$ LANGUAGE plpgsql")
            tables = " ".join(f"{row} TABLE AS {row.lower()}_rows" for row in rows)
            connection.exec_driver_sql(f"CREATE TRIGGER {name} AFTER {event.upper()} ON {TABLE} REFERENCING {tables} "
                                       f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
        return
    for event, rows in EVENTS.items():
        body = " ".join(f"INSERT INTO {COUNTER} (tenant_id, revision) VALUES ({row}.tenant_id, 1) {RAISED};"
                        for row in rows)
        connection.exec_driver_sql(f"CREATE TRIGGER {TABLE}_revision_{event} AFTER {event.upper()} ON {TABLE} "
                                   f"BEGIN {body} END")


def drop(connection: Connection) -> None:
    for event in EVENTS:
        name = f"{TABLE}_revision_{event}"
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {TABLE}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
