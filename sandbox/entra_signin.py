"""Microsoft Entra ID stand-in, people's side: the v2 authorize endpoint with a sign-in page of the sandbox directory,
authorization codes with PKCE, the device-code flow with its verification page, ID tokens and the signing keys.

Why apart from ``sandbox.entra``: that module serves apps (client credentials, refresh tokens, bearer checks for the
resource sandboxes); this one serves people signing in to an app (the web desk's OpenID Connect code flow, the CLI's
device code), so that msal runs unchanged against both. Wire contract: Microsoft identity platform docs
``v2-oauth2-auth-code-flow``, ``v2-oauth2-device-code`` and ``id-token-claims-reference``.

Times here come from ``sign_in_clock`` (the wall clock unless a test passes its own), not the sandbox clock the
resource sandboxes share: the demo replays a past month on the sandbox clock, while the desk checks an ID token's
``exp`` against the real time, as it would against Entra.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.routing import Routes

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_LIFETIME = dt.timedelta(minutes=10)
ID_TOKEN_LIFETIME = dt.timedelta(hours=1)
DEVICE_CODE_SECONDS = 900  # "the user has 15 minutes to sign in" (v2-oauth2-device-code)
SLOW_DOWN_SECONDS = 5  # RFC 8628 §3.5: a client polling too fast adds this to its interval
# Entra ignores the port of a loopback redirect URI ("localhost exceptions" in reply-url): any port matches these.
DESK_REDIRECT_PATH = "/login/entra/callback"
DESK_APP: dict[str, str] = {
    "client_id": "5d0e8c41-3b6f-4a2e-9f7d-1c2b3a4d5e6f",
    "client_secret": "sandbox-desk-secret-not-for-production",
}
DIRECTORY_DOMAIN = "wolkwerk-demo.onmicrosoft.com"
# The sandbox directory: the demo's people by their sign-in names, plus one nobody mapped into config.yaml.
DIRECTORY: tuple[tuple[str, str, str], ...] = (
    ("0b1d2c3e-0000-4000-8000-00000000da0a", f"dana@{DIRECTORY_DOMAIN}", "Dana de Vries"),
    ("0b1d2c3e-0000-4000-8000-00000000f100", f"finn@{DIRECTORY_DOMAIN}", "Finn Jansen"),
    ("0b1d2c3e-0000-4000-8000-00000000a0a0", f"anna@{DIRECTORY_DOMAIN}", "Anna Bakker"),
    ("0b1d2c3e-0000-4000-8000-000000006e7a", f"greta@{DIRECTORY_DOMAIN}", "Greta Schulz"),
    ("0b1d2c3e-0000-4000-8000-00000000ada0", f"ada@{DIRECTORY_DOMAIN}", "Ada Admin"),
    ("0b1d2c3e-0000-4000-8000-0000000000e1", f"erik@{DIRECTORY_DOMAIN}", "Erik External"),
)

ErrorFn = Callable[[int, str, int, str, dt.datetime], Response]


@dataclass(frozen=True)
class DirectoryUser:
    oid: str
    username: str  # preferred_username (the UPN)
    name: str


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    challenge: str | None
    method: str
    user: DirectoryUser
    expires: dt.datetime
    redeemed: bool = False


@dataclass
class _Device:
    client_id: str
    scope: str
    user_code: str
    expires: dt.datetime
    interval: int
    last_poll: dt.datetime | None = None
    user: DirectoryUser | None = None
    done: bool = False


@dataclass
class SignIn:
    """The people's side of one Entra sandbox: directory, codes, device flows and the ID-token key."""

    tenant_id: str
    error: ErrorFn
    clock: Clock
    device_interval: int = 5
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    devices: dict[str, _Device] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for oid, username, name in DIRECTORY:
            self.add_user(username, name, oid)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(public["n"].encode()).digest()[:20]).decode().rstrip("=")
        self.jwks = {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def add_user(self, username: str, name: str, oid: str | None = None) -> DirectoryUser:
        user = DirectoryUser(oid or str(uuid.uuid4()), username, name)
        with self.lock:
            self.users[username.lower()] = user
        return user

    # -- tokens ---------------------------------------------------------------------------------------------------
    def id_token(self, user: DirectoryUser, client_id: str, nonce: str | None, issuer: str) -> str:
        now = self.clock.now()
        claims = {
            "aud": client_id, "iss": issuer, "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
            "exp": int((now + ID_TOKEN_LIFETIME).timestamp()), "name": user.name, "oid": user.oid,
            "preferred_username": user.username, "rh": secrets.token_urlsafe(12),
            "sub": base64.urlsafe_b64encode(hashlib.sha256(f"{user.oid}:{client_id}".encode()).digest()).decode()
            .rstrip("="), "tid": self.tenant_id, "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"typ": "JWT", "kid": self.kid})

    def tokens(self, user: DirectoryUser, client_id: str, scope: str, nonce: str | None, issuer: str) -> Response:
        scopes = scope.split()
        body: dict[str, object] = {
            "token_type": "Bearer", "scope": " ".join(s for s in scopes if s not in ("openid", "offline_access")),
            "expires_in": 3599, "ext_expires_in": 3599, "access_token": secrets.token_urlsafe(48),
        }
        if "offline_access" in scopes:
            body["refresh_token"] = secrets.token_urlsafe(48)
        if "openid" in scopes:
            body["id_token"] = self.id_token(user, client_id, nonce, issuer)
            body["client_info"] = base64.urlsafe_b64encode(
                f'{{"uid":"{user.oid}","utid":"{self.tenant_id}"}}'.encode()).decode().rstrip("=")
        return Response(200, body)

    # -- authorization code ---------------------------------------------------------------------------------------
    def issue_code(self, params: dict[str, str], user: DirectoryUser) -> str:
        code = secrets.token_urlsafe(48)
        with self.lock:
            self.codes[code] = _Code(params["client_id"], params["redirect_uri"], params.get("scope", ""),
                                     params.get("nonce"), params.get("code_challenge"),
                                     params.get("code_challenge_method") or "plain", user,
                                     self.clock.now() + CODE_LIFETIME)
        return code

    def redeem_code(self, form: dict[str, str], issuer: str) -> Response:
        now = self.clock.now()
        with self.lock:
            grant = self.codes.get(form.get("code", ""))
            if grant is None:
                return self.error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or "
                                  "invalid. The provided value for the 'code' parameter is not valid.", now)
            if grant.redeemed:
                return self.error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                                  "please retry with a new valid code or use an existing refresh token.", now)
            if grant.expires <= now:
                return self.error(400, "invalid_grant", 70008, "The provided authorization code or refresh token "
                                  "has expired due to inactivity. Send a new interactive authorization request "
                                  "for this user and resource.", now)
            if form.get("client_id") != grant.client_id:
                return self.error(400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not "
                                  "valid. The code was not issued to this client.", now)
            if form.get("redirect_uri") != grant.redirect_uri:
                return self.error(400, "invalid_grant", 50011, f"The redirect URI '{form.get('redirect_uri')}' "
                                  f"specified in the request does not match the redirect URI used to obtain the "
                                  f"authorization code.", now)
            if grant.challenge is not None and pkce_challenge(form.get("code_verifier", ""),
                                                              grant.method) != grant.challenge:
                return self.error(400, "invalid_grant", 50148, "The code_verifier does not match the "
                                  "code_challenge supplied in the authorization request for PKCE.", now)
            grant.redeemed = True
        return self.tokens(grant.user, grant.client_id, grant.scope, grant.nonce, issuer)

    # -- device code ----------------------------------------------------------------------------------------------
    def start_device(self, client_id: str, scope: str, verification_uri: str) -> Response:
        device_code = secrets.token_urlsafe(48)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ23456789") for _ in range(9))
        with self.lock:
            self.devices[device_code] = _Device(client_id, scope, user_code,
                                                self.clock.now() + dt.timedelta(seconds=DEVICE_CODE_SECONDS),
                                                self.device_interval)
        return Response(200, {
            "user_code": user_code, "device_code": device_code, "verification_uri": verification_uri,
            "expires_in": DEVICE_CODE_SECONDS, "interval": self.device_interval,
            "message": f"To sign in, use a web browser to open the page {verification_uri} and enter the code "
                       f"{user_code} to authenticate.",
        })

    def approve_device(self, user_code: str, username: str) -> str | None:
        """Approve the waiting device flow of ``user_code`` as ``username``; the problem when it cannot be."""
        now = self.clock.now()
        with self.lock:
            flow = next((f for f in self.devices.values() if f.user_code == user_code.strip().upper()), None)
            user = self.users.get(username.lower())
            if flow is None or flow.done or user is None:
                return "AADSTS70018: Invalid verification code due to User typing in wrong user code."
            if flow.expires <= now:
                return "AADSTS70019: Verification code expired. Retry the sign-in on your device."
            flow.user = user
        return None

    def poll_device(self, form: dict[str, str], issuer: str) -> Response:
        now = self.clock.now()
        with self.lock:
            flow = self.devices.get(form.get("device_code", ""))
            if flow is None or flow.done or flow.client_id != form.get("client_id"):
                return self.error(400, "bad_verification_code", 9002313, "Invalid request. The provided value "
                                  "for the input parameter 'device_code' is not valid.", now)
            if flow.expires <= now:
                return self.error(400, "expired_token", 70019, "Verification code expired.", now)
            too_soon = flow.last_poll is not None and now - flow.last_poll < dt.timedelta(seconds=flow.interval)
            flow.last_poll = now
            if flow.user is None:
                if too_soon:
                    flow.interval += SLOW_DOWN_SECONDS
                    return self.error(400, "slow_down", 70016, "OAuth 2.0 device flow error. Polling too "
                                      "frequently; slow down.", now)
                return self.error(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. "
                                  "Authorization is pending. Continue polling.", now)
            flow.done = True
        return self.tokens(flow.user, flow.client_id, flow.scope, None, issuer)


def pkce_challenge(verifier: str, method: str) -> str:
    """RFC 7636 §4.2: S256 is BASE64URL(SHA256(verifier)) without padding; plain is the verifier itself."""
    if method == "S256":
        return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")
    return verifier


def redirect_allowed(redirect_uri: str) -> bool:
    """The desk app's registered redirect URIs: its callback on a loopback host (any port, as Entra allows for
    localhost) or any https host."""
    parts = urlsplit(redirect_uri)
    if parts.path != DESK_REDIRECT_PATH or parts.query or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))


def page(title: str, body: str, status: int = 200) -> Response:
    text = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(status, text, content_type="text/html; charset=utf-8")


def user_choices(users: list[DirectoryUser]) -> str:
    return "".join(
        f'<p><label><input type="radio" name="username" value="{html.escape(u.username)}" required> '
        f'{html.escape(u.name)} ({html.escape(u.username)})</label></p>' for u in users)


def register(app: SandboxApp, signin: SignIn, known_tenant: Callable[[str], bool],
             base_url: Callable[[Request], str]) -> None:
    """The authorize endpoint, the device-code endpoint and page, the signing keys and the directory admin route."""
    tenant_routes = Routes(app, r"/(?P<tenant>[^/]+)")

    def authorize_problem(request: Request, params: dict[str, str]) -> Response | None:
        now = signin.clock.now()
        if not known_tenant(request.params["tenant"]):
            return page("Sign in", f"<p>AADSTS90002: Tenant '{html.escape(request.params['tenant'])}' not "
                        f"found.</p>", 400)
        if params.get("client_id") != DESK_APP["client_id"]:
            return page("Sign in", f"<p>AADSTS700016: Application with identifier "
                        f"'{html.escape(params.get('client_id', ''))}' was not found in the directory.</p>", 400)
        if not redirect_allowed(params.get("redirect_uri", "")):
            return page("Sign in", f"<p>AADSTS50011: The redirect URI '{html.escape(params.get('redirect_uri', ''))}'"
                        f" specified in the request does not match the redirect URIs configured for the application "
                        f"'{DESK_APP['client_id']}'.</p>", 400)
        problem = None
        if params.get("response_type") != "code":
            problem = ("unsupported_response_type", 700054, f"response_type '{params.get('response_type')}' is not "
                       f"enabled for the application.")
        elif "openid" not in params.get("scope", "").split():
            problem = ("invalid_request", 900144, "The request body must contain the following parameter: "
                       "'scope' with openid.")
        elif params.get("response_mode", "query") != "query":
            problem = ("invalid_request", 70007, f"response_mode '{params.get('response_mode')}' is not supported "
                       f"by this sandbox (query only).")
        elif params.get("code_challenge_method") and params["code_challenge_method"] not in ("S256", "plain"):
            problem = ("invalid_request", 50148, "code_challenge_method must be S256 or plain.")
        elif params.get("code_challenge_method") and not params.get("code_challenge"):
            problem = ("invalid_request", 900144, "The request body must contain the following parameter: "
                       "'code_challenge'.")
        if problem is None:
            return None
        error, code, text = problem
        query = {"error": error, "error_description": f"AADSTS{code}: {text} Timestamp: {now:%Y-%m-%d %H:%M:%SZ}"}
        if params.get("state"):
            query["state"] = params["state"]
        return Response(302, "", {"Location": f"{params['redirect_uri']}?{urlencode(query)}"})

    @tenant_routes("GET", r"/oauth2/v2\.0/authorize")
    def authorize(request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items()}
        refused = authorize_problem(request, params)
        if refused is not None:
            return refused
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items())
        with signin.lock:
            users = sorted(signin.users.values(), key=lambda u: u.username)
        return page("Sign in to your account (Entra sandbox)",
                    f'<form method="post">{hidden}<p>Pick an account:</p>{user_choices(users)}'
                    f'<button type="submit">Sign in</button></form>')

    @tenant_routes("POST", r"/oauth2/v2\.0/authorize")
    def authorize_submit(request: Request) -> Response:
        params = request.form()
        username = params.pop("username", "")
        refused = authorize_problem(request, params)
        if refused is not None:
            return refused
        with signin.lock:
            user = signin.users.get(username.lower())
        if user is None:
            return page("Sign in", "<p>AADSTS50034: The user account does not exist in the directory.</p>", 400)
        query = {"code": signin.issue_code(params, user)}
        if params.get("state"):
            query["state"] = params["state"]
        return Response(302, "", {"Location": f"{params['redirect_uri']}?{urlencode(query)}"})

    @tenant_routes("POST", r"/oauth2/v2\.0/devicecode")
    def devicecode(request: Request) -> Response:
        form = request.form()
        now = signin.clock.now()
        if not known_tenant(request.params["tenant"]):
            return signin.error(400, "invalid_tenant", 90002, f"Tenant '{request.params['tenant']}' not found.", now)
        if form.get("client_id") != DESK_APP["client_id"]:
            return signin.error(400, "unauthorized_client", 700016, f"Application with identifier "
                                f"'{form.get('client_id')}' was not found in the directory.", now)
        if not form.get("scope"):
            return signin.error(400, "invalid_request", 900144, "The request body must contain the following "
                                "parameter: 'scope'.", now)
        return signin.start_device(form["client_id"], form["scope"], f"{base_url(request)}/devicelogin")

    @tenant_routes("GET", r"/discovery/v2\.0/keys")
    def keys(request: Request) -> Response:
        return Response(200, signin.jwks)

    def device_page(message: str = "", status: int = 200) -> Response:
        with signin.lock:
            users = sorted(signin.users.values(), key=lambda u: u.username)
        note = f"<p role=\"alert\">{html.escape(message)}</p>" if message else ""
        return page("Enter code (Entra sandbox)",
                    f'{note}<form method="post" action="/devicelogin"><p><label>Code <input name="otc" '
                    f'required></label></p>{user_choices(users)}<button type="submit">Next</button></form>', status)

    app.router.add("GET", r"/devicelogin", lambda request: device_page())

    def device_submit(request: Request) -> Response:
        form = request.form()
        problem = signin.approve_device(form.get("otc", ""), form.get("username", ""))
        if problem:
            return device_page(problem, 400)
        return page("You're signed in (Entra sandbox)", "<p>You may now close this window and return to your "
                    "device.</p>")

    app.router.add("POST", r"/devicelogin", device_submit)

    def add_directory_user(request: Request) -> Response:
        spec = request.json() or {}
        user = signin.add_user(str(spec["preferred_username"]), str(spec.get("name") or spec["preferred_username"]),
                               spec.get("oid"))
        return Response(201, {"oid": user.oid, "preferred_username": user.username, "name": user.name})

    app.router.add("POST", r"/__admin/directory", add_directory_user)
