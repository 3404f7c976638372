"""Service-desk pages: customer and subscription search (a subscription's page and its mutation form are
``pages_mutations``, the discrepancy list ``pages_discrepancies``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from desk.web.auth import current_actor
from desk.web.render import render
from services.access import Actor
from services.desk import search_customers, search_subscriptions

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


