"""A bar chart of monthly net totals as geometry for an inline SVG (server-side: no JavaScript, prints and zooms).

Amounts stay ``Decimal``; only the pixel geometry is derived from them, rounded to a tenth of a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

WIDTH, HEIGHT = 640, 240
TOP, BOTTOM, LEFT = 20, 40, 8
PX = Decimal("0.1")


@dataclass(frozen=True)
class Bar:
    month: str
    amount: Decimal
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    current: bool


@dataclass(frozen=True)
class Chart:
    currency: str
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - BOTTOM

    @property
    def title(self) -> str:
        return f"Net invoiced per month in {self.currency}"


def month_chart(currency: str, totals: list[tuple[str, Decimal]], current_month: str) -> Chart:
    """Bars for ``(month, net)`` pairs in month order; the current month is marked so it can be highlighted."""
    plot = Decimal(HEIGHT - TOP - BOTTOM)
    peak = max((abs(amount) for _, amount in totals), default=Decimal(0)) or Decimal(1)
    slot = Decimal(WIDTH - 2 * LEFT) / max(len(totals), 1)
    bars = []
    for index, (month, amount) in enumerate(totals):
        height = (abs(amount) / peak * plot).quantize(PX, ROUND_HALF_UP)
        x = (LEFT + slot * index + slot / 5).quantize(PX, ROUND_HALF_UP)
        bars.append(Bar(month, amount, x, Decimal(HEIGHT - BOTTOM) - height, (slot * 3 / 5).quantize(PX), height,
                        month == current_month))
    return Chart(currency, bars)
