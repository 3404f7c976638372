"""Typed errors raised by the vendor adapters.

Services catch these by type: a ``MalformedRecord`` is reported and the run goes on with the valid records around it;
a ``SourceUnavailable`` fails the source's run but never the other sources.
"""

from __future__ import annotations


class SourceError(Exception):
    """Base class of everything a connector raises on purpose."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class AuthenticationFailed(SourceError):
    """The source refused our credentials (wrong secret, revoked app, reused refresh token)."""


class SourceUnavailable(SourceError):
    """The source kept failing (5xx, 429, timeouts) after the bounded retries; the run is incomplete."""


class MalformedRecord(SourceError):
    """One vendor record could not be mapped; names the record and the field so the desk can chase it."""

    def __init__(self, source: str, record_id: str, field: str, problem: str) -> None:
        record_id, field, problem = storable(record_id), storable(field), storable(problem)
        super().__init__(source, f"record {record_id!r}: field {field!r}: {problem}")
        self.record_id = record_id
        self.field = field
        self.problem = problem


def storable(value: str) -> str:
    """``value`` as storable text: an unpaired surrogate from a vendor's id, key or field name shown as its escape."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


class VendorRefused(SourceError):
    """The vendor answered a write with a refusal of its own (a business rule, not an outage): its code and its
    sentence, so the desk sees why (e.g. Partner Center ``800090`` "Subscription quantity cannot be decreased.")."""

    def __init__(self, source: str, what: str, code: str, reason: str) -> None:
        super().__init__(source, f"{what} refused ({code}): {reason}")
        self.code = code
        self.reason = reason
