"""The header's language switch: the choice is kept in this browser's session (signed in or not) and wins over
``users[].language`` and the browser's ``Accept-Language`` (``desk.web.i18n``)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from desk.web.auth import safe_next
from desk.web.i18n import LANGUAGES, SESSION_KEY

router = APIRouter()


@router.post("/language")
def switch_language(request: Request, language: str = Form(...), next: str = Form("/")) -> RedirectResponse:
    if language in LANGUAGES:
        request.session[SESSION_KEY] = language
    return RedirectResponse(safe_next(next), status_code=303)
