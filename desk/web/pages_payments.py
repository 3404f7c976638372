"""The finance payments page: the review queue with accept and re-assign, open items per customer with their
creditor references and a statement-of-account download, the straight-through rate per month, the days-to-pay chart,
the reminders sent, applied entries with unapply, and a statement upload.

Every action is a form post through ``services.payments`` (finance of the entry's legal entity; CSRF-guarded like
every post), and every refusal comes back as the service's one-line message."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from desk.web.auth import current_actor
from desk.web.payments_chart import days_to_pay_svg
from desk.web.render import flash, render
from services.access import Actor, require
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.payments import (
    Decision,
    accept,
    days_to_pay,
    export_payments,
    import_statement,
    list_entries,
    open_items,
    reassign,
    reminder_list,
    send_reminders,
    statement_of_account,
    straight_through,
    unapply,
)

router = APIRouter()
MAX_UPLOAD = 20 * 1024 * 1024  # a busy account's daily camt.053 is a few hundred kB
APPLIED_ROWS = 50


@router.get("/payments", response_class=HTMLResponse)
def payments(request: Request, tenant: str = "", customer: str = "",
             who: Actor = Depends(current_actor)) -> HTMLResponse:
    require(who, "finance")
    settings = request.app.state.settings
    chart = days_to_pay_svg(days_to_pay(settings, who, tenant or None))
    return render(request, "payments.html", who=who, tenant=tenant, customer=customer,
                  chart=Markup(chart) if chart else None,  # vl-convert's SVG; tenant codes only
                  reminders=reminder_list(settings, who, tenant or None)[:APPLIED_ROWS],
                  visible=who.visible_tenants(settings),
                  queue=list_entries(settings, who, tenant or None, queue=True),
                  items=open_items(settings, who, tenant or None, customer or None),
                  rates=straight_through(settings, who, tenant or None),
                  applied=list_entries(settings, who, tenant or None, "applied", limit=APPLIED_ROWS,
                                       newest_first=True))


@router.get("/payments/statement/{tenant}/{customer_id}")
def statement(request: Request, tenant: str, customer_id: int, who: Actor = Depends(current_actor)) -> Response:
    """A customer's statement of account as a PDF download (finance of that legal entity)."""
    name, pdf = statement_of_account(request.app.state.settings, who, tenant, str(customer_id),
                                     request.app.state.clock)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/payments/import")
async def upload(request: Request, file: UploadFile = File(...),
                 who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Import an uploaded statement (camt.053, camt.054, MT940): all of it or nothing, a known file changes nothing."""
    require(who, "finance")
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        flash(request, f"{file.filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB; import it with "
                       "`cspbill payments import`.", "error")
        return RedirectResponse("/payments", status_code=303)
    try:
        result = import_statement(request.app.state.settings, who, content, file.filename or "statement",
                                  request.app.state.clock)
        flash(request, result.sentence, "success")
    except (ValidationFailed, NotAllowed, NotFound) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/payments", status_code=303)


@router.post("/payments/export")
def export(request: Request, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Send the applied payments of every legal entity the person may export for to its ERP (``payments.erp``)."""
    return _run(request, lambda: [s.sentence for s in export_payments(request.app.state.settings, who,
                                                                       clock=request.app.state.clock)])


@router.post("/payments/remind")
def remind(request: Request, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Send the reminders due today (``payments.reminders``)."""
    return _run(request, lambda: [s.sentence for s in send_reminders(request.app.state.settings, who,
                                                                      clock=request.app.state.clock)])


def _run(request: Request, action: Callable[[], list[str]]) -> RedirectResponse:
    try:
        flash(request, "; ".join(action()) or "nothing configured to send", "success")
    except (ValidationFailed, NotAllowed, NotFound) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/payments", status_code=303)


@router.post("/payments/entries/{entry_id}/accept")
def accept_entry(request: Request, entry_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    require(who, "finance")
    return _decide(request, lambda: accept(request.app.state.settings, who, entry_id, request.app.state.clock))


@router.post("/payments/entries/{entry_id}/reassign")
def reassign_entry(request: Request, entry_id: int, invoices: str = Form(""),
                   who: Actor = Depends(current_actor)) -> RedirectResponse:
    require(who, "finance")
    numbers = [n for n in invoices.replace(",", " ").split() if n]
    return _decide(request, lambda: reassign(request.app.state.settings, who, entry_id, numbers,
                                             request.app.state.clock))


@router.post("/payments/entries/{entry_id}/unapply")
def unapply_entry(request: Request, entry_id: int, reason: str = Form(""),
                  who: Actor = Depends(current_actor)) -> RedirectResponse:
    require(who, "finance")
    return _decide(request, lambda: unapply(request.app.state.settings, who, entry_id, reason,
                                            request.app.state.clock))


def _decide(request: Request, decision: Callable[[], Decision]) -> RedirectResponse:
    try:
        flash(request, decision().sentence, "success")
    except (ValidationFailed, NotAllowed, NotFound) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/payments", status_code=303)
