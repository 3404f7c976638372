"""The ``notifications:`` section: which people get an e-mail when something needs them, per legal entity and kind
of event, and through which mail server.

Why off by default: a notification mails real people; it is turned on deliberately (``enabled: true``) once
recipients are set. The mail server is ``smtp`` here, or else the legal entity's own ``delivery.smtp``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from config.base import Code, Strict
from config.delivery import SmtpConfig

NotificationKind = Literal["batch_ready", "export_failed", "blocking_finding"]
Address = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class NotificationsConfig(Strict):
    """``recipients``: tenant code -> event kind -> addresses. ``blocking_kinds``: the discrepancy kinds whose new
    findings are mailed (``blocking_finding``)."""

    enabled: bool = False
    smtp: SmtpConfig | None = None
    recipients: dict[Code, dict[NotificationKind, list[Address]]] = Field(default_factory=dict)
    blocking_kinds: list[str] = Field(default_factory=lambda: ["mutation_not_provisioned", "billed_vs_vendor"])

    def recipients_for(self, tenant_code: str, kind: NotificationKind) -> list[str]:
        """Who gets ``kind`` for ``tenant_code``; nobody while notifications are off."""
        if not self.enabled:
            return []
        return list(self.recipients.get(tenant_code, {}).get(kind, []))
