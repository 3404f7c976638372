"""Exact Online's OAuth 2.0: the authorise link a person follows, the code exchange, and single-use refresh tokens.

Why apart from the exporter: connecting (``services.export.exact_connect``) needs the same token endpoint, error
reading and token store as exporting, but none of the documents. Refresh tokens are single-use (erp.md §4.4):
``connectors.token_store`` persists each new pair before the access token is used. Presenting a refresh token that
was already rotated is answered ``401 {"error": "unauthorized_client", "error_description": "Old refresh token
used."}`` by the live API (user reports); that, and a refresh whose answer was lost, mean a person must connect again
(``ErpReconnectRequired``), never that the document is wrong.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode, urljoin

import requests

from connectors.token_store import RefreshInterrupted, StoredTokens, TokenGrant, TokenStore
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpOutcomeUnknown,
    ErpReconnectRequired,
    ErpUnavailable,
    transport_failure,
)

TARGET = "exact_online"
# An unused refresh token is refused after 30 days (erp.md §4.4); each refresh starts the count again.
REFRESH_UNUSED_DAYS = 30


@dataclass(frozen=True)
class ExactConfig:
    """``base_url`` is the country host (``https://start.exactonline.nl``); ``token_store`` the refresh-token file;
    ``connection`` names the connection in errors (``tenant 'nl-bv'``) so a person knows what to connect again."""

    base_url: str
    client_id: str
    client_secret: str  # never logged
    token_store: Path
    division: int | None = None  # default: CurrentDivision of /current/Me
    document_kind: Literal["SalesEntries", "SalesInvoices"] = "SalesEntries"
    journal: str = "70"
    vat_codes: Mapping[str, str] = field(default_factory=dict)  # vat_key ("S:21") -> Exact VAT code ("2  ")
    verify: bool | str = True
    timeout: float = 60.0
    max_pacing_wait: float = 65.0  # longest sleep for the minutely reset; longer waits become ErpUnavailable
    connection: str = "this Exact Online connection"
    reconnect_hint: str = "connect it again"


def authorise_url(config: ExactConfig, redirect_uri: str, state: str, *, force_login: bool = True) -> str:
    """The page where a person signs in to Exact and consents; Exact sends them back to ``redirect_uri`` with
    ``code`` and ``state``."""
    query = {"client_id": config.client_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state,
             "force_login": "1" if force_login else "0"}
    return f"{urljoin(config.base_url, '/api/oauth2/auth')}?{urlencode(query)}"


def reconnect_due(refreshed_at: float) -> dt.datetime:
    """When the stored refresh token dies unused: a person must connect again unless an export refreshes it before."""
    return dt.datetime.fromtimestamp(refreshed_at, dt.UTC) + dt.timedelta(days=REFRESH_UNUSED_DAYS)


class ExactOAuth:
    """Token endpoint calls and the token store of one connection."""

    def __init__(self, config: ExactConfig, session: requests.Session, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = TokenStore(config.token_store, clock=clock)
        self._session = session
        self._clock = clock

    def authorise(self, code: str, redirect_uri: str) -> StoredTokens:
        """Exchange a (single-use) authorisation code and seed the token store; returns what was stored."""
        grant = self._token_call({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        now = self._clock()
        stored = StoredTokens(refresh_token=grant.refresh_token, access_token=grant.access_token,
                              access_expires_at=now + grant.expires_in, refreshed_at=now)
        with self.store.locked():
            self.store.write(stored)
        return stored

    def access_token(self, stale: str | None = None) -> str:
        """A usable access token (refreshed and stored first when needed); ``stale`` = one the API refused."""
        try:
            return self.store.access_token(
                lambda refresh: self._token_call({"grant_type": "refresh_token", "refresh_token": refresh}),
                stale=stale)
        except RefreshInterrupted as exc:
            raise self._reconnect(str(exc)) from exc
        except FileNotFoundError as exc:
            raise self._reconnect(f"never connected ({exc})") from exc

    def _reconnect(self, why: str) -> ErpReconnectRequired:
        return ErpReconnectRequired(TARGET, f"{self.config.connection}: {why}; a person must connect again "
                                            f"(re-authorise: {self.config.reconnect_hint})", code="reconnect")

    def _token_call(self, form: dict[str, str]) -> TokenGrant:
        form = {**form, "client_id": self.config.client_id, "client_secret": self.config.client_secret}
        try:
            response = self._session.post(urljoin(self.config.base_url, "/api/oauth2/token"), data=form)
        except requests.RequestException as exc:
            raise transport_failure(TARGET, exc, write=True) from exc
        if response.status_code != 200:
            try:
                body = response.json()
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            error, description = body.get("error", f"HTTP {response.status_code}"), body.get("error_description", "")
            if response.status_code in (429, 500, 502, 503, 504) or "not expired" in str(description):
                # Exact refuses refreshes within ~570 s of the last one: a wait, not a broken credential
                raise ErpUnavailable(TARGET, f"token endpoint: {error}", retry_after=60.0)
            if "old refresh token" in str(description).lower():
                raise self._reconnect(f"Exact refused the stored refresh token ({description})")
            raise ErpAuthenticationFailed(TARGET, f"token endpoint refused: {error}"
                                          + (f" ({description})" if description else ""), code=str(error),
                                          status=response.status_code)
        try:
            body = response.json()
            return TokenGrant(body["access_token"], body["refresh_token"], float(body["expires_in"]))
        except (ValueError, KeyError, TypeError) as exc:  # the refresh token may be spent: treat like a lost answer
            raise ErpOutcomeUnknown(TARGET, "unreadable answer from the token endpoint") from exc
