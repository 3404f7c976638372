"""The month-end review's rules: which findings of a draft batch block approval, and which customer changes against
last month are worth a flag.

Why pure and apart: the batch page, `cspbill batch findings` and approval must agree on what blocks, and finance
must be able to read the rule in one place. A finding of missing master data is a hard block (an invoice is never
issued half-valid: complete the customer and rebuild); every other finding blocks until a person acknowledges it
with a reason. An acknowledgement names the finding's *fingerprint*, which carries the facts the person saw (the
amounts, the counts), so a rebuild that changes them asks for a new acknowledgement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

MASTER_DATA = "master_data"
NEGATIVE_MARGIN = "negative_margin"
NOT_PROVISIONED = "mutation_not_provisioned"
VENDOR_COUNTS = "billed_vs_vendor"
HARD_KINDS = frozenset({MASTER_DATA})
KINDS = (MASTER_DATA, NEGATIVE_MARGIN, NOT_PROVISIONED, VENDOR_COUNTS)
TITLES = {MASTER_DATA: "missing master data", NEGATIVE_MARGIN: "negative margin",
          NOT_PROVISIONED: "mutation not provisioned", VENDOR_COUNTS: "vendor count differs from billed"}
ID_LENGTH = 10


@dataclass(frozen=True, slots=True)
class ReviewFinding:
    """One reason not to approve yet: ``subject`` names the record (customer, subscription, mutation)."""

    kind: str
    fingerprint: str
    customer_id: int | None
    customer: str
    subject: str
    sentence: str

    @property
    def id(self) -> str:
        """A short, stable handle for people (`cspbill batch acknowledge … ID`): the same facts, the same id."""
        return hashlib.sha256(self.fingerprint.encode()).hexdigest()[:ID_LENGTH]

    @property
    def hard(self) -> bool:
        return self.kind in HARD_KINDS

    def __str__(self) -> str:
        return f"{self.id} {TITLES.get(self.kind, self.kind)}: {self.subject}: {self.sentence}"


def blocks(finding: ReviewFinding, acknowledged: Collection[str]) -> bool:
    """Whether ``finding`` still blocks approval, given the fingerprints acknowledged for the batch."""
    return finding.hard or finding.fingerprint not in acknowledged


def still_blocking(findings: Sequence[ReviewFinding], acknowledged: Collection[str]) -> list[ReviewFinding]:
    return [finding for finding in findings if blocks(finding, acknowledged)]


def negative_margin(billed: Decimal, cost: Decimal) -> bool:
    """Billed below what the vendor charged us (a month with nothing billed is not a margin finding)."""
    return cost > billed


def change_percent(previous: Decimal, current: Decimal) -> Decimal | None:
    """The change in percent of ``previous`` (one decimal), or None when there was nothing before."""
    if previous == 0:
        return None
    return ((current - previous) * 100 / abs(previous)).quantize(Decimal("0.1"))


def beyond_threshold(previous: Decimal, current: Decimal, percent: Decimal, amount: Decimal) -> bool:
    """Whether a change is worth a flag: at least ``amount`` in absolute terms and at least ``percent`` of last
    month's figure (new and gone customers: the amount alone)."""
    delta = abs(current - previous)
    if delta == 0 or delta < amount:
        return False
    relative = change_percent(previous, current)
    return relative is None or abs(relative) >= percent
