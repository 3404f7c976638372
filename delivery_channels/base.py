"""What a delivery attempt can end in, as exceptions every channel raises the same way.

Why three kinds: the outbox must know whether to try again (nothing reached the recipient), to stop for good (the
recipient's server or the access point refused: a bounce or a refusal with its reason), or to stop and ask a person
(the message may have been delivered: sending it again could deliver it twice).
"""

from __future__ import annotations

from dataclasses import dataclass


class DeliveryError(Exception):
    """A delivery attempt did not end in a confirmed delivery."""


class DeliveryDeferred(DeliveryError):
    """Nothing was delivered (server down, 4xx, 5xx of the access point): try again later."""


class DeliveryRefused(DeliveryError):
    """Refused for good, with the other side's reason. ``bounced``: the recipient's address was refused."""

    def __init__(self, reason: str, *, bounced: bool = False) -> None:
        super().__init__(reason)
        self.bounced = bounced


class DeliveryOutcomeUnknown(DeliveryError):
    """The message was handed over but no answer came: it may have been delivered."""


@dataclass(frozen=True)
class Attachment:
    """One file of an issued invoice: its name, media type and bytes (as archived)."""

    filename: str
    media_type: str
    content: bytes
