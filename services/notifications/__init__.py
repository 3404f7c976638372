"""E-mail notifications to finance (a batch ready for approval, an export that failed, new blocking findings): queued
by the use cases in their own transaction (``events``, imported by the batch, export and reconcile services), sent
once through an outbox by the scheduler or `cspbill notify run` (``services.notifications.outbox``, imported on its
own: it brings the SMTP channel, which the use cases that queue need not load)."""

from services.notifications.events import batch_ready, export_failed, new_findings

__all__ = ["batch_ready", "export_failed", "new_findings"]
