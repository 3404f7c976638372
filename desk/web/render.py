"""Rendering pages: the Jinja2 environment, money and date filters, flash messages and pagination links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from desk.web.auth import CSRF_FIELD, LoginRequired, csrf_token, current_actor, current_username

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
FLASH = "flash"


def money(value: Decimal | None, currency: str = "") -> str:
    """``1234.5`` -> ``1,234.50 EUR``; more decimals are shown when the value has them (unit prices)."""
    if value is None:
        return "—"
    places = max(2, -value.as_tuple().exponent) if isinstance(value.as_tuple().exponent, int) else 2
    text = f"{value:,.{places}f}"
    return f"{text} {currency}".strip()


def instant(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def number(value: Decimal | None) -> str:
    return "—" if value is None else format(value, "f")


TEMPLATES.env.filters.update(money=money, instant=instant, number=number)


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session.setdefault(FLASH, []).append({"kind": kind, "text": message})
    request.session[FLASH] = request.session[FLASH]


def page_url(request: Request, offset: int | None) -> str | None:
    """The current URL with another ``offset`` (for next/previous links); ``None`` when there is no such page."""
    if offset is None:
        return None
    params = dict(request.query_params)
    params["offset"] = str(offset)
    return f"{request.url.path}?{urlencode(params)}"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the signed-in actor, the CSRF token and pending flash messages."""
    settings = request.app.state.settings
    who = context.pop("who", None)
    if who is None:
        try:
            who = current_actor(request)  # error pages keep the navigation of a signed-in person
        except LoginRequired:
            who = None
    context.update(
        request=request,
        who=who,
        username=current_username(request, settings),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        messages=request.session.pop(FLASH, []),
        page_url=lambda offset: page_url(request, offset),
        tenants={t.code: t for t in settings.tenants},
    )
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
