"""Entra ID app-only tokens for the Microsoft sources (client credentials through msal).

Why msal and not a hand-written token POST: msal owns the token cache, refreshes a token before it expires
(it serves the cached token until about five minutes before ``expires_in`` runs out) and honours Entra's throttling
rules. This module adds what msal leaves to the caller: typed errors, a CA bundle that wins over the environment,
logging without secrets, dropping a token the resource rejected, and an azure-core ``TokenCredential`` view so the
Cost Management SDK shares the same token source.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import requests
from azure.core.credentials import AccessToken

from connectors.errors import AuthenticationFailed, SourceUnavailable
from connectors.http import HttpPolicy, build_session

if TYPE_CHECKING:
    import msal

log = logging.getLogger("cspbill.auth")

# Hosts of Microsoft's own clouds: msal's instance discovery knows them. Any other authority (a sovereign or private
# deployment, the loopback sandbox) is not in Microsoft's discovery list, so discovery must be off for it (§1.3).
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)
# Entra OAuth error names that mean "these credentials or this request are wrong", not a transient failure.
_REFUSALS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_grant", "invalid_request", "invalid_scope", "invalid_tenant"}
)


class TokenProvider:
    """App-only bearer tokens for one (authority, client, scope).

    ``token()`` returns a valid access token (from msal's cache while it is fresh); ``invalidate()`` drops the cached
    token after a resource answered 401 for it, so the next ``token()`` asks Entra again.
    """

    def __init__(
        self,
        source: str,
        authority: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        policy: HttpPolicy | None = None,
        instance_discovery: bool | None = None,
    ) -> None:
        """``authority`` is ``https://<login host>/<tenant id>``; ``policy.verify`` may name a CA bundle file.

        ``instance_discovery`` defaults to on for Microsoft's login hosts and off for any other authority.
        """
        self.source = source
        self.authority = authority.rstrip("/")
        self.client_id = client_id
        self.scope = scope
        self._secret = client_secret
        self._policy = policy or HttpPolicy()
        host = (urlsplit(self.authority).hostname or "").lower()
        self._instance_discovery = (
            host in MICROSOFT_AUTHORITY_HOSTS if instance_discovery is None else instance_discovery
        )
        self._app: msal.ConfidentialClientApplication | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def tenant(self) -> str:
        return urlsplit(self.authority).path.strip("/").split("/")[0]

    def _application(self) -> msal.ConfidentialClientApplication:
        """Built on first use: msal fetches the OIDC discovery document in its constructor. msal is imported here,
        not with the module: every command that reaches a service holding a token provider would pay for it."""
        import msal

        if self._app is None:
            # The token POST is idempotent (client credentials), so transient 5xx/429 may be retried too.
            session = build_session(f"{self.source}.entra", self._policy, extra_retry_methods=("POST",))
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._secret,
                    authority=self.authority,
                    http_client=session,
                    instance_discovery=self._instance_discovery,
                    validate_authority=self._instance_discovery,
                )
            except requests.RequestException as exc:
                raise SourceUnavailable(self.source, f"Entra authority {self.authority} unreachable: {exc}") from exc
            except ValueError as exc:  # msal: discovery document missing or tenant unknown
                raise AuthenticationFailed(self.source, f"Entra authority {self.authority} refused: {exc}") from exc
        return self._app

    def token(self) -> str:
        """A bearer token for ``scope``; raises ``AuthenticationFailed`` or ``SourceUnavailable``."""
        import msal.exceptions

        with self._lock:
            app = self._application()
            try:
                result = app.acquire_token_for_client(scopes=[self.scope])
            except (requests.RequestException, ValueError, msal.exceptions.MsalServiceError) as exc:
                # msal raises instead of returning an error dict when the body is not OAuth JSON (5xx pages)
                raise SourceUnavailable(self.source, f"Entra token request failed: {exc}") from exc
            if "access_token" not in result:
                error = str(result.get("error", "unknown_error"))
                codes = result.get("error_codes") or []
                description = str(result.get("error_description", "")).split("\n")[0][:300]
                log.warning(
                    "%s: Entra refused client %s in tenant %s: %s %s",
                    self.source,
                    self.client_id,
                    self.tenant,
                    error,
                    codes,
                )
                failure = AuthenticationFailed if error in _REFUSALS else SourceUnavailable
                raise failure(self.source, f"Entra token request for {self.scope} failed: {error} {description}")
            if result.get("token_source") == "identity_provider":
                self._expires_at = time.time() + float(result.get("expires_in", 0))
                log.info(
                    "%s: new Entra token for client %s in tenant %s (%s)",
                    self.source,
                    self.client_id,
                    self.tenant,
                    self.scope,
                )
            return str(result["access_token"])

    def expires_at(self) -> float:
        """Epoch seconds at which the last token fetched from Entra expires (0 before the first fetch)."""
        return self._expires_at

    def renew(self, stale: str) -> str:
        """A new token after a resource refused ``stale`` (msal would otherwise serve the cached one again)."""
        self.invalidate()
        return self.token()

    def invalidate(self) -> None:
        """Forget cached tokens: the resource rejected ours (expired early, revoked, signing key rolled)."""
        with self._lock:
            if self._app is not None:
                self._app.remove_tokens_for_client()
            self._expires_at = 0.0
        log.info("%s: dropped cached Entra token for client %s in tenant %s", self.source, self.client_id, self.tenant)


class TokenProviderCredential:
    """An azure-core ``TokenCredential`` over a ``TokenProvider``, for SDK clients such as Cost Management.

    The SDK asks for its own scope (``https://management.azure.com/.default``); the provider must be configured for
    that scope, which is checked so a misconfigured source fails with a clear message instead of a 401 loop.
    """

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        if scopes and self.provider.scope not in scopes:
            raise AuthenticationFailed(
                self.provider.source, f"SDK asked for scope {scopes[0]!r}, provider is for {self.provider.scope!r}"
            )
        token = self.provider.token()
        expires = self.provider.expires_at() or time.time() + 300
        return AccessToken(token, int(expires))


class Bearer(Protocol):
    """A source of bearer tokens for one resource: ``TokenProvider`` (Entra) or a vendor's own token endpoint."""

    source: str

    def token(self) -> str: ...

    def renew(self, stale: str) -> str: ...


def send_with_bearer(
    session: requests.Session, provider: Bearer, method: str, url: str, **kwargs: object
) -> requests.Response:
    """Send a request with a bearer token; on 401 renew the token and try exactly once more with the new one.

    A 401 after the new token is returned to the caller, who reports it as ``AuthenticationFailed``.
    """
    headers: dict[str, str] = dict(kwargs.pop("headers", None) or {})  # type: ignore[arg-type]

    def send(token: str) -> requests.Response:
        bearer = {**headers, "Authorization": f"Bearer {token}"}
        return session.request(method, url, headers=bearer, **kwargs)  # type: ignore[arg-type]

    token = provider.token()
    response = send(token)
    if response.status_code == 401:
        log.info("%s: %s %s answered 401, retrying once with a new token", provider.source, method, urlsplit(url).path)
        response = send(provider.renew(token))
    return response
