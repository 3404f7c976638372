"""The mutation form on a subscription's page, in two steps, the withdraw button of a pending mutation, and the
pages a line's lineage links to (the mutation, and the snapshot, cost line, usage row or price behind a line).

Why two steps: a seat count is paid every month for the term, so the desk first sees what the change does (seats
from and to, the monthly amount at the customer's price, what the NCE rule says) and only the second submit saves.
A change above the configured jump (``desk.mutations``) needs the confirm box ticked on that second submit. Every
check is the mutations service's (the preview runs the very checks saving does); this module only turns the form's
text into a request and puts each refusal next to the field it is about. Nothing is stored on bad input.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.batches import input_record
from services.desk import (
    NO_TICKET,
    MutationPreview,
    MutationRequest,
    cancel_mutation,
    parse_seats,
    preview_mutation,
    show_mutation,
    subscription_tenant,
    subscription_view,
)
from services.desk import add_mutation as save_mutation
from services.errors import InvalidFields, ValidationFailed

router = APIRouter()
MUTATION_KINDS = ("increase", "decrease", "cancel", "upgrade")
FIELDS = ("kind", "effective_date", "new_quantity", "delta", "target_product", "ticket_ref", "reason",
          "schedule_if_late", "confirm")
CONFIRM = "This is a big change: tick “confirm” to save it, or change the seats."


def subscription_page(request: Request, who: Actor, subscription_id: int, status_code: int = 200,
                      refusal: str | None = None, form: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None, preview: MutationPreview | None = None) -> HTMLResponse:
    """A subscription with its timeline and the mutation form (with what was typed, refusals and a preview)."""
    settings = request.app.state.settings
    view = subscription_view(settings, who, subscription_id, request.app.state.clock.now())
    return render(request, "subscription.html", status_code=status_code, who=who, view=view,
                  kinds=MUTATION_KINDS, refusal=refusal, form=form or {}, errors=errors or {}, preview=preview,
                  today=request.app.state.clock.now().date().isoformat())


@router.get("/subscriptions/{subscription_id}", response_class=HTMLResponse)
def subscription(request: Request, subscription_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return subscription_page(request, who, subscription_id)


def mutation_request(subscription_id: int, form: dict[str, str]) -> MutationRequest:
    """The form's text as a request; every field that cannot be read is named at once (``InvalidFields``)."""
    errors: dict[str, str] = {}
    kind = form["kind"]
    if kind not in MUTATION_KINDS:
        errors["kind"] = f"Choose what to change: {', '.join(MUTATION_KINDS)}."
    day = None
    try:
        day = dt.date.fromisoformat(form["effective_date"].strip())
    except ValueError:
        errors["effective_date"] = "Enter the day the change takes effect as YYYY-MM-DD, for example 2026-12-01."
    seats = {}
    for name, signed in (("new_quantity", False), ("delta", True)):
        try:
            seats[name] = parse_seats(form[name], signed=signed) if kind in ("increase", "decrease") else None
        except ValueError as exc:
            errors[name] = str(exc)
    if not form["ticket_ref"].strip():
        errors["ticket_ref"] = NO_TICKET
    if kind == "upgrade" and not form["target_product"].strip():
        errors["target_product"] = "Enter the product to upgrade to."
    if errors:
        raise InvalidFields(f"mutation of sub {subscription_id}", errors)
    return MutationRequest(
        subscription_id=subscription_id, effective_date=day, ticket_ref=form["ticket_ref"].strip(),
        new_quantity=seats.get("new_quantity"), delta=seats.get("delta"), cancel=kind == "cancel",
        target_product=form["target_product"].strip() or None if kind == "upgrade" else None,
        reason=form["reason"].strip() or None, schedule_if_late=bool(form["schedule_if_late"]),
    )


@router.post("/subscriptions/{subscription_id}/mutations", response_model=None)
def add_mutation(
    request: Request,
    subscription_id: int,
    step: str = Form("check"),
    kind: str = Form(...),
    effective_date: str = Form(...),
    ticket_ref: str = Form(""),
    new_quantity: str = Form(""),
    delta: str = Form(""),
    target_product: str = Form(""),
    reason: str = Form(""),
    schedule_if_late: str = Form(""),
    confirm: str = Form(""),
    who: Actor = Depends(current_actor),
) -> HTMLResponse | RedirectResponse:
    """``step=check`` (the first submit) shows the preview; ``step=save`` checks again and saves."""
    settings = request.app.state.settings
    require(who, "desk", subscription_tenant(settings, who, subscription_id))
    form = dict(zip(FIELDS, (kind, effective_date, new_quantity, delta, target_product, ticket_ref, reason,
                             schedule_if_late, confirm), strict=True))
    clock = request.app.state.clock
    try:
        wanted = mutation_request(subscription_id, form)
        preview = preview_mutation(settings, who, wanted, clock)
        if step != "save" or (preview.confirm and not confirm):
            errors = {"confirm": CONFIRM} if step == "save" else {}
            return subscription_page(request, who, subscription_id, status_code=422 if errors else 200, form=form,
                                     errors=errors, preview=preview)
        saved = save_mutation(settings, who, wanted, clock)
    except InvalidFields as exc:
        return subscription_page(request, who, subscription_id, status_code=422, form=form, errors=exc.fields)
    except ValidationFailed as exc:
        return subscription_page(request, who, subscription_id, status_code=422, refusal=str(exc), form=form)
    when = f", scheduled for {saved.scheduled_for}" if saved.scheduled_for else ""
    flash(request, f"Mutation saved: {saved.kind} effective {saved.effective_date} (ticket {saved.ticket_ref}, "
                   f"status {saved.status}{when}).", "success")
    return RedirectResponse(f"/subscriptions/{subscription_id}", status_code=303)


@router.get("/mutations/{mutation_id}", response_class=HTMLResponse)
def mutation(request: Request, mutation_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    """One mutation (where a line's lineage links to): what was asked, by whom, its state at the vendor."""
    return render(request, "mutation.html", who=who, m=show_mutation(request.app.state.settings, who, mutation_id))


@router.post("/mutations/{mutation_id}/cancel")
def withdraw_mutation(request: Request, mutation_id: int, back: str = Form(""),
                      who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Withdraw a pending mutation through the service (which refuses once sent, seen or billed, and audits)."""
    try:
        done = cancel_mutation(request.app.state.settings, who, mutation_id, request.app.state.clock)
        flash(request, f"Mutation {done.id} withdrawn ({done.kind} effective {done.effective_date}, ticket "
                       f"{done.ticket_ref}).", "success")
    except ValidationFailed as exc:
        flash(request, str(exc), "error")
    target = back if back.startswith("/") and not back.startswith("//") else f"/mutations/{mutation_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/lineage/{kind}/{record_id}", response_class=HTMLResponse)
def lineage_input(request: Request, kind: str, record_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    """A snapshot, cost line, usage row, usage file set, price rule or list price a line's lineage names (finance)."""
    return render(request, "input_record.html", who=who,
                  record=input_record(request.app.state.settings, who, kind, record_id))
