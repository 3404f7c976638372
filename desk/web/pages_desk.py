"""Service-desk pages: customer and subscription search, a subscription's timeline with the mutation form (the
discrepancy list is in ``pages_discrepancies``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.desk import (
    MutationRequest,
    search_customers,
    search_subscriptions,
    subscription_tenant,
    subscription_view,
)
from services.desk import add_mutation as save_mutation
from services.errors import ValidationFailed

router = APIRouter()
MUTATION_KINDS = ("increase", "decrease", "cancel", "upgrade")


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


def _subscription_page(request: Request, who: Actor, subscription_id: int, status_code: int = 200,
                       refusal: str | None = None, form: dict[str, str] | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    view = subscription_view(settings, who, subscription_id, request.app.state.clock.now())
    return render(request, "subscription.html", status_code=status_code, who=who, view=view,
                  kinds=MUTATION_KINDS, refusal=refusal, form=form or {},
                  today=request.app.state.clock.now().date().isoformat())


@router.get("/subscriptions/{subscription_id}", response_class=HTMLResponse)
def subscription(request: Request, subscription_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return _subscription_page(request, who, subscription_id)


def _parse_quantity(text: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationFailed(f"mutation.new_quantity: {text!r} is not a number") from None
    if value < 0 or value != value.to_integral_value():
        raise ValidationFailed(f"mutation.new_quantity: {text!r} must be a whole number of seats, 0 or more")
    return value


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"mutation.effective_date: {text!r} is not a date (YYYY-MM-DD)") from None


@router.post("/subscriptions/{subscription_id}/mutations", response_model=None)
def add_mutation(
    request: Request,
    subscription_id: int,
    kind: str = Form(...),
    effective_date: str = Form(...),
    ticket_ref: str = Form(""),
    new_quantity: str = Form(""),
    target_product: str = Form(""),
    reason: str = Form(""),
    schedule_if_late: str = Form(""),
    who: Actor = Depends(current_actor),
) -> HTMLResponse | RedirectResponse:
    """Hand the request to the mutations service; a refused change re-renders the form with the service's reason."""
    settings = request.app.state.settings
    require(who, "desk", subscription_tenant(settings, who, subscription_id))
    form = {"kind": kind, "effective_date": effective_date, "ticket_ref": ticket_ref, "new_quantity": new_quantity,
            "target_product": target_product, "reason": reason, "schedule_if_late": schedule_if_late}
    try:
        if kind not in MUTATION_KINDS:
            raise ValidationFailed(f"mutation.kind: {kind!r} is not one of {', '.join(MUTATION_KINDS)}")
        wanted = MutationRequest(
            subscription_id=subscription_id, effective_date=_parse_day(effective_date), ticket_ref=ticket_ref.strip(),
            new_quantity=_parse_quantity(new_quantity) if kind in ("increase", "decrease") else None,
            cancel=kind == "cancel", target_product=(target_product.strip() or None) if kind == "upgrade" else None,
            reason=reason.strip() or None, schedule_if_late=bool(schedule_if_late),
        )
        saved = save_mutation(settings, who, wanted, request.app.state.clock)
    except ValidationFailed as exc:
        return _subscription_page(request, who, subscription_id, status_code=422, refusal=str(exc), form=form)
    when = f", scheduled for {saved.scheduled_for}" if saved.scheduled_for else ""
    flash(request, f"Mutation saved: {saved.kind} effective {saved.effective_date} (ticket {saved.ticket_ref}, "
                   f"status {saved.status}{when}).", "success")
    return RedirectResponse(f"/subscriptions/{subscription_id}", status_code=303)
