"""The desk's customer page: its subscriptions, mutations (with withdraw), open findings, invoices and archived
documents in sections, and the master data for e-invoices and delivery, edited through the same service as
`cspbill customer set` (which validates, checks the tenant and audits), with the VIES check button."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor
from services.desk import (
    CHANNELS,
    EDITABLE,
    check_vat,
    customer_detail,
    customer_overview,
    search_subscriptions,
    update_master_data,
)
from services.errors import NotConfigured, ValidationFailed

router = APIRouter()
LABELS = {"street": "Street", "city": "City", "postal_code": "Postal code", "country": "Country (ISO code)",
          "vat_id": "VAT id", "peppol": "Peppol id (SCHEME:ID)", "leitweg_id": "Leitweg-ID (German public buyers)",
          "payment_terms_days": "Payment terms (days; empty: the entity's)", "delivery_channel": "Delivery channel",
          "email": "Invoice e-mail", "contact_name": "Contact", "language": "Language"}


def _current(request: Request, who: Actor, customer_id: int) -> dict[str, str]:
    view = customer_detail(request.app.state.settings, who, customer_id)
    values = {name: getattr(view, name) for name in EDITABLE}
    return {name: "" if value is None else str(value) for name, value in values.items()}


def _page(request: Request, who: Actor, customer_id: int, status_code: int = 200, refusal: str | None = None,
          form: dict[str, str] | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    overview = customer_overview(settings, who, customer_id)
    subscriptions = search_subscriptions(settings, who, customer_id=customer_id, limit=200)
    return render(request, "customer.html", status_code=status_code, who=who, view=overview.detail,
                  overview=overview, subscriptions=subscriptions, labels=LABELS, channels=CHANNELS, refusal=refusal,
                  form=form or _current(request, who, customer_id))


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(request: Request, customer_id: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    return _page(request, who, customer_id)


@router.post("/customers/{customer_id}", response_model=None)
async def save_customer(request: Request, customer_id: int,
                        who: Actor = Depends(current_actor)) -> HTMLResponse | RedirectResponse:
    """Only the fields that differ from what is stored are handed to the service (and so audited)."""
    posted = await request.form()
    form = {name: str(posted.get(name, "")).strip() for name in EDITABLE}
    current = _current(request, who, customer_id)
    changes = {name: value for name, value in form.items() if value != current[name]}
    try:
        if changes:
            update_master_data(request.app.state.settings, who, customer_id, changes, request.app.state.clock)
    except ValidationFailed as exc:
        return _page(request, who, customer_id, status_code=422, refusal=str(exc), form=form)
    flash(request, f"Customer {customer_id} saved ({', '.join(changes) or 'nothing changed'}).", "success")
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)



@router.post("/customers/{customer_id}/check-vat")
def check_vat_now(request: Request, customer_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Ask VIES now; the answer (valid, invalid, unavailable) is shown on the page and audited."""
    try:
        view = check_vat(request.app.state.settings, who, customer_id, request.app.state.clock)
        flash(request, f"VIES says {view.vat_check_result} for {view.vat_id}.",
              "success" if view.vat_check_result == "valid" else "error")
    except (ValidationFailed, NotConfigured) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
