"""The month chart's geometry: every bar inside the drawing, heights proportional to the amounts, one current bar."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from desk.web.chart import BOTTOM, HEIGHT, TOP, WIDTH, month_chart

amounts = st.lists(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
                   min_size=1, max_size=12)


@given(amounts)
def test_bars_stay_inside_and_scale_to_the_largest_amount(values: list[Decimal]) -> None:
    months = [f"2026-{n:02d}" for n in range(1, len(values) + 1)]
    chart = month_chart("EUR", list(zip(months, values, strict=True)), months[-1])
    assert [bar.month for bar in chart.bars] == months
    assert [bar.current for bar in chart.bars].count(True) == 1 and chart.bars[-1].current
    for bar in chart.bars:
        assert bar.x >= 0 and bar.x + bar.width <= WIDTH
        assert TOP - Decimal("0.1") <= bar.y and bar.y + bar.height == HEIGHT - BOTTOM
        assert bar.amount in values
    peak = max(abs(v) for v in values)
    if peak:
        tallest = max(chart.bars, key=lambda bar: (bar.height, abs(bar.amount)))  # near-equal amounts tie in pixels
        assert abs(tallest.amount) == peak and tallest.height == HEIGHT - TOP - BOTTOM


def test_an_empty_month_list_draws_nothing() -> None:
    assert month_chart("EUR", [], "2026-10").bars == []
