"""The unit of work: one transaction around one use case, owning the session and the repositories.

A use case does ``with UnitOfWork(engine, write=True) as uow: ...``; leaving the block normally commits, an exception
rolls everything back, so a failure never leaves half-written data. ``write=True`` takes SQLite's write lock at BEGIN
(``BEGIN IMMEDIATE``), so concurrent writers queue instead of failing mid-way; PostgreSQL uses row locks instead.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.db import SQLITE_BEGIN_OPTION
from ledger.repositories import REPOSITORIES


class UnitOfWork:
    def __init__(self, engine: Engine, write: bool = False) -> None:
        bind = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE" if write else "DEFERRED"})
        self._bind = bind
        self.session: Session | None = None
        self._repos: dict[str, Any] = {}

    def __enter__(self) -> UnitOfWork:
        self.session = Session(bind=self._bind, expire_on_commit=False, autoflush=True)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.session is not None
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()
            self._repos.clear()

    def flush(self) -> None:
        assert self.session is not None
        self.session.flush()

    def __getattr__(self, name: str) -> Any:
        repository = REPOSITORIES.get(name)
        if repository is None:
            raise AttributeError(name)
        if self.session is None:
            raise RuntimeError("use the unit of work inside a with-block")
        if name not in self._repos:
            self._repos[name] = repository(self.session)
        return self._repos[name]
