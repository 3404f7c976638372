"""Sign-in with Microsoft Entra ID (OpenID Connect authorization code flow with PKCE, through msal) when
``auth.entra`` is configured: ``GET /login/entra`` starts it, ``GET /login/entra/callback`` finishes it.

msal makes the state, nonce and PKCE verifier (``initiate_auth_code_flow``) and checks them on the way back
(``acquire_token_by_auth_code_flow``); the flow is kept in this browser's session cookie only until the callback.
``services.identity.sign_in_entra`` checks the ID token's tenant, audience and issuer and maps the account onto a
configured user. Why ``response_mode=query``: the session cookie is SameSite=Lax, which a browser sends on Microsoft's
top-level GET redirect back but not on a cross-site ``form_post``; no token travels in the query, only a one-time
code that is useless without the verifier and the client secret.
"""

from __future__ import annotations

import warnings

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from desk.entra import entra_config, web_client
from desk.web.auth import client_address, log, refusal_text, safe_next, sign_in
from desk.web.render import render
from services.errors import NotSignedIn
from services.identity import sign_in_entra

router = APIRouter()
SESSION_FLOW = "entra_flow"
SESSION_NEXT = "entra_next"
CALLBACK = "/login/entra/callback"
warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended", module="msal")


def _refused(request: Request, message: str, status: int = 403) -> HTMLResponse:
    return render(request, "signin_refused.html", status_code=status, message=message)


def callback_url(request: Request) -> str:
    """Where Entra sends the browser back: ``auth.entra.redirect_uri`` when set (the public URL behind a proxy),
    else this desk's own URL (scheme per a trusted proxy's ``X-Forwarded-Proto``)."""
    configured = request.app.state.settings.auth.entra.redirect_uri
    return configured or str(request.url.replace(path=CALLBACK, query=""))


@router.get("/login/entra", response_model=None)
def start(request: Request, next: str = "/") -> Response:
    settings = request.app.state.settings
    try:
        entra = entra_config(settings)
        flow = web_client(settings).initiate_auth_code_flow(entra.scopes, redirect_uri=callback_url(request),
                                                             response_mode="query")
    except NotSignedIn as exc:
        log.warning("web: sign-in with Microsoft unavailable: %s", exc)
        return _refused(request, str(exc), 503)
    request.session[SESSION_FLOW] = flow
    request.session[SESSION_NEXT] = safe_next(next)
    return RedirectResponse(flow["auth_uri"], status_code=303)


@router.get(CALLBACK, response_model=None)
def callback(request: Request) -> Response:
    settings = request.app.state.settings
    flow = request.session.pop(SESSION_FLOW, None)
    target = request.session.pop(SESSION_NEXT, "/")
    if not flow:
        log.warning("web: Microsoft sign-in callback without a started sign-in in this session")
        return _refused(request, "This sign-in was not started here or has already been used; sign in again.", 400)
    answer = dict(request.query_params)
    if "error" in answer:
        log.warning("web: Microsoft sign-in failed: %s", answer.get("error"))
        return _refused(request, f"Microsoft did not sign you in ({answer['error']}).", 401)
    try:
        result = web_client(settings).acquire_token_by_auth_code_flow(flow, answer)
    except NotSignedIn as exc:
        return _refused(request, str(exc), 503)
    except (ValueError, RuntimeError) as exc:  # msal: state or nonce mismatch
        log.warning("web: Microsoft sign-in refused: %s", type(exc).__name__)
        return _refused(request, "The answer from Microsoft did not match this sign-in; sign in again.", 400)
    if "error" in result or "id_token_claims" not in result:
        log.warning("web: Microsoft token request failed: %s %s", result.get("error"), result.get("error_codes"))
        return _refused(request, f"Microsoft did not sign you in ({result.get('error', 'no ID token')}).", 401)
    try:
        issued = sign_in_entra(settings, result["id_token_claims"], "entra", "web", client_address(request))
    except NotSignedIn as exc:
        return _refused(request, refusal_text(exc))
    sign_in(request, issued)
    log.info("web: %s signed in with Microsoft", issued.actor.username)
    return RedirectResponse(target, status_code=303)
