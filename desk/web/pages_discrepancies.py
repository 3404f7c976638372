"""The discrepancy page: findings with their range, amount at stake, customer and owner; counts per kind and totals;
filters, sorting and paging; acknowledging, resolving or assigning the selected findings with one note.

Calls ``services.desk`` only, as the CLI's ``cspbill discrepancies`` does; a refused action (no note, an unknown
owner) comes back as a message and changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.desk import (
    SORT_ORDERS,
    FindingQuery,
    act_on_discrepancies,
    assign_discrepancies,
    discrepancy_kinds,
    find_discrepancies,
    finding_owners,
)
from services.errors import NotFound, ValidationFailed

router = APIRouter()
STATUSES = (("open", "open"), ("resolved", "resolved"), ("", "all"))
BULK = ("acknowledge", "resolve", "assign")


def _back(back: str) -> str:
    """Only a path on this site (never another host) to return to."""
    return back if back.startswith("/") and not back.startswith("//") else "/discrepancies"


@router.get("/discrepancies", response_class=HTMLResponse)
def discrepancies(
    request: Request,
    tenant: str = "",
    kind: str = "",
    status: str = "open",
    customer: str = "",
    owner: str = "",
    month: str = "",
    sort: str = "day",
    offset: int = 0,
    who: Actor = Depends(current_actor),
) -> HTMLResponse:
    settings = request.app.state.settings
    query = FindingQuery(tenant or None, kind or None, status or None, customer.strip() or None, owner or None,
                         month or None, sort if sort in SORT_ORDERS else "day")
    refusal = None
    try:
        found = find_discrepancies(settings, who, query, offset=offset)
    except ValidationFailed as exc:
        refusal, query = str(exc), FindingQuery(query.tenant, query.kind, query.status, query.customer, query.owner)
        found = find_discrepancies(settings, who, query, offset=offset)
    params = {name: value for name, value in dict(request.query_params).items() if name not in ("sort", "offset")}
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "discrepancies.html", status_code=422 if refusal else 200, who=who, found=found,
                  page=found.page, query=query, filters={"tenant": tenant, "customer": customer, "month": month},
                  refusal=refusal, kinds=discrepancy_kinds(settings, who), visible=who.visible_tenants(settings),
                  statuses=STATUSES, people=finding_owners(settings, who),
                  sorts=SORT_ORDERS, sort_url=lambda key: f"/discrepancies?{urlencode({**params, 'sort': key})}",
                  back=here)


@router.post("/discrepancies/bulk")
async def bulk(request: Request, who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Acknowledge, resolve or assign the selected findings, all with one note (or one owner)."""
    settings = request.app.state.settings
    require(who, "desk")
    form = await request.form()
    back = _back(str(form.get("back", "/discrepancies")))
    action = str(form.get("action", ""))
    try:
        ids = [int(value) for value in form.getlist("ids")]
    except ValueError:
        flash(request, "discrepancies: the selection is not a list of finding ids", "error")
        return RedirectResponse(back, 303)
    try:
        if action == "assign":
            done = assign_discrepancies(settings, who, ids, str(form.get("owner", "")) or None,
                                        request.app.state.clock)
        elif action in BULK:
            done = act_on_discrepancies(settings, who, ids, action, str(form.get("note", "")),
                                        request.app.state.clock)
        else:
            raise ValidationFailed(f"discrepancies action: {action!r} is not one of {', '.join(BULK)}")
    except (ValidationFailed, NotFound) as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(back, 303)
    verb = {"acknowledge": "acknowledged", "resolve": "resolved", "assign": "assigned"}[action]
    flash(request, f"{len(done)} finding{'s' if len(done) != 1 else ''} {verb}: "
                   + ", ".join(str(d.id) for d in done) + ".", "success")
    return RedirectResponse(back, 303)


@router.post("/discrepancies/{discrepancy_id}/resolve")
def resolve_discrepancy(
    request: Request, discrepancy_id: int, note: str = Form(""), back: str = Form("/discrepancies"),
    who: Actor = Depends(current_actor),
) -> RedirectResponse:
    """Mark one discrepancy resolved with a note (the home and batch pages' inline form)."""
    settings = request.app.state.settings
    require(who, "desk")
    try:
        act_on_discrepancies(settings, who, [discrepancy_id], "resolve", note, request.app.state.clock)
        flash(request, f"Discrepancy {discrepancy_id} marked resolved.", "success")
    except ValidationFailed as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(_back(back), 303)
