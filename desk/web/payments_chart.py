"""The payments page's days-to-pay chart: average days from an invoice's issue to its payment, per month of payment
and legal entity, as an Altair (Vega-Lite) line chart rendered to SVG on the server by vl-convert.

Why SVG from the server: the page needs no JavaScript, the chart prints and zooms, and a browser test can read its
marks. The figures are day counts (not money), so floats are fine here.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert

WIDTH, HEIGHT = 560, 200


def days_to_pay_svg(rows: list[dict[str, Any]]) -> str | None:
    """The chart of ``services.payments.days_to_pay`` rows as an SVG document; ``None`` when nothing was paid."""
    if not rows:
        return None
    data = alt.Data(values=[{"month": r["month"], "tenant": r["tenant"], "days": r["average_days"],
                             "payments": r["payments"]} for r in rows])
    chart = (alt.Chart(data, title="Average days from invoice to payment", width=WIDTH, height=HEIGHT)
             .mark_line(point=True)
             .encode(x=alt.X("month:O", title="Month of payment"),
                     y=alt.Y("days:Q", title="Days", scale=alt.Scale(zero=True)),
                     color=alt.Color("tenant:N", title="Entity"),
                     tooltip=["tenant:N", "month:O", "days:Q", "payments:Q"]))
    return vl_convert.vegalite_to_svg(chart.to_dict())
