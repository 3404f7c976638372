"""Finance's reports: margin (with negative-margin alerts), the vendor-invoice check (revenue leakage) and MRR / ARR
with churn, expansion and seats — charts drawn on the server, every table downloadable as CSV and XLSX.

Each page and each download calls the same ``services.reports`` use case with the same filters (months, legal
entity), so a downloaded file holds exactly the rows the page shows (the page cuts long tables; the file never).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from desk.web import vega
from desk.web.auth import current_actor
from desk.web.downloads import FORMATS, download
from desk.web.render import render
from services.access import Actor, require
from services.errors import NotFound
from services.reports import LeakageReport, MarginReport, MrrReport, leakage_report, margin_report, mrr_report

router = APIRouter()
REPORTS: dict[str, tuple[str, Callable[..., Any]]] = {
    "margin": ("Margin", margin_report),
    "leakage": ("Vendor-invoice check", leakage_report),
    "mrr": ("MRR and seats", mrr_report),
}
SHOWN_ROWS = 200
CHART_CUSTOMERS = 15


def _report(request: Request, who: Actor, kind: str, first: str, last: str, tenant: str) -> Any:
    if kind not in REPORTS:
        raise NotFound(f"report {kind!r}: not one of {', '.join(REPORTS)}")
    require(who, "finance")
    settings = request.app.state.settings
    return REPORTS[kind][1](settings, who, request.app.state.clock, first or None, last or None, tenant or None)


@router.get("/reports")
def reports_index() -> RedirectResponse:
    return RedirectResponse("/reports/margin", status_code=303)


@router.get("/reports/{kind}", response_class=HTMLResponse)
def report_page(request: Request, kind: str, first: str = "", last: str = "", tenant: str = "",
                who: Actor = Depends(current_actor)) -> HTMLResponse:
    report = _report(request, who, kind, first, last, tenant)
    query = request.url.query
    return render(request, "reports.html", who=who, kind=kind, reports=REPORTS, report=report,
                  tables=report.tables(), charts=_charts(report), shown=SHOWN_ROWS, query=f"?{query}" if query else "",
                  first=report.scope.months[0], last=report.scope.months[-1], tenant=tenant,
                  visible=who.visible_tenants(request.app.state.settings))


@router.get("/reports/{kind}/{table}.{fmt}")
def report_download(request: Request, kind: str, table: str, fmt: str, first: str = "", last: str = "",
                    tenant: str = "", who: Actor = Depends(current_actor)) -> Response:
    if fmt not in FORMATS:
        raise NotFound(f"download format {fmt!r}: give csv or xlsx")
    report = _report(request, who, kind, first, last, tenant)
    for found in report.tables():
        if found.name == table:
            return download(f"{found.name}-{report.scope.months[0]}-{report.scope.months[-1]}", fmt, found.header,
                            found.rows)
    raise NotFound(f"table {table!r}: not in the {kind} report")


def _charts(report: Any) -> list[Markup]:
    if isinstance(report, MarginReport):
        worst = report.by_customer()[:CHART_CUSTOMERS]
        if not worst:
            return []
        return [vega.bars([{"customer": f"{t.tenant} ({t.currency})", "margin": t.margin} for t in worst],
                          "customer", "margin", "Margin per customer, lowest first", "margin")]
    if isinstance(report, LeakageReport):
        rows = [{"entity": f"{tenant} ({currency})", "kind": kind, "amount": amount}
                for tenant, currency, unbilled, unbacked, *_ in report.totals()
                for kind, amount in (("vendor charges never billed", unbilled),
                                     ("billed without vendor charge", unbacked))]
        return [vega.bars(rows, "entity", "amount", "Unmatched amounts per legal entity", "amount", "kind")] if rows \
            else []
    assert isinstance(report, MrrReport)
    charts = []
    if report.entities:
        charts.append(vega.lines([{"month": e.month, "mrr": e.mrr, "entity": f"{e.tenant} ({e.currency})"}
                                  for e in report.entities], "month", "mrr", "entity", "MRR per legal entity",
                                 "MRR"))
    if report.seats:
        charts.append(vega.lines([{"month": month, "seats": seats, "product": f"{product} ({tenant})"}
                                  for tenant, product, month, seats in report.seats], "month", "seats", "product",
                                 "Seats per product at month end", "seats"))
    return charts
