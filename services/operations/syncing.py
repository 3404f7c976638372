"""A sync as people and the scheduler run it: the sources read (``services.sync``), then the stored review figures of
the draft batches of the legal entities read brought back in step with the snapshots just stored
(``services.batches.prepared.refresh_drafts``).

Why here: the batch page reads figures a build stored while the ledger still agrees with them, and every sync adds
snapshots; without the refresh, the page walks every subscription live on each view until the next build. The sync
layer may not call the batches layer (they sit side by side), so the two steps meet one layer up, and
``cspbill sync`` and the nightly ``sync:<source>`` job both come through here.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.access import Actor
from services.batches.prepared import STORED_RUNS, refresh_drafts
from services.clock import Clock
from services.progress import Counted
from services.sync import SyncReport, sync


@dataclass(frozen=True)
class SyncOutcome:
    report: SyncReport
    refreshed: dict[str, dict[str, list[str]]]  # legal entity -> draft month -> review figures worked out again


def sync_and_refresh(settings: Settings, clock: Clock, *, source: str | None = None, tenant: str | None = None,
                     who: Actor, counted: Counted | None = None) -> SyncOutcome:
    """Read the selected sources (as ``services.sync.sync``), then refresh the draft batches' stored review figures
    of every legal entity a run read."""
    report = sync(settings, clock, source=source, tenant=tenant, who=who, counted=counted)
    tenants = sorted({run.tenant for run in report.runs if run.status in STORED_RUNS})  # their drafts may be behind
    refreshed = {code: months for code in tenants if (months := refresh_drafts(settings, code, clock.now()))}
    return SyncOutcome(report, refreshed)
