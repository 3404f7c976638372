"""The demo's ERP side: each legal entity's ``erp`` section pointed at its ERP sandbox, and Exact Online connected the
way a person connects it.

Why the connection goes through ``services.export.exact_connect``: that is what `cspbill erp connect` and the desk's
``/erp/connect/{tenant}`` run (authorise link with a one-time ``state``, the person's consent at Exact, the code
exchanged, the first refresh token stored, an audit event). The demo's finance person opens the link at the Exact
sandbox, agrees on its consent page over HTTP and hands back the address Exact sends them to; nothing seeds the token
store behind the flow's back.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from config import Settings
from connectors.token_store import TokenStore
from erp_export.exact_online import ExactOnlineExporter
from sandbox import bc_rest, bc_soap, exact_online
from services.access import Actor
from services.export.exact_connect import finish_connect, parse_answer, start_connect
from services.export.targets import erp_target

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def demo_erp(erp: dict[str, Any], urls: dict[str, str], ca_bundle: Path, authority: str,
             microsoft: dict[str, str], env: dict[str, str]) -> dict[str, Any]:
    """One tenant's ``erp`` section pointed at its sandbox; the credentials it names go into ``env``."""
    erp = dict(erp, ca_bundle=str(ca_bundle))
    if erp["kind"] == "bc_soap":
        erp["base_url"] = f"{urls['bc_soap']}/WS/{bc_soap.COMPANY}/Page/{bc_soap.SERVICE}"
        if erp.get("auth") == "entra":  # BC online: app-only tokens from the Entra sandbox
            erp["authority_url"] = authority
            env[erp["client_id_env"]] = microsoft["client_id"]
            env[erp["client_secret_env"]] = microsoft["client_secret"]
        else:
            env[erp["username_env"]] = bc_soap.CREDENTIALS["username"]
            env[erp["password_env"]] = bc_soap.CREDENTIALS["password"]
    elif erp["kind"] == "bc_rest":
        erp["base_url"] = f"{urls['bc_rest']}/{bc_rest.DEMO_TENANT}/{bc_rest.ENVIRONMENT}/api/v2.0"
        erp["company"] = bc_rest.COMPANY_NAME
        env[erp["client_id_env"]] = microsoft["client_id"]
        env[erp["client_secret_env"]] = microsoft["client_secret"]
    elif erp["kind"] == "exact_online":  # the app registered at the sandbox, with its redirect URI
        erp["base_url"] = urls["exact_online"]
        erp["redirect_uri"] = exact_online.CREDENTIALS["redirect_uri"]
        env[erp["client_id_env"]] = exact_online.CREDENTIALS["client_id"]
        env[erp["client_secret_env"]] = exact_online.CREDENTIALS["client_secret"]
    elif erp["kind"] == "none":
        erp.pop("ca_bundle")
    return erp


def connect_exact(settings: Settings, person: Actor, tenant: str) -> str:
    """Connect ``tenant``'s Exact Online through the onboarding flow unless it is connected already; says which."""
    exporter = erp_target(settings, settings.tenant(tenant)).exporter
    assert isinstance(exporter, ExactOnlineExporter)
    if TokenStore(exporter.config.token_store).read() is not None:
        return f"{tenant}: Exact Online already connected"
    started = start_connect(settings, person, tenant)
    code, state = parse_answer(consent(started.url, exporter.config.verify))
    done = finish_connect(settings, person, tenant, code, state)
    return (f"{tenant}: Exact Online connected by {person.username} at {done.connected_at:%Y-%m-%d %H:%M} UTC "
            f"(state checked, code exchanged, first refresh token stored; connect again by "
            f"{done.reconnect_by:%Y-%m-%d} if no export refreshes it)")


def consent(authorise_url: str, verify: bool | str) -> str:
    """What the person does in the browser: open the link, press "Toestaan" on Exact's consent page, and note the
    address Exact redirects to (the registered redirect URI with ``code`` and ``state``)."""
    page = requests.get(authorise_url, verify=verify, timeout=30)
    page.raise_for_status()
    form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    if action is None or not form:
        raise RuntimeError(f"no consent form at {authorise_url}")
    answer = requests.post(urljoin(authorise_url, action.group(1)), data={**form, "consent": "yes"}, verify=verify,
                           allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"Exact's consent answered {answer.status_code}, not a redirect")
    return answer.headers["Location"]
