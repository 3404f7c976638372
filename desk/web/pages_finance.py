"""Finance pages: batches per legal entity and month, a batch's review page, invoices, a line's lineage, approve and
reject (four-eyes is the batch service's rule), and export status with a retry button."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.chart import month_chart
from desk.web.render import flash, render
from services import web_queries as q
from services.access import Actor, require
from services.approval import approve_batch, reject_batch
from services.errors import NotAllowed, ValidationFailed
from services.export import retry_export as retry_export_now

router = APIRouter()


@router.get("/batches", response_class=HTMLResponse)
def batches(
    request: Request, tenant: str = "", month: str = "", offset: int = 0, who: Actor = Depends(current_actor)
) -> HTMLResponse:
    settings = request.app.state.settings
    page = q.list_batches(settings, who, tenant or None, month or None, offset=offset)
    return render(request, "batches.html", who=who, page=page, tenant=tenant, month=month,
                  visible=who.visible_tenants(settings))


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch(request: Request, batch_id: int, offset: int = 0, who: Actor = Depends(current_actor)) -> HTMLResponse:
    settings = request.app.state.settings
    view = q.batch_view(settings, who, batch_id)
    per_currency: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for total in view.months:
        per_currency[total.currency].append((total.month, total.net))
    charts = [month_chart(currency, totals, view.batch.month) for currency, totals in sorted(per_currency.items())]
    open_issues = q.list_discrepancies(settings, who, view.batch.tenant, status="open",
                                       subscription_ids=view.subscription_ids, limit=20)
    return render(request, "batch.html", who=who, view=view, charts=charts, discrepancies=open_issues,
                  invoices=q.batch_invoices(settings, who, batch_id, offset=offset),
                  can_approve=who.has_role("approver") and view.batch.status == "draft")


def _batch_tenant(request: Request, who: Actor, batch_id: int) -> tuple[str, str]:
    """The batch's tenant and month, after checking the actor may approve there (403 for desk, 404 elsewhere)."""
    tenant, month = q.batch_tenant(request.app.state.settings, who, batch_id)
    require(who, "approver", tenant)
    return tenant, month


@router.post("/batches/{batch_id}/approve")
def approve(request: Request, batch_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Approve through the approval service, which enforces four-eyes and assigns the invoice numbers."""
    tenant, month = _batch_tenant(request, who, batch_id)
    try:
        report = approve_batch(request.app.state.settings, tenant, month, who.username,
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
        reject_batch(request.app.state.settings, tenant, month, who.username, reason,
                                            clock=request.app.state.clock)
        flash(request, f"Batch {tenant} {month} rejected: {reason.strip()}", "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice(request: Request, invoice_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return render(request, "invoice.html", who=who, view=q.invoice_view(request.app.state.settings, who, invoice_id))


@router.get("/lines/{line_id}", response_class=HTMLResponse)
def line(request: Request, line_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return render(request, "line.html", who=who, view=q.line_view(request.app.state.settings, who, line_id))


@router.post("/exports/{export_id}/retry")
def retry_export(request: Request, export_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Retry one export through the outbox service (it looks the document up in the ERP before sending again)."""
    settings = request.app.state.settings
    tenant, invoice_id = q.export_tenant(settings, who, export_id)
    require(who, "finance", tenant)
    try:
        outcome = retry_export_now(settings, who, export_id, clock=request.app.state.clock)
        detail = f": {outcome.error}" if outcome.error else ""
        flash(request, f"Export of invoice {outcome.invoice_number}: {outcome.action}{detail}.",
              "error" if outcome.error else "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)
