"""connectors.auth against the Entra sandbox over HTTPS: msal client credentials, cache, refusals, CA trust."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.auth import TokenProvider, send_with_bearer
from connectors.errors import AuthenticationFailed, SourceUnavailable
from connectors.http import HttpPolicy, build_session
from connectors.partner_center import SCOPE as PC_SCOPE
from sandbox import entra
from sandbox.core import SandboxServer
from sandbox.tls import make_tls_files

TOKEN_ROUTE = ("POST", f"/{entra.CREDENTIALS['tenant_id']}/oauth2/v2.0/token")


def token_posts(server: SandboxServer) -> int:
    return sum(1 for call in server.app.calls if call == TOKEN_ROUTE)


def test_client_credentials_token_is_cached(make_tokens, entra_server: SandboxServer) -> None:
    tokens = make_tokens(PC_SCOPE)
    first, second = tokens.token(), tokens.token()
    assert first == second
    assert token_posts(entra_server) == 1
    assert ("GET", f"/{entra.CREDENTIALS['tenant_id']}/v2.0/.well-known/openid-configuration") in entra_server.app.calls


def test_invalidate_fetches_a_new_token(make_tokens, entra_server: SandboxServer) -> None:
    tokens = make_tokens(PC_SCOPE)
    tokens.token()
    tokens.invalidate()
    tokens.token()
    assert token_posts(entra_server) == 2


def test_wrong_secret_is_refused(make_tokens) -> None:
    with pytest.raises(AuthenticationFailed, match="invalid_client"):
        make_tokens(PC_SCOPE, secret="wrong").token()


def test_unknown_tenant_is_refused(entra_server: SandboxServer, policy: HttpPolicy) -> None:
    tokens = TokenProvider("test", f"{entra_server.url}/no-such-tenant", entra.CREDENTIALS["client_id"],
                           entra.CREDENTIALS["client_secret"], PC_SCOPE, policy=policy)
    with pytest.raises(AuthenticationFailed):
        tokens.token()


def test_untrusted_certificate_is_not_accepted(entra_server: SandboxServer, policy: HttpPolicy,
                                               tmp_path: Path) -> None:
    """The configured CA bundle is the only trust: another CA (or the system store via env) must not do."""
    other_ca = make_tls_files(tmp_path / "other").ca_cert
    strict = HttpPolicy(retries=0, verify=str(other_ca), read_timeout=policy.read_timeout)
    tokens = TokenProvider("test", f"{entra_server.url}/{entra.CREDENTIALS['tenant_id']}",
                           entra.CREDENTIALS["client_id"], entra.CREDENTIALS["client_secret"], PC_SCOPE,
                           policy=strict)
    with pytest.raises(SourceUnavailable):
        tokens.token()


def test_entra_outage_is_reported_after_retries(make_tokens, entra_server: SandboxServer) -> None:
    entra_server.app.faults.arm("POST .*/token", "status", status=503, times=-1)
    with pytest.raises(SourceUnavailable):
        make_tokens(PC_SCOPE).token()


def test_rejected_token_is_replaced_once(make_tokens, pc_server: SandboxServer, entra_server: SandboxServer,
                                         policy: HttpPolicy) -> None:
    tokens = make_tokens(PC_SCOPE)
    session = build_session("test", policy)
    url = f"{pc_server.url}/pc/v1/customers?size=1"
    pc_server.app.faults.arm("GET /v1/customers", "expire_token", times=1)
    assert send_with_bearer(session, tokens, "GET", url).status_code == 200
    assert token_posts(entra_server) == 2

    pc_server.app.faults.arm("GET /v1/customers", "expire_token", times=-1)
    response = send_with_bearer(session, tokens, "GET", url)
    assert response.status_code == 401
    assert token_posts(entra_server) == 3  # exactly one more attempt, never a loop


def test_token_expired_by_the_sandbox_clock_is_refreshed(make_tokens, pc_server: SandboxServer, clock,
                                                         policy: HttpPolicy) -> None:
    """Entra issues a token that is already past ``exp`` for the resource (clock skew): one refresh fixes it."""
    tokens = make_tokens(PC_SCOPE)
    session = build_session("test", policy)
    tokens.token()  # cached, then the resource's clock moves past its expiry
    clock.advance(hours=2)
    assert send_with_bearer(session, tokens, "GET", f"{pc_server.url}/pc/v1/customers?size=1").status_code == 200


def test_token_issued_already_expired_is_replaced(make_tokens, entra_server: SandboxServer, pc_server: SandboxServer,
                                                  policy: HttpPolicy) -> None:
    """Entra hands out a token the resource already considers expired (clock skew): one refresh, then success."""
    entra_server.app.faults.arm("POST .*/oauth2/v2.0/token", "expire_token", times=1)
    tokens = make_tokens(PC_SCOPE)
    session = build_session("test", policy)
    assert send_with_bearer(session, tokens, "GET", f"{pc_server.url}/pc/v1/customers?size=1").status_code == 200
    assert token_posts(entra_server) == 2
