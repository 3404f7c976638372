"""Who is acting: sign-in (password, Entra ID), sessions and API tokens in the ledger, and their confirmation.

Every door (CLI, web desk, automation) turns a credential into an ``Actor`` here and nowhere else; money-changing
services confirm the actor's session again inside their own transaction (``confirm``). Times here are always the
real wall clock: a replayed ``CSPBILL_NOW`` can neither extend a session nor shorten a lockout.
"""

from services.identity.entra import entra_username, sign_in_entra
from services.identity.sessions import authenticate, confirm, revoke_session, sign_out
from services.identity.sign_in import Issued, issue_api_token, sign_in_external, sign_in_password
from services.identity.views import list_people, list_sessions

__all__ = [
    "Issued",
    "authenticate",
    "confirm",
    "entra_username",
    "issue_api_token",
    "list_people",
    "list_sessions",
    "revoke_session",
    "sign_in_entra",
    "sign_in_external",
    "sign_in_password",
    "sign_out",
]
