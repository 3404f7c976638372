"""Connecting a legal entity's Exact Online from the desk (the web side of `cspbill erp connect`).

``/erp/connect/{tenant}`` sends a finance person or an administrator to Exact's consent page with a fresh ``state``,
kept both by the connect service and in this browser's session; ``/erp/connect/{tenant}/callback`` is where Exact
sends them back (register it as the app's redirect URI and as the tenant's ``erp.redirect_uri``). The callback only
counts when its ``state`` is the one this browser was given, so a link planted by someone else connects nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash
from services.access import Actor
from services.errors import ValidationFailed
from services.export.exact_connect import finish_connect, start_connect

router = APIRouter()
SESSION_KEY = "erp_connect_state"


@router.get("/erp/connect/{tenant}")
def connect(request: Request, tenant: str, who: Actor = Depends(current_actor)) -> RedirectResponse:
    started = start_connect(request.app.state.settings, who, tenant)
    request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), tenant: started.state}
    return RedirectResponse(started.url, status_code=303)


@router.get("/erp/connect/{tenant}/callback")
def callback(request: Request, tenant: str, code: str = "", state: str = "", error: str = "",
             who: Actor = Depends(current_actor)) -> RedirectResponse:
    expected = request.session.get(SESSION_KEY, {}).pop(tenant, None)
    request.session[SESSION_KEY] = request.session.get(SESSION_KEY, {})
    if error:
        flash(request, f"Exact Online was not connected for {tenant}: Exact answered {error}.", "error")
    elif not state or state != expected:
        flash(request, f"Exact Online was not connected for {tenant}: this answer does not belong to a connection "
                       "started in this browser; start again.", "error")
    else:
        try:
            done = finish_connect(request.app.state.settings, who, tenant, code, state)
            flash(request, f"Exact Online connected for {tenant}. If no export refreshes it, a person must connect "
                           f"again by {done.reconnect_by:%Y-%m-%d}.", "success")
        except ValidationFailed as exc:
            flash(request, str(exc), "error")
    return RedirectResponse("/operations", status_code=303)
