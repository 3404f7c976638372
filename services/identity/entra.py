"""Signing in a person Microsoft Entra ID has just authenticated: the ID token's claims are checked (tenant,
audience, issuer, lifetime) and its sign-in name mapped onto a configured user (``users[].entra_username``).

Why here and not in the web desk: the web desk's code flow and the CLI's device code end in the same decision, and
msal no longer validates ID tokens itself (MSAL Python 1.38: validation is the application's job). The token comes
straight from the token endpoint over TLS, so its signature need not be checked (OpenID Connect Core 1.0, 3.1.3.7
step 6); everything else is. A refusal says what to do without echoing a token; the log names the claim that failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from config import Settings
from services.access import SECURITY_LOG
from services.errors import NotSignedIn
from services.identity.sign_in import Issued, record_refusal, sign_in_external
from services.identity.tokens import wall_now

security = logging.getLogger(SECURITY_LOG)  # refusals, for the server log; the CLI shows its own one line
SKEW = dt.timedelta(minutes=2)  # clock difference tolerated on exp / nbf


def expected_issuer(authority: str, tenant_id: str) -> str:
    """The v2.0 issuer of ``tenant_id`` on the authority's host: ``https://login.microsoftonline.com/{tid}/v2.0``."""
    parts = urlsplit(authority)
    return f"{parts.scheme}://{parts.netloc}/{tenant_id}/v2.0"


def entra_username(settings: Settings, claims: Mapping[str, Any], *, now: dt.datetime | None = None) -> str:
    """The configured username the ID token ``claims`` vouch for; ``NotSignedIn`` when the token is not for this desk
    or nobody here is mapped to that Microsoft account."""
    entra = settings.auth.entra
    if entra is None:
        raise NotSignedIn("sign-in refused: sign-in with Microsoft is not configured (auth.entra)")
    now = now or wall_now()
    audience = claims.get("aud")
    problem = (
        "tid" if claims.get("tid") != entra.tenant_id else
        "aud" if audience != entra.client_id and not (isinstance(audience, list) and entra.client_id in audience)
        else "iss" if claims.get("iss") != expected_issuer(entra.authority, entra.tenant_id) else
        "exp" if not isinstance(claims.get("exp"), int) or claims["exp"] <= (now - SKEW).timestamp() else
        "nbf" if isinstance(claims.get("nbf"), int) and claims["nbf"] > (now + SKEW).timestamp() else None)
    if problem is not None:
        security.warning("entra sign-in refused: ID token claim %s does not match this desk (tid=%s aud=%s iss=%s)",
                    problem, claims.get("tid"), audience, claims.get("iss"))
        raise NotSignedIn("sign-in refused: the Microsoft sign-in was for another directory or application")
    name = str(claims.get(entra.username_claim) or "").strip()
    user = next((u for u in settings.users
                 if u.entra_username and name and u.entra_username.lower() == name.lower()), None)
    if user is None:
        raise NotSignedIn(f"sign-in refused: the Microsoft account {name or '(no ' + entra.username_claim + ')'!s} "
                          f"is not a user of this desk; ask an administrator to add it to users[].entra_username")
    return user.username


def sign_in_entra(settings: Settings, claims: Mapping[str, Any], method: str, channel: str,
                  client: str | None = None) -> Issued:
    """A session for the configured person Entra ID authenticated (``method``: ``entra`` for the web desk's code
    flow, ``device_code`` for the CLI); an unknown or unmapped account is refused, recorded and logged."""
    try:
        username = entra_username(settings, claims)
    except NotSignedIn:
        record_refusal(settings, str(claims.get("preferred_username") or "(unknown)").lower(), client,
                       "unmapped_entra_account", method)
        raise
    return sign_in_external(settings, username, method, channel, client)
