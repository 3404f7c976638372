"""How many seats the ledger billed for a day: the billed view of reconciliation.

Invoice lines are money with their lineage, not seat counts, so seats are read per line key (``base_key``) and its
versions: a charge stretch adds its quantity, a credit stretch takes its quantity away, and a later version of a key
(a correction of the amount already billed, quantity 1) either reverses the key (should be billed now: 0, so the
key holds no seats) or moves money only (a price or late cost), keeping the key's seats. A first version billed
late is a correction line too, with the seats of what it bills: a charge (positive amount) adds them, a credit
(negative amount) takes them away; the diff never bills a first version of zero. Credit notes carry the same lines,
so they count the same way. Usage (a line or a late one of a ``usage:<meter>`` key) is not seats.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from ledger.repositories.discrepancies import BilledView


def _is_usage(line: BilledView) -> bool:
    return line.kind == "usage" or (line.kind == "correction" and line.base_key.rpartition("/")[2].startswith("usage"))


def _first_version_seats(line: BilledView) -> Decimal:
    takes_away = line.kind == "credit" or (line.kind == "correction" and line.amount < 0)
    return -line.quantity if takes_away else line.quantity


def _key_seats(versions: Sequence[BilledView]) -> Decimal:
    seats = Decimal(0)
    for line in sorted(versions, key=lambda item: item.version):
        if line.should is None:  # corrects nothing
            seats = _first_version_seats(line)
        elif Decimal(line.should) == 0:
            seats = Decimal(0)
    return seats


def billed_seats(lines: Sequence[BilledView], day: dt.date) -> Decimal | None:
    """Net seats of the licence lines covering ``day`` (None when no such line exists)."""
    keys: dict[str, list[BilledView]] = defaultdict(list)
    for line in lines:
        if (line.period_from and line.period_to and line.period_from <= day <= line.period_to
                and not _is_usage(line)):
            keys[line.base_key].append(line)
    if not keys:
        return None
    return sum((_key_seats(versions) for versions in keys.values()), Decimal(0))
