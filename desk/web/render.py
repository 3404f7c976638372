"""Rendering pages: the Jinja2 environment (translated, ``desk.web.i18n``), money, number and time filters
(``desk.web.formats``), flash messages and pagination links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from desk.web import formats, i18n
from desk.web.auth import CSRF_FIELD, LoginRequired, csrf_token, current_actor

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
FLASH = "flash"


def instant(value: dt.datetime | str | None) -> str:
    """An instant in UTC; ISO text (as some services return it) is parsed first."""
    if not value:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: Decimal | str | None) -> str:
    return "—" if value is None else format(Decimal(value), "f")


@pass_context
def local_time(context: Context, value: dt.datetime | str | None, tenant_code: str | None) -> str:
    """``{{ b.built_at|local_time(b.tenant) }}``: the instant in the legal entity's time zone."""
    return formats.local_time(value, context["request"].app.state.settings, tenant_code)


i18n.install(TEMPLATES.env)
TEMPLATES.env.filters.update(money=formats.money, instant=instant, number=number, local_time=local_time)


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session.setdefault(FLASH, []).append({"kind": kind, "text": message})
    request.session[FLASH] = request.session[FLASH]


def url_with(request: Request, name: str, value: int | None) -> str | None:
    """The current URL with one query parameter changed (``offset`` or ``page`` of pager links); ``None`` when
    there is no such page."""
    if value is None:
        return None
    params = dict(request.query_params)
    params[name] = str(value)
    return f"{request.url.path}?{urlencode(params)}"


KEY_PARAMS = ("after", "before", "page")


def key_url(request: Request, name: str | None = None, key: str | None = None) -> str:
    """The current URL on another page of a list paged by key: ``after=key`` or ``before=key`` (``before=`` with no
    key: the last page), or with neither (``name`` None: the first page); the rest of the query is kept."""
    params = {k: v for k, v in request.query_params.items() if k not in KEY_PARAMS}
    if name is not None:
        params[name] = key or ""
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
    i18n.current.set(i18n.choose(request, settings, who.username if who else None))
    context.update(
        request=request,
        who=who,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        messages=request.session.pop(FLASH, []),
        page_url=lambda offset: url_with(request, "offset", offset),
        page_number_url=lambda number: url_with(request, "page", number),
        key_url=lambda name=None, key=None: key_url(request, name, key),
        tenants={t.code: t for t in settings.tenants},
        language=i18n.current.get(),
        languages=i18n.LANGUAGES,
    )
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
