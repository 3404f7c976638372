"""The notification outbox's rows: queued once per event and recipient, claimed before every send.

Why ``insert_if_missing`` for queueing: the event key with the recipient is unique, so an event raised again (a
rebuild without changes, a second reconcile run, two runs at once) adds nothing and fails nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select

from ledger.models import Notification, Tenant
from ledger.repositories.base import Repository, claim_row, insert_if_missing

DUE = ("queued", "sending")


class NotificationRepository(Repository):
    def get(self, notification_id: int) -> Notification | None:
        return self.session.get(Notification, notification_id)

    def queue(self, tenant_id: int, kind: str, event_key: str, recipient: str, subject: str, body: str,
              message_id: str, now: dt.datetime) -> None:
        """One row per (event, recipient); an existing one is left as it is."""
        insert_if_missing(self.session, Notification, tenant_id=tenant_id, kind=kind, event_key=event_key,
                          recipient=recipient, subject=subject, body=body, message_id=message_id, status="queued",
                          attempts=0, next_attempt_at=now, created_at=now, updated_at=now)

    def due(self, tenant_ids: Sequence[int], now: dt.datetime) -> Sequence[Notification]:
        """Queued rows whose backoff has passed, and ``sending`` ones (orphaned or not: the caller decides)."""
        ready = or_(Notification.status == "sending", Notification.next_attempt_at.is_(None),
                    Notification.next_attempt_at <= now)
        return self.session.scalars(select(Notification).where(Notification.tenant_id.in_(tenant_ids),
                                                               Notification.status.in_(DUE), ready)
                                    .order_by(Notification.id)).all()

    def claim(self, notification_id: int, expected_status: str, expected_claim: str | None, runner: str,
              now: dt.datetime) -> bool:
        """Move a row to ``sending`` for ``runner`` if nobody changed it since it was read (compare-and-set)."""
        return claim_row(self.session, Notification, notification_id, expected_status, expected_claim, runner, now)

    def listing(self, tenant_ids: Sequence[int], limit: int = 200) -> Sequence[tuple[Notification, str]]:
        """Rows with their tenant code, newest first."""
        query = (select(Notification, Tenant.code).join(Tenant, Tenant.id == Notification.tenant_id)
                 .where(Notification.tenant_id.in_(tenant_ids)).order_by(Notification.id.desc()).limit(limit))
        return [(row, code) for row, code in self.session.execute(query)]
