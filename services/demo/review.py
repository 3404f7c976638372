"""The demo's month-end review: finance acknowledges each finding of the draft batches with a reason, so the second
person can approve.

Why through the batch service and by a named person: the demo shows the month as finance lives it (approval
refuses while a negative margin or an unprovisioned mutation is not acknowledged), and it must not pass a shortcut
the product refuses to people. The builder of each batch (a finance person) acknowledges; the approver is another.
Hard blocks (missing master data) are not acknowledged: the demo completes its customers beforehand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from config import Settings
from services.access import Actor
from services.batches import acknowledge_finding, batch_review_findings
from services.clock import Clock

REASON = "demo month: {title} reviewed by {name} and accepted for this month"


def acknowledge_findings(settings: Settings, month: str, people: Mapping[str, Actor], clock: Clock,
                         progress: Callable[[str], None]) -> int:
    """Acknowledge every finding still blocking each tenant's draft of ``month`` as ``people[tenant]`` (a batch
    already approved has none); returns how many were acknowledged in this run."""
    done = 0
    for code, who in people.items():
        for finding in batch_review_findings(settings, code, month, who):
            if not finding["blocking"] or finding["hard"]:
                continue
            acknowledge_finding(settings, code, month, finding["id"],
                                REASON.format(title=finding["title"], name=who.username), who, clock)
            done += 1
            progress(f"batch {code} {month}: {who.username} acknowledged {finding['title']}: {finding['subject']}")
    return done
