"""The shape every repository shares: it works inside the caller's session (the unit of work owns the transaction).

Also the one way to create a lockable row that concurrent writers may both try to create (invoice-number
counters, audit chain heads).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


def insert_if_missing(session: Session, model: type[Any], **values: Any) -> None:
    """Insert the row unless its key exists (``ON CONFLICT DO NOTHING``): a concurrent creator waits on the unique
    key and then finds the row, so the caller can lock it with ``SELECT ... FOR UPDATE`` either way."""
    builder = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(builder(model).values(**values).on_conflict_do_nothing())
