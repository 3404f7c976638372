"""Finance pages for what customers were sent: deliveries per invoice (status, recipient, evidence or error) with a
re-send button, and the archive of issued documents (search by customer, number, month; download)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.delivery import delivery_status, get_document, list_documents, resend
from services.errors import NotAllowed, ValidationFailed

router = APIRouter()


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request, tenant: str = "", status: str = "", month: str = "",
               who: Actor = Depends(current_actor)) -> HTMLResponse:
    settings = request.app.state.settings
    rows = delivery_status(settings, who, tenant=tenant or None, status=status or None, month=month or None)
    return render(request, "deliveries.html", who=who, rows=rows, tenant=tenant, status=status, month=month,
                  visible=who.visible_tenants(settings))


@router.post("/deliveries/{delivery_id}/resend")
def resend_delivery(request: Request, delivery_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """A person's decision to send again (same reference, archived files): the only way an uncertain e-mail goes
    out a second time."""
    require(who, "finance")
    try:
        outcome = resend(request.app.state.settings, who, delivery_id, clock=request.app.state.clock)
        detail = f": {outcome.error}" if outcome.error else ""
        flash(request, f"Delivery of invoice {outcome.invoice_number} to {outcome.recipient}: {outcome.action}"
                       f"{detail}.", "error" if outcome.error else "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/deliveries", status_code=303)


@router.get("/archive", response_class=HTMLResponse)
def archive(request: Request, tenant: str = "", customer: str = "", number: str = "", month: str = "",
            who: Actor = Depends(current_actor)) -> HTMLResponse:
    settings = request.app.state.settings
    entries = list_documents(settings, who, tenant=tenant or None, customer=customer or None, number=number or None,
                             month=month or None)
    return render(request, "archive.html", who=who, entries=entries, tenant=tenant, customer=customer,
                  number=number, month=month, visible=who.visible_tenants(settings))


@router.get("/archive/{document_id}")
def download(request: Request, document_id: int, who: Actor = Depends(current_actor)) -> Response:
    found = get_document(request.app.state.settings, who, document_id)
    return Response(found.content, media_type=found.entry.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{found.entry.filename}"',
                             "X-Content-SHA256": found.entry.sha256})
