"""Server-side charts (``desk.web.vega``): Vega-Lite rendered to inline SVG with its title for screen readers, one
bar per month with the current one highlighted and a negative month in red, and text that cannot break out."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.web.vega import CURRENT, NEGATIVE, OTHER, bars, month_bars

amounts = st.lists(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
                   min_size=1, max_size=6)


@settings(max_examples=15, deadline=None)
@given(amounts)
def test_one_bar_per_month_and_only_the_current_one_highlighted(values: list[Decimal]) -> None:
    months = [f"2026-{n:02d}" for n in range(1, len(values) + 1)]
    drawn = month_bars(list(zip(months, values, strict=True)), months[-1], "Net per month", "EUR")
    assert drawn.count('aria-roledescription="bar"') == len(values)
    fills = re.findall(r'aria-roledescription="bar" d="[^"]*" fill="([^"]+)"', drawn)
    expected = [NEGATIVE if v < 0 else CURRENT if m == months[-1] else OTHER for m, v in zip(months, values,
                                                                                         strict=True)]
    assert sorted(fills) == sorted(expected)


def test_the_title_is_announced_and_escaped() -> None:
    drawn = bars([{"customer": "<b>Müller & Söhne</b>", "margin": Decimal("-12.50")}], "customer", "margin",
                 'Margin "<script>"', "EUR")
    assert drawn.startswith("<svg") and 'role="img"' in drawn
    assert '<title>Margin &#34;&lt;script&gt;&#34;</title>' in drawn and "<script>" not in drawn
    assert "<b>" not in drawn and f'fill="{NEGATIVE}"' in drawn
