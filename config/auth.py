"""Config of who may sign in and for how long, the service accounts automation uses, and the clock override.

Why apart from the rest of the schema: these are the controls an auditor reads first (session lifetimes, lockout,
which accounts exist without a person behind them, whether anyone may move the clock), so they sit in one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from config.base import Code, EnvName, Strict

SCHEDULER = "scheduler"  # the unattended jobs' own actor: may sync, build drafts and resend; never approve or reprice
ServiceRole = Literal["sync", "build", "export"]


class Clock(Strict):
    """``allow_override: true`` lets ``CSPBILL_NOW`` replay a moment (the demo and the tests); production refuses it."""

    allow_override: bool = False


class Entra(Strict):
    """Sign-in with Microsoft Entra ID (web desk: OpenID Connect code flow with PKCE; CLI: device code).

    One app registration serves both: a web platform with the desk's ``/login/entra/callback`` as redirect URI and a
    client secret (``client_secret_env``), and "allow public client flows" on for the CLI's device code. An ID token
    counts only when its ``tid`` is ``tenant_id``, its ``aud`` is ``client_id`` and its ``iss`` is the authority
    host's v2.0 issuer of that tenant.
    """

    authority: str  # e.g. https://login.microsoftonline.com/<tenant id>
    tenant_id: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    client_id: str
    client_secret_env: EnvName | None = None  # the web desk's confidential client secret
    username_claim: str = "preferred_username"  # the ID-token claim mapped onto ``users[].entra_username``
    scopes: list[str] = Field(default_factory=list)
    ca_bundle: str | None = None  # a PEM file trusted for the authority (a private CA; relative to config.yaml)
    redirect_uri: str | None = None  # the desk's public callback URL behind a proxy; default: from the request

    @field_validator("authority")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (an OpenID Connect authority)")
        return value.rstrip("/")


class Auth(Strict):
    cli_session_hours: Annotated[int, Field(ge=1, le=24 * 7)] = 12
    web_session_hours: Annotated[int, Field(ge=1, le=24 * 7)] = 8
    api_token_days: Annotated[int, Field(ge=1, le=366)] = 90
    lockout_after: Annotated[int, Field(ge=1, le=100)] = 5  # failed sign-ins of one user within the window
    lockout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    entra: Entra | None = None


class ServiceAccount(Strict):
    """Automation (a CI job, a script) acting with an API token: narrow roles, never approval or price changes."""

    name: Annotated[str, Field(pattern=r"^svc-[a-z0-9._-]{2,36}$")]
    description: str = ""
    roles: list[ServiceRole] = Field(min_length=1)
    tenants: list[Code] = Field(default_factory=list)  # empty = every legal entity
