"""The shape every repository shares: it works inside the caller's session (the unit of work owns the transaction)."""

from __future__ import annotations

from sqlalchemy.orm import Session


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session
