"""Charts as inline SVG, drawn on the server: Altair writes the Vega-Lite spec, vl-convert renders it to SVG.

Why on the server: the pages stay free of JavaScript, print and zoom, and the chart is in the HTML the page
test reads. Amounts reach the spec as exact text (``"-47.60"``) and Vega-Lite turns them into numbers for the
geometry only (``toNumber``); the figures people read are in the tables beside each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import altair as alt
import vl_convert
from markupsafe import Markup

WIDTH = 560
LABEL_LIMIT = 320  # pixels of a category label before it is cut (customer names are long)
NEGATIVE, POSITIVE = "#b00020", "#2a6f97"
CURRENT, OTHER = "#1f5fbf", "#8fb8ef"  # the batch's month and the months before it
LEGEND = alt.Legend(orient="bottom", columns=2, labelLimit=LABEL_LIMIT)


def _values(rows: Sequence[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=[{k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()} for row in rows])


def svg(chart: alt.TopLevelMixin, title: str) -> Markup:
    """The chart as an SVG element with a title a screen reader announces and a tooltip shows."""
    drawn = vl_convert.vegalite_to_svg(chart.to_dict())
    label = Markup.escape(title)
    opening = drawn.index(">", drawn.index("<svg")) + 1
    head = drawn[:opening].replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return Markup(f"{head}<title>{label}</title>{drawn[opening:]}")


def bars(rows: Sequence[dict[str, Any]], category: str, amount: str, title: str, unit: str,
         colour: str | None = None) -> Markup:
    """Horizontal bars of ``amount`` per ``category``, lowest first; negative bars red unless ``colour`` names a
    series."""
    colouring = (alt.Color(f"{colour}:N", title=None, legend=LEGEND) if colour else
                 alt.condition("datum.value < 0", alt.value(NEGATIVE), alt.value(POSITIVE)))
    chart = (alt.Chart(_values(rows), title=title)
             .transform_calculate(value=f"toNumber(datum['{amount}'])")
             .mark_bar()
             .encode(x=alt.X("value:Q", title=unit),
                     y=alt.Y(f"{category}:N", sort="x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
                     color=colouring, yOffset=alt.YOffset(f"{colour}:N") if colour else alt.Undefined)
             .properties(width=WIDTH))
    return svg(chart, title)


def month_bars(totals: Sequence[tuple[str, Decimal]], current: str, title: str, unit: str) -> Markup:
    """Vertical bars of ``(month, amount)`` in month order; ``current`` month highlighted, negative months red."""
    rows = [{"month": month, "amount": amount,
             "state": "negative" if amount < 0 else "current" if month == current else "other"}
            for month, amount in totals]
    chart = (alt.Chart(_values(rows))
             .transform_calculate(value="abs(toNumber(datum.amount))")
             .mark_bar()
             .encode(x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0)),
                     y=alt.Y("value:Q", title=unit),
                     color=alt.Color("state:N", legend=None,
                                     scale=alt.Scale(domain=["current", "other", "negative"],
                                                     range=[CURRENT, OTHER, NEGATIVE])))
             .properties(width=WIDTH, height=200))
    return svg(chart, title)


def lines(rows: Sequence[dict[str, Any]], x: str, amount: str, series: str, title: str, unit: str) -> Markup:
    """One line per ``series`` over ``x`` (months), with points so a single month still shows."""
    chart = (alt.Chart(_values(rows), title=title)
             .transform_calculate(value=f"toNumber(datum['{amount}'])")
             .mark_line(point=True)
             .encode(x=alt.X(f"{x}:O", title=None), y=alt.Y("value:Q", title=unit),
                     color=alt.Color(f"{series}:N", title=None, legend=LEGEND))
             .properties(width=WIDTH, height=220))
    return svg(chart, title)
