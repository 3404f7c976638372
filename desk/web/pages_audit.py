"""The audit page: the audit trail of the legal entities a finance person (or an administrator) may see, filtered
by legal entity, actor, action and a range of days, one window at a time, with the hash chains' verdict on top
(the web side of `cspbill audit` and `cspbill audit verify`). Times are shown in each legal entity's zone."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from desk.web.auth import current_actor
from desk.web.render import render
from services.access import Actor, require
from services.operations import audit_page, verify_chains

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, tenant: str = "", actor: str = "", action: str = "", since: str = "", until: str = "",
          offset: int = 0, who: Actor = Depends(current_actor)) -> HTMLResponse:
    settings = request.app.state.settings
    require(who, "finance", tenant or None)
    errors: dict[str, str] = {}  # field -> what is wrong with it (the template words it)
    days = {name: _day(value, name, errors) for name, value in (("since", since), ("until", until))}
    if days["since"] and days["until"] and days["since"] > days["until"]:
        errors["until"] = "until_before_since"
    page = None if errors else audit_page(settings, who, tenant or None, actor=actor.strip() or None,
                                          action=action.strip() or None, since=days["since"], until=days["until"],
                                          offset=offset)
    return render(request, "audit.html", status_code=400 if errors else 200, who=who, page=page,
                  verdicts=verify_chains(settings, who, tenant or None), tenant=tenant, actor=actor, action=action,
                  since=since, until=until, errors=errors,
                  visible=who.visible_tenants(settings))


def _day(value: str, name: str, errors: dict[str, str]) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = "bad_day"
        return None
