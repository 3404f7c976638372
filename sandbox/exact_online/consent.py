"""Exact Online's authorise endpoint: the page where a person consents and is sent back with ``code`` and ``state``.

Why it exists: the rotating refresh token starts with a person. ``GET /api/oauth2/auth`` with ``client_id``,
``redirect_uri``, ``response_type=code``, ``state`` (and ``force_login``) shows a consent page; agreeing posts the form
back, and the answer is a redirect to ``redirect_uri?code=...&state=...``. The code is single-use, bound to that
redirect URI and lives a few minutes (``division.CODE_LIFETIME``). A ``redirect_uri`` the app did not register gets
an error page and no redirect, so a leaked authorise link cannot send a code elsewhere.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sandbox.core import Request, Response, SandboxApp
from sandbox.exact_online.division import CREDENTIALS
from sandbox.routing import Routes

if TYPE_CHECKING:
    from sandbox.exact_online.division import ExactState

FIELDS = ("client_id", "redirect_uri", "response_type", "state", "force_login")


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (f"<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(status, text, content_type="text/html; charset=utf-8")


def register_consent(app: SandboxApp, state: ExactState, redirect_uris: tuple[str, ...]) -> None:
    """``GET`` and ``POST /api/oauth2/auth`` on ``app``."""
    routes = Routes(app, "/api/oauth2")

    def problem(params: dict[str, str]) -> Response | None:
        if params.get("client_id") != CREDENTIALS["client_id"]:
            return _page("Exact Online", "<p>Ongeldige client_id.</p>", 400)
        if params.get("redirect_uri") not in redirect_uris:
            return _page("Exact Online", "<p>De redirect_uri komt niet overeen met de geregistreerde URI.</p>", 400)
        if params.get("response_type") != "code":
            query = {"error": "unsupported_response_type", **({"state": params["state"]} if "state" in params else {})}
            return Response(302, "", {"Location": f"{params['redirect_uri']}?{urlencode(query)}"})
        return None

    @routes("GET", r"/auth")
    def consent_page(request: Request) -> Response:
        params = {name: request.arg(name) or "" for name in FIELDS if request.arg(name) is not None}
        refused = problem(params)
        if refused is not None:
            return refused
        hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
                         for name, value in params.items())
        return _page("Toegang verlenen", f'<form method="post" action="/api/oauth2/auth">{hidden}'
                     '<p>cspbill vraagt toegang tot uw administratie.</p>'
                     '<button type="submit" name="consent" value="yes">Toestaan</button></form>')

    @routes("POST", r"/auth")
    def consent(request: Request) -> Response:
        params = request.form()
        refused = problem(params)
        if refused is not None:
            return refused
        query = {"code": state.issue_code(params["redirect_uri"])}
        if params.get("state"):
            query["state"] = params["state"]
        return Response(302, "", {"Location": f"{params['redirect_uri']}?{urlencode(query)}"})
