"""Service-desk pages: customer and subscription search, a subscription's timeline (its mutation form is
``pages_mutations``), and the discrepancy list with its resolve action."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.desk import (
    discrepancy_kinds,
    list_discrepancies,
    search_customers,
    search_subscriptions,
)
from services.desk import resolve_discrepancy as resolve
from services.errors import ValidationFailed

router = APIRouter()


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, offset: int = 0, who: Actor = Depends(current_actor)) -> HTMLResponse:
    query = request.query_params.get("q", "")
    settings = request.app.state.settings
    return render(request, "customers.html", who=who, query=query,
                  page=search_customers(settings, who, query, offset=offset))


@router.get("/subscriptions", response_class=HTMLResponse)
def subscriptions(
    request: Request, customer: int | None = None, offset: int = 0, who: Actor = Depends(current_actor)
) -> HTMLResponse:
    query = request.query_params.get("q", "")
    settings = request.app.state.settings
    return render(request, "subscriptions.html", who=who, query=query, customer=customer,
                  page=search_subscriptions(settings, who, query, customer_id=customer, offset=offset))


@router.get("/discrepancies", response_class=HTMLResponse)
def discrepancies(
    request: Request,
    tenant: str = "",
    kind: str = "",
    status: str = "open",
    offset: int = 0,
    who: Actor = Depends(current_actor),
) -> HTMLResponse:
    settings = request.app.state.settings
    page = list_discrepancies(settings, who, tenant or None, kind or None, status or None, offset=offset)
    return render(request, "discrepancies.html", who=who, page=page, tenant=tenant, kind=kind, status=status,
                  kinds=discrepancy_kinds(settings, who), visible=who.visible_tenants(settings))


@router.post("/discrepancies/{discrepancy_id}/resolve")
def resolve_discrepancy(
    request: Request, discrepancy_id: int, note: str = Form(""), back: str = Form("/discrepancies"),
    who: Actor = Depends(current_actor),
) -> RedirectResponse:
    """Mark a discrepancy resolved with a note, through the reconcile service (which audits it)."""
    settings = request.app.state.settings
    require(who, "desk")
    try:
        resolve(settings, who, discrepancy_id, note, request.app.state.clock)
        flash(request, f"Discrepancy {discrepancy_id} marked resolved.", "success")
    except ValidationFailed as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/discrepancies", 303)
