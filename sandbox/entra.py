"""Microsoft Entra ID stand-in: OIDC discovery and the v2/v1 token endpoints (people's sign-in: ``entra_signin``).

Why a real token server: msal and azure-identity must run unchanged (reference/microsoft.md §1.3, §5.1), so the
sandbox serves discovery and token responses with Entra's field names and error bodies. Access tokens are JWTs
signed with a sandbox-wide HMAC key so every resource sandbox can check ``aud``, ``tid`` and ``exp`` against *its*
clock with ``verify_bearer``; a forged or foreign token is refused, as a real resource would.

Fault knobs (route ``POST /{tenant}/oauth2/v2.0/token``): ``expire_token`` issues a token already expired by the
sandbox clock while ``expires_in`` still says 3599 (clock skew, revoked token); ``status`` / ``delay`` / ``drop``
work as everywhere. On resource routes, kind ``expire_token`` makes ``verify_bearer`` answer as for an expired
token.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import uuid
from typing import Any, Literal

import jwt

from sandbox import entra_signin
from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.routing import Routes

PREFIX = ""
TENANT_ID = "6f1e9a0c-2b7d-4c55-9e1a-0d3c5b7a9f21"
# Entra accepts a tenant's domain name in place of its id; the demo config uses this one.
TENANT_DOMAINS = ("demo-partner-tenant", "wolkwerk-demo.onmicrosoft.com")
CREDENTIALS: dict[str, str] = {
    "tenant_id": TENANT_ID,
    "client_id": "0c6f3f2e-7a1b-4d9e-8c21-5e4b3a2d1f00",
    "client_secret": "sandbox-secret-not-for-production",
    "refresh_token": "sandbox-refresh-token-0",
}
TOKEN_LIFETIME = dt.timedelta(seconds=3599)
_SIGNING_KEY = (
    "cspbill-sandbox-entra-signing-key-0123456789abcdef"  # a sandbox constant, shared by resource fakes
)
_ALGORITHM = "HS256"

ErrorStyle = Literal["arm", "partner_center", "business_central"]


def audience_of(scope_or_resource: str) -> str:
    """``https://api.partnercenter.microsoft.com/.default`` -> ``https://api.partnercenter.microsoft.com``."""
    value = scope_or_resource.strip()
    for suffix in ("/.default", "/user_impersonation"):
        if value.endswith(suffix):
            value = value[: -len(suffix)]
    return value.rstrip("/")


def issue_token(
    audience: str, tenant_id: str, client_id: str, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """A signed access token with the claims resource servers check (``aud``, ``tid``, ``appid``, ``exp``)."""
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "tid": tenant_id,
        "appid": client_id,
        "azp": client_id,
        "idtyp": "app",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "uti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _SIGNING_KEY, algorithm=_ALGORITHM, headers={"typ": "JWT"})


def _entra_error(status: int, error: str, code: int, description: str, now: dt.datetime) -> Response:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return Response(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )


def _resource_error(style: ErrorStyle, code: str, message: str) -> Response:
    """A 401 in the shape the named resource answers with (ARM / BC OData error, Partner Center gateway)."""
    challenge = f'Bearer error="invalid_token", error_description="{message}"'
    if style == "partner_center":
        body: dict[str, Any] = {"statusCode": 401, "message": message}
    elif style == "business_central":
        body = {
            "error": {
                "code": "Authentication_InvalidCredentials",
                "message": f"{message}  CorrelationId:  {uuid.uuid4()}.",
            }
        }
    else:
        body = {"error": {"code": code, "message": message}}
    return Response(401, body, {"WWW-Authenticate": challenge})


def verify_bearer(request: Request, audience: str, style: ErrorStyle = "arm") -> bool | Response:
    """``True`` when the request carries a valid sandbox token for ``audience``, else the 401 to send back.

    Resource sandboxes call this first in each handler. Expiry is judged by the resource's own clock
    (``request.clock``), so moving the sandbox clock past a token's ``exp`` expires it. An armed
    ``expire_token`` fault on the route answers as if the token had just expired.
    """
    header = request.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _resource_error(
            style, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        )
    try:
        claims = jwt.decode(
            token.strip(),
            _SIGNING_KEY,
            algorithms=[_ALGORITHM],
            options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        return _resource_error(style, "InvalidAuthenticationToken", "The access token is invalid.")
    if audience_of(str(claims.get("aud", ""))) != audience_of(audience):
        return _resource_error(
            style,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource "
            f"'{claims.get('aud')}'. It should exactly match with one of the allowed audiences "
            f"'{audience_of(audience)}'.",
        )
    now = request.clock.now()
    expires = dt.datetime.fromtimestamp(int(claims.get("exp", 0)), dt.UTC)
    if request.has_fault("expire_token") or expires <= now:
        return _resource_error(
            style,
            "ExpiredAuthenticationToken",
            f"The access token expiry UTC time '{expires:%m/%d/%Y %H:%M:%S}' is earlier than "
            f"current UTC time '{now:%m/%d/%Y %H:%M:%S}'.",
        )
    return True


def build(clock: Clock, seed: int = 1, sign_in_clock: Clock | None = None, device_interval: int = 5) -> SandboxApp:
    """The Entra sandbox app: one partner tenant, the connectors' confidential client (``CREDENTIALS``) and the
    desk's app registration people sign in to (``entra_signin.DESK_APP``, directory ``entra_signin.DIRECTORY``).

    ``sign_in_clock`` times people's sign-ins (default: the wall clock, see ``sandbox.entra_signin``);
    ``device_interval`` is the polling interval the device-code endpoint asks for (Entra: 5 seconds)."""
    app = SandboxApp("entra", clock)
    signin = entra_signin.SignIn(TENANT_ID, _entra_error, sign_in_clock or Clock(), device_interval)
    refresh_lock = threading.Lock()
    live_refresh_tokens = {CREDENTIALS["refresh_token"]}

    def base_url(request: Request) -> str:
        return f"https://{request.header('Host', '127.0.0.1')}"

    def known_tenant(tenant: str) -> bool:
        return tenant.lower() in (TENANT_ID, *TENANT_DOMAINS, "organizations", "common")

    tenant_routes = Routes(app, r"/(?P<tenant>[^/]+)")
    entra_signin.register(app, signin, known_tenant, base_url)

    def issuer(request: Request) -> str:
        return f"{base_url(request)}/{TENANT_ID}/v2.0"

    @tenant_routes("GET", r"/v2\.0/\.well-known/openid-configuration")
    def discovery(request: Request) -> Response:
        tenant = request.params["tenant"]
        if not known_tenant(tenant):
            return _entra_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.", clock.now())
        root = f"{base_url(request)}/{tenant}"
        return Response(
            200,
            {
                "issuer": issuer(request),
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "response_modes_supported": ["query"],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token",
                                          entra_signin.DEVICE_GRANT],
                "code_challenge_methods_supported": ["S256", "plain"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid", "tid",
                                     "preferred_username", "ver"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "tenant_region_scope": "EU",
            },
        )

    def check_client(request: Request, form: dict[str, str]) -> Response | None:
        tenant = request.params["tenant"]
        if not known_tenant(tenant):
            return _entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.", clock.now())
        if form.get("client_id") != CREDENTIALS["client_id"]:
            return _entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{tenant}'.",
                clock.now(),
            )
        if form.get("client_secret") != CREDENTIALS["client_secret"]:
            return _entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                "client secret value, not the client secret ID.",
                clock.now(),
            )
        return None

    def grant(request: Request, audience: str, v1: bool) -> Response:
        now = clock.now()
        issued_at = now - 2 * TOKEN_LIFETIME if request.has_fault("expire_token") else now
        token = issue_token(audience, TENANT_ID, CREDENTIALS["client_id"], issued_at, TOKEN_LIFETIME)
        seconds = int(TOKEN_LIFETIME.total_seconds())
        if v1:
            return Response(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": str(seconds),
                    "ext_expires_in": str(seconds),
                    "expires_on": str(int(now.timestamp()) + seconds),
                    "not_before": str(int(now.timestamp())),
                    "resource": audience,
                    "access_token": token,
                },
            )
        return Response(
            200,
            {"token_type": "Bearer", "expires_in": seconds, "ext_expires_in": seconds, "access_token": token},
        )

    def desk_grant(request: Request, form: dict[str, str]) -> Response:
        """The desk app's grants: a person's authorization code (confidential: secret required) or device code
        (public client flow: no secret)."""
        now = clock.now()
        if not known_tenant(request.params["tenant"]):
            return _entra_error(400, "invalid_request", 90002, f"Tenant '{request.params['tenant']}' not found.", now)
        if form.get("client_id") != entra_signin.DESK_APP["client_id"]:
            return _entra_error(400, "unauthorized_client", 700016, f"Application with identifier "
                                f"'{form.get('client_id')}' was not found in the directory.", now)
        if form["grant_type"] == entra_signin.DEVICE_GRANT:
            return signin.poll_device(form, issuer(request))
        if "client_secret" not in form:
            return _entra_error(401, "invalid_client", 7000218, "The request body must contain the following "
                                "parameter: 'client_assertion' or 'client_secret'.", now)
        if form["client_secret"] != entra_signin.DESK_APP["client_secret"]:
            return _entra_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                                "being sent in the request is the client secret value, not the client secret ID.", now)
        return signin.redeem_code(form, issuer(request))

    def token_endpoint(request: Request, v1: bool) -> Response:
        form = request.form()
        if not v1 and form.get("grant_type") in ("authorization_code", entra_signin.DEVICE_GRANT):
            return desk_grant(request, form)
        refused = check_client(request, form)
        if refused is not None:
            return refused
        target = form.get("resource") if v1 else form.get("scope")
        if not target:
            field = "resource" if v1 else "scope"
            return _entra_error(
                400,
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: '{field}'.",
                clock.now(),
            )
        audience = audience_of(target.split()[0])
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            if not v1 and not all(scope.endswith("/.default") for scope in target.split()):
                # https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow: the scope
                # of a client-credentials request is the resource's identifier with the ``/.default`` suffix
                return _entra_error(
                    400,
                    "invalid_scope",
                    1002012,
                    f"The provided value for scope {target} is not valid. Client credential flows must have a "
                    "scope value with /.default suffixed to the resource identifier (application ID URI).",
                    clock.now(),
                )
            return grant(request, audience, v1)
        if grant_type == "refresh_token":
            with refresh_lock:
                presented = form.get("refresh_token", "")
                if presented not in live_refresh_tokens:
                    return _entra_error(
                        400,
                        "invalid_grant",
                        700082,
                        "The refresh token has expired due to inactivity.",
                        clock.now(),
                    )
                live_refresh_tokens.discard(presented)
                rotated = secrets.token_urlsafe(32)
                live_refresh_tokens.add(rotated)
            response = grant(request, audience, v1)
            response.body["refresh_token"] = rotated
            response.body["scope"] = target
            return response
        return _entra_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
            clock.now(),
        )

    tenant_routes("POST", r"/oauth2/v2\.0/token")(
        lambda request: token_endpoint(request, v1=False)
    )
    tenant_routes("POST", r"/oauth2/token")(lambda request: token_endpoint(request, v1=True))
    return app
