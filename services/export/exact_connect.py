"""Connecting a legal entity's Exact Online: a person consents in Exact, we keep the first refresh token.

Why a service: `cspbill erp connect` and the desk's ``/erp/connect/{tenant}`` run the same steps: who may (finance or
admin of that legal entity, a signed-in person), a random ``state`` kept until the callback, the code exchange, the
first refresh token in the rotating store (``connectors.token_store``), an audit event, and the date by which a
person must connect again if nothing refreshes the token (30 days unused, erp.md §4.4).

The pending ``state`` lives in a 0600 file beside the token store, one per tenant: the person may open the link in one
process and paste the code in another. It is single-use and expires after ``STATE_LIFETIME``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from config import Settings
from erp_export.base import ErpError
from erp_export.exact_oauth import authorise_url, reconnect_due
from erp_export.exact_online import ExactOnlineExporter
from services.access import Actor, require, require_person
from services.errors import BadSetting, NotConfigured, NotFound, ValidationFailed
from services.export.targets import erp_target
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

STATE_LIFETIME = 600.0  # seconds between showing the link and the callback


@dataclass(frozen=True)
class ConnectStart:
    """Where the person goes to consent, and where Exact sends them back."""

    tenant: str
    url: str
    state: str
    redirect_uri: str


@dataclass(frozen=True)
class Connected:
    tenant: str
    connected_at: dt.datetime
    reconnect_by: dt.datetime  # the refresh token dies unused then: a person connects again unless exports ran


def start_connect(settings: Settings, who: Actor, tenant: str) -> ConnectStart:
    """The authorise link for ``tenant`` with a fresh ``state``, kept until ``finish_connect``."""
    exporter, redirect_uri = _exact(settings, who, tenant)
    state = secrets.token_urlsafe(24)
    pending = _pending(exporter)
    now = time.time()
    states = {s: at for s, at in _read(pending).items() if now - at < STATE_LIFETIME}
    states[state] = now
    _write(pending, states)
    return ConnectStart(tenant, authorise_url(exporter.config, redirect_uri, state), state, redirect_uri)


def finish_connect(settings: Settings, who: Actor, tenant: str, code: str, state: str | None) -> Connected:
    """Check ``state`` (or, for a bare code a person pasted, that a connection was started), exchange ``code``, store
    the first refresh token and audit it."""
    exporter, redirect_uri = _exact(settings, who, tenant)
    pending = _pending(exporter)
    now = time.time()
    states = {s: at for s, at in _read(pending).items() if now - at < STATE_LIFETIME}
    if state is None and len(states) == 1:
        state = next(iter(states))
    if not code or state is None or state not in states:
        raise ValidationFailed(f"tenant {tenant!r}: state: this answer does not belong to a connection started here "
                               f"in the last {STATE_LIFETIME / 60:.0f} minutes: run `cspbill erp connect --tenant "
                               f"{tenant}` again")
    del states[state]
    _write(pending, states)
    try:
        stored = exporter.oauth.authorise(code, redirect_uri)
    except ErpError as exc:
        raise ValidationFailed(f"tenant {tenant!r}: code: Exact refused it ({exc.message}); connect again") from exc
    connected = dt.datetime.fromtimestamp(stored.refreshed_at or now, dt.UTC)
    result = Connected(tenant, connected, reconnect_due(stored.refreshed_at or now))
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        row = uow.tenants.by_code(tenant)
        if row is None:
            raise NotFound(f"tenant {tenant!r}: not in the ledger (run `cspbill init`)")
        uow.audit.record(who.username, "erp.connect", "tenant", tenant, row.id,
                         after={"target": "exact_online", "authentication": who.authentication(),
                                "reconnect_by": result.reconnect_by.isoformat()}, at=connected)
    return result


def parse_answer(answer: str) -> tuple[str, str | None]:
    """``(code, state)`` from what a person pasted: the address Exact sent them to, or the bare code."""
    text = answer.strip()
    if "://" not in text and "code=" not in text:
        return text, None
    query = parse_qs(urlsplit(text).query if "://" in text else text.lstrip("?"))
    return (query.get("code") or [""])[0], (query.get("state") or [None])[0]


def _exact(settings: Settings, who: Actor, tenant: str) -> tuple[ExactOnlineExporter, str]:
    require(who, "finance", tenant)
    require_person(who, "connecting an ERP")
    try:
        config = settings.tenant(tenant)
    except KeyError as exc:
        raise NotConfigured(f"tenant {tenant!r}: not in config.yaml tenants") from exc
    if config.erp.kind != "exact_online":
        raise BadSetting(f"tenant {tenant!r}: erp.kind is {config.erp.kind!r}; only exact_online is connected by a "
                         "person's consent")
    if not config.erp.redirect_uri:
        raise BadSetting(f"tenant {tenant!r}: erp.redirect_uri is required to connect Exact Online (the redirect URI "
                         "registered for the app)")
    exporter = erp_target(settings, config).exporter
    assert isinstance(exporter, ExactOnlineExporter)
    return exporter, config.erp.redirect_uri


def _pending(exporter: ExactOnlineExporter) -> Path:
    store = exporter.config.token_store
    return store.with_name(store.name + ".connect")


def _read(path: Path) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text("utf-8")).items()}
    except (FileNotFoundError, ValueError, AttributeError):
        return {}


def _write(path: Path, states: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(states, handle)
