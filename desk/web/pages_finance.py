"""Finance pages: batches per legal entity and month (with the duplicates the ERP sweep found), a batch's review
cockpit (findings acknowledged beside Approve, discrepancies and invoices on tabs), invoices, a line's lineage,
approve and reject (four-eyes is the batch service's rule), and export status with a retry button."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from config import Settings
from desk.web import vega
from desk.web.auth import current_actor
from desk.web.formats import money
from desk.web.render import flash, render
from services.access import PERSON, Actor, require
from services.batches import (
    CUSTOMER_CHANGES,
    FINDINGS,
    SUBSCRIPTION_CHANGES,
    acknowledge_finding,
    approve_batch,
    batch_invoices,
    batch_summary,
    batch_tenant,
    explain_line,
    invoice_detail,
    list_batches,
    monthly_totals,
    reject_batch,
)
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.export import duplicate_findings, export_states, export_tenant, invoice_files, invoice_place
from services.export import retry_export as retry_export_now
from services.payments import creditor_reference, printed

router = APIRouter()


PER_PAGE = 50
DIFF_ROWS = 50
CHART_MONTHS = 6
TABS = ("overview", "discrepancies", "invoices", "changes")
# what each tab shows of the batch summary beyond the header (each part costs seconds at 300 k invoices)
TAB_SECTIONS = {"overview": (FINDINGS, CUSTOMER_CHANGES), "changes": (SUBSCRIPTION_CHANGES,)}


@router.get("/batches", response_class=HTMLResponse)
def batches(
    request: Request, tenant: str = "", month: str = "", page: int = 1, who: Actor = Depends(current_actor)
) -> HTMLResponse:
    settings = request.app.state.settings
    found = list_batches(settings, who, tenant or None, month or None, page, PER_PAGE)
    return render(request, "batches.html", who=who, page=found, tenant=tenant, month=month,
                  visible=who.visible_tenants(settings),
                  duplicates=duplicate_findings(settings, who, tenant or None) if who.has_role("finance") else [])


def _chart(settings: Settings, who: Actor, tenant: str, month: str) -> list[Markup]:
    """One bar chart per currency: this month and the months before it (the batch service's monthly totals)."""
    per_currency: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for total in monthly_totals(settings, tenant, who):
        if total["month"] <= month:
            per_currency[total["currency"]].append((total["month"], Decimal(total["net"])))
    charts = []
    for currency, totals in sorted(per_currency.items()):
        shown = totals[-CHART_MONTHS:]
        figures = "; ".join(f"{m} {money(amount, currency)}" for m, amount in shown)
        charts.append(vega.month_bars(shown, month, f"Net invoiced per month in {currency}: {figures}", currency))
    return charts


def _largest_first(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(changes, key=lambda c: (-abs(Decimal(c["delta"])), c["name"]))


def _batch_page(request: Request, batch_id: int, who: Actor, tab: str, after: str | None = None,
                before: str | None = None, errors: dict[str, str] | None = None, reasons: dict[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
    """The review cockpit: totals, VAT, change per customer and the findings beside Approve on the overview tab;
    discrepancies, invoices and the per-subscription changes on tabs of their own (``?tab=``). The invoices page by
    invoice key: ``?after=KEY`` (next), ``?before=KEY`` (previous), ``?before=`` (the last page)."""
    settings = request.app.state.settings
    tab = tab if tab in TABS else TABS[0]
    tenant, month = batch_tenant(settings, who, batch_id)
    summary = batch_summary(settings, tenant, month, who, rows=DIFF_ROWS, sections=TAB_SECTIONS.get(tab, ()))
    diff = summary["diff"]
    customers = _largest_first(diff["customers"])
    subscriptions = _largest_first(diff["subscriptions"])
    invoices = batch_invoices(settings, batch_id, who, after, before, PER_PAGE) if tab == "invoices" else None
    exports = export_states(settings, who, [item["id"] for item in invoices.items]) if invoices else {}
    draft = summary["batch"]["status"] == "draft"
    return render(request, "batch.html", status_code=status_code, who=who, summary=summary, b=summary["batch"],
                  tab=tab, charts=_chart(settings, who, tenant, month) if tab == "overview" else [],
                  customers=customers, customers_more=diff["customers_changed"] - len(customers),
                  subscriptions=subscriptions, subscriptions_more=diff["subscriptions_changed"] - len(subscriptions),
                  invoices=invoices, exports=exports, errors=errors or {}, reasons=reasons or {},
                  can_acknowledge=draft and who.principal == PERSON and who.has_role("finance"),
                  can_approve=who.has_role("approver") and draft)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch(request: Request, batch_id: int, tab: str = "overview", after: str | None = None,
          before: str | None = None, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return _batch_page(request, batch_id, who, tab, after, before)


@router.post("/batches/{batch_id}/findings/{finding_id}/acknowledge", response_model=None)
def acknowledge(request: Request, batch_id: int, finding_id: str, reason: str = Form(""),
                who: Actor = Depends(current_actor)) -> Response:
    """Acknowledge one finding with a reason through the batch service; a refused reason is shown next to its
    field (422, nothing stored), other refusals as a message."""
    settings = request.app.state.settings
    tenant, month = batch_tenant(settings, who, batch_id)
    try:
        done = acknowledge_finding(settings, tenant, month, finding_id, reason, who, clock=request.app.state.clock)
    except ValidationFailed as exc:
        return _batch_page(request, batch_id, who, "overview", errors={finding_id: str(exc)},
                           reasons={finding_id: reason}, status_code=422)
    except (NotAllowed, NotFound) as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Finding {done.finding_id} acknowledged: {done.reason}", "success")
    return RedirectResponse(f"/batches/{batch_id}#decide", status_code=303)


def _batch_tenant(request: Request, who: Actor, batch_id: int) -> tuple[str, str]:
    """The batch's tenant and month, after checking the actor may approve there (403 for desk, 404 elsewhere)."""
    tenant, month = batch_tenant(request.app.state.settings, who, batch_id)
    require(who, "approver", tenant)
    return tenant, month


@router.post("/batches/{batch_id}/approve")
def approve(request: Request, batch_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Approve through the approval service, which enforces four-eyes and assigns the invoice numbers."""
    tenant, month = _batch_tenant(request, who, batch_id)
    try:
        report = approve_batch(request.app.state.settings, tenant, month, who,
                                                      clock=request.app.state.clock)
        numbers = f", invoices {report.first_number} to {report.last_number}" if report.first_number else ""
        flash(request, f"Batch {tenant} {month} approved{numbers}.", "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.post("/batches/{batch_id}/reject")
def reject(
    request: Request, batch_id: int, reason: str = Form(""), who: Actor = Depends(current_actor)
) -> RedirectResponse:
    """Return the batch to draft with the reason recorded (the service requires a reason)."""
    tenant, month = _batch_tenant(request, who, batch_id)
    try:
        reject_batch(request.app.state.settings, tenant, month, who, reason,
                                            clock=request.app.state.clock)
        flash(request, f"Batch {tenant} {month} rejected: {reason.strip()}", "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice(request: Request, invoice_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    settings = request.app.state.settings
    detail = invoice_detail(settings, invoice_id, who)
    reference = printed(creditor_reference(detail["number"])) if detail["number"] else None
    return render(request, "invoice.html", who=who, i=detail, place=invoice_place(settings, who, invoice_id),
                  creditor_reference=reference)


@router.get("/invoices/{invoice_id}/files/{fmt}")
def invoice_file(request: Request, invoice_id: int, fmt: str, who: Actor = Depends(current_actor)) -> Response:
    """One e-invoice file of an approved invoice as a download (UBL, CII, Factur-X, XRechnung or the plain PDF)."""
    [file] = invoice_files(request.app.state.settings, who, invoice_id, (fmt,))
    return Response(file.content, media_type=file.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{file.name}"'})


@router.get("/lines/{line_id}", response_class=HTMLResponse)
def line(request: Request, line_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return render(request, "line.html", who=who,
                  line=explain_line(request.app.state.settings, str(line_id), who))


@router.post("/exports/{export_id}/retry")
def retry_export(request: Request, export_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Retry one export through the outbox service (it looks the document up in the ERP before sending again)."""
    settings = request.app.state.settings
    tenant, invoice_id = export_tenant(settings, who, export_id)
    require(who, "finance", tenant)
    try:
        outcome = retry_export_now(settings, who, export_id, clock=request.app.state.clock)
        detail = f": {outcome.error}" if outcome.error else ""
        flash(request, f"Export of invoice {outcome.invoice_number}: {outcome.action}{detail}.",
              "error" if outcome.error else "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)
