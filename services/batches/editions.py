"""Which edition of the price book prices each charge period, and on which day its rules are read.

Why: a price edit must never re-price what was invoiced. A closed (approved or exported) batch remembers the edition
it was priced with, so a charge period billed in that month keeps reading the book as it stood then, while periods
not yet invoiced read the latest edition. Only an explicit reprice (``cspbill prices reprice --from``) moves a billed
period to a later edition, and the correction it causes names the reprice. The day whose rules apply follows the
tenant's price policy: the charge period's first day (``next_cycle``, the default), the term's first day (``term``,
Microsoft's price protection for NCE terms) or the day itself (``prorated``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from rating.months import month_of, shift_month
from rating.periods import period_containing
from rating.proration import PricePolicy


@dataclass(frozen=True, slots=True)
class Reprice:
    """An explicit reprice of a tenant's billed periods from ``start`` on, with finance's reason."""

    edition: int
    start: dt.date
    reason: str

    def describe(self) -> str:
        return f"reprice {self.edition} from {self.start.isoformat()}: {self.reason}"


@dataclass(frozen=True)
class Editions:
    """The edition of each closed month (``billed``) and the tenant's reprices, oldest first."""

    billed: Mapping[str, int]
    reprices: Sequence[Reprice] = ()

    def at(self, day: dt.date) -> tuple[int | None, Reprice | None]:
        """The edition that prices a charge period whose rules are read on ``day`` (``None``: the latest), and the
        reprice that moved it there, if any."""
        edition = self.billed.get(month_of(day))
        if edition is None:
            return None, None
        for reprice in reversed(self.reprices):
            if reprice.edition > edition and reprice.start <= day:
                return reprice.edition, reprice
        return edition, None

    @cached_property
    def change_days(self) -> frozenset[dt.date]:
        """Days from which the edition differs from the day before (the first day of a closed month priced with
        another edition than the month before it, the first day after a closed month, a reprice's start): where a
        licence's price must be looked at again even if no rule starts. Computed once per build."""
        days = {reprice.start for reprice in self.reprices}
        for month, edition in self.billed.items():
            if self.billed.get(shift_month(month, -1)) != edition:
                days.add(dt.date.fromisoformat(f"{month}-01"))
            if shift_month(month, 1) not in self.billed:
                days.add(dt.date.fromisoformat(f"{shift_month(month, 1)}-01"))
        return frozenset(days)


class PriceDays(NamedTuple):
    """Where a subscription's billing periods and terms start, and the tenant's price policy (a named tuple: a
    build makes one per licence, and a frozen dataclass sets each field through a call)."""

    start: dt.date
    anchor: dt.date
    billing_months: int
    term_months: int
    policy: PricePolicy

    def rules_day(self, day: dt.date) -> dt.date:
        """The day whose rules price the charge period containing ``day``."""
        if self.policy is PricePolicy.PRORATED:
            return day
        months = self.term_months if self.policy is PricePolicy.TERM else self.billing_months
        return max(period_containing(self.anchor, months, day).start, self.start)

    def boundary(self, day: dt.date) -> dt.date:
        """The first day on or after ``day`` on which a new price can take effect."""
        if self.policy is PricePolicy.PRORATED or self.rules_day(day) == day:
            return day
        months = self.term_months if self.policy is PricePolicy.TERM else self.billing_months
        return period_containing(self.anchor, months, day).end + dt.timedelta(days=1)
