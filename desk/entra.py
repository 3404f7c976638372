"""msal applications for people signing in with Microsoft Entra ID: the web desk's confidential client (authorization
code with PKCE) and the CLI's public client (device code), built from ``auth.entra`` the same way.

Why one factory: both must trust the same CA bundle, switch msal's instance discovery off for an authority that is
not one of Microsoft's login hosts (a private deployment or the loopback sandbox), and fail with one clear line when
Entra is not configured or its secret is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import msal
import requests
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

from config import Settings
from config.auth import Entra
from config.schema import MissingSecret, secret
from services.errors import NotSignedIn

TIMEOUT = (5, 30)  # connect, read seconds
Client = TypeVar("Client", msal.ConfidentialClientApplication, msal.PublicClientApplication)


class EntraUnavailable(NotSignedIn):
    """Entra ID sign-in is not configured here, or its authority cannot be reached."""


def entra_config(settings: Settings) -> Entra:
    if settings.auth.entra is None:
        raise EntraUnavailable("sign-in with Microsoft is not configured (config.yaml auth.entra)")
    return settings.auth.entra


class _Session(requests.Session):
    """Every request names the trusted CA and a timeout: requests would otherwise let ``REQUESTS_CA_BUNDLE`` win over
    a session's own bundle, and msal sets no timeout of its own."""

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, **kwargs)


def _options(settings: Settings, entra: Entra) -> dict[str, object]:
    known = (urlsplit(entra.authority).hostname or "").lower() in WELL_KNOWN_AUTHORITY_HOSTS
    session = _Session()
    session.verify = str((settings.base_dir / entra.ca_bundle).resolve()) if entra.ca_bundle else True
    return {"authority": entra.authority, "instance_discovery": known, "validate_authority": known,
            "http_client": session}


def web_client(settings: Settings) -> msal.ConfidentialClientApplication:
    """The desk's confidential client; built per sign-in (msal reads the discovery document when built), so no
    token cache outlives one person's sign-in."""
    entra = entra_config(settings)
    try:
        credential = secret(entra.client_secret_env)
    except MissingSecret as exc:
        raise EntraUnavailable(f"sign-in with Microsoft: auth.entra.client_secret_env: {exc}") from None
    if credential is None:
        raise EntraUnavailable("sign-in with Microsoft: auth.entra.client_secret_env is not set (the web desk is a "
                               "confidential client)")
    return _built(lambda: msal.ConfidentialClientApplication(entra.client_id, client_credential=credential,
                                                             **_options(settings, entra)), entra)


def device_client(settings: Settings) -> msal.PublicClientApplication:
    """The CLI's public client (device code: the app registration allows public client flows)."""
    entra = entra_config(settings)
    return _built(lambda: msal.PublicClientApplication(entra.client_id, **_options(settings, entra)), entra)


def _built(factory: Callable[[], Client], entra: Entra) -> Client:
    try:
        return factory()
    except (ValueError, requests.RequestException) as exc:
        raise EntraUnavailable(f"sign-in with Microsoft: the authority {entra.authority} cannot be reached or "
                               f"has no OpenID configuration ({type(exc).__name__})") from None
