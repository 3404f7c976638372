"""The administrators' page: people and service accounts with their roles, legal entities, last sign-in and active
sessions, and revoking one session or all of a person's (the web side of `cspbill users`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.identity import list_people, list_sessions, revoke_session

router = APIRouter()
PAGE = "/admin/users"


@router.get(PAGE, response_class=HTMLResponse)
def users(request: Request, who: Actor = Depends(current_actor)) -> HTMLResponse:
    settings = request.app.state.settings
    require(who, "admin")
    sessions = list_sessions(settings, who)
    by_user: dict[str, list[dict]] = {}
    for row in sessions:
        by_user.setdefault(row["username"], []).append(row)
    return render(request, "admin_users.html", who=who, people=list_people(settings, who), sessions=by_user)


@router.post(PAGE + "/sessions/{session_id}/revoke")
def revoke_one(request: Request, session_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    count = revoke_session(request.app.state.settings, who, session_id)
    flash(request, f"Session {session_id} revoked." if count else f"Session {session_id} had already ended.",
          "success" if count else "info")
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/revoke-all")
def revoke_all(request: Request, username: str = Form(...), who: Actor = Depends(current_actor)) -> RedirectResponse:
    count = revoke_session(request.app.state.settings, who, username=username,
                           reason="all sessions revoked by an administrator")
    flash(request, f"{count} session(s) of {username} revoked.", "success")
    return RedirectResponse(PAGE, status_code=303)
