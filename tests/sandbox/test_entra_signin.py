"""The Entra sandbox's people side against Microsoft's documented wire contract, driven by msal where msal drives it.

Contract sources (MicrosoftDocs/entra-docs, published at learn.microsoft.com/entra/identity-platform/):
- https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow (authorize parameters: client_id,
  response_type=code, redirect_uri, scope, response_mode=query, state, code_challenge, code_challenge_method S256 or
  plain; the redirect back with ``code`` and ``state``; the token request with code, redirect_uri, code_verifier and
  client_secret; ``invalid_grant`` when the code or the PKCE verifier is wrong; error bodies with error_codes,
  timestamp, trace_id, correlation_id)
- https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code (``/devicecode`` answers user_code,
  device_code, verification_uri, expires_in 900, interval, message; polling with
  ``urn:ietf:params:oauth:grant-type:device_code``: authorization_pending, expired_token, then tokens with id_token)
  and RFC 8628 §3.5 for ``slow_down``
- https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (aud, iss ending in /v2.0, iat, nbf,
  exp, name, nonce, oid, preferred_username, sub, tid, uti, ver "2.0"; header typ, alg RS256, kid)
- https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS50011, 50148, 54005, 70016,
  70019, 700016, 7000218)
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import pytest
import requests

from sandbox import entra
from sandbox.entra_signin import DESK_APP, DEVICE_GRANT, pkce_challenge
from tests.web.entra import EntraSandbox, entra_sandbox

REDIRECT = "http://localhost:8000/login/entra/callback"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[EntraSandbox]:
    with entra_sandbox(tmp_path) as running:
        yield running


def client(sandbox: EntraSandbox, public: bool = False) -> msal.ClientApplication:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE wins over the session's CA
    session.verify = str(sandbox.tls.ca_cert)
    options = {"authority": sandbox.authority, "instance_discovery": False, "validate_authority": False,
               "http_client": session}
    if public:
        return msal.PublicClientApplication(DESK_APP["client_id"], **options)
    return msal.ConfidentialClientApplication(DESK_APP["client_id"], client_credential=DESK_APP["client_secret"],
                                              **options)


def get(sandbox: EntraSandbox, url: str, **kwargs) -> requests.Response:
    return requests.get(url, verify=str(sandbox.tls.ca_cert), timeout=10, allow_redirects=False, **kwargs)


def post(sandbox: EntraSandbox, url: str, data: dict[str, str]) -> requests.Response:
    return requests.post(url, data=data, verify=str(sandbox.tls.ca_cert), timeout=10, allow_redirects=False)


def sign_in_at(sandbox: EntraSandbox, auth_uri: str, username: str) -> dict[str, str]:
    """Pick ``username`` on the sandbox's sign-in page; the query the browser is sent back with."""
    page = get(sandbox, auth_uri)
    assert page.status_code == 200 and username in page.text
    form = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()} | {"username": username}
    back = post(sandbox, auth_uri.split("?")[0], form)
    assert back.status_code == 302
    location = urlsplit(back.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_discovery_advertises_the_sign_in_endpoints(sandbox: EntraSandbox) -> None:
    doc = get(sandbox, f"{sandbox.authority}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{sandbox.url}/{entra.TENANT_ID}/v2.0"
    assert doc["authorization_endpoint"] == f"{sandbox.authority}/oauth2/v2.0/authorize"
    assert doc["device_authorization_endpoint"] == f"{sandbox.authority}/oauth2/v2.0/devicecode"
    assert "S256" in doc["code_challenge_methods_supported"] and DEVICE_GRANT in doc["grant_types_supported"]
    keys = get(sandbox, doc["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["use"] == "sig" and keys[0]["kid"]


def test_code_flow_with_pkce_gives_a_documented_id_token(sandbox: EntraSandbox) -> None:
    app = client(sandbox)
    flow = app.initiate_auth_code_flow([], redirect_uri=REDIRECT, response_mode="query")
    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert {"openid", "profile"} <= set(query["scope"][0].split()) and query["nonce"] and query["state"]
    answer = sign_in_at(sandbox, flow["auth_uri"], "anna@wolkwerk-demo.onmicrosoft.com")
    assert answer["state"] == flow["state"] and answer["code"]
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert "id_token" in result, result
    keys = get(sandbox, f"{sandbox.authority}/discovery/v2.0/keys").json()
    header = jwt.get_unverified_header(result["id_token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"] == keys["keys"][0]["kid"]
    key = jwt.PyJWK(keys["keys"][0]).key
    claims = jwt.decode(result["id_token"], key, algorithms=["RS256"], audience=DESK_APP["client_id"],
                        issuer=f"{sandbox.url}/{entra.TENANT_ID}/v2.0")
    assert claims["tid"] == entra.TENANT_ID and claims["ver"] == "2.0"
    assert claims["preferred_username"] == "anna@wolkwerk-demo.onmicrosoft.com" and claims["name"]
    assert {"oid", "sub", "iat", "nbf", "exp", "nonce", "uti"} <= set(claims)
    assert result["refresh_token"] and result["access_token"] and result["token_type"] == "Bearer"


def _code(sandbox: EntraSandbox, verifier: str = "v" * 43) -> dict[str, str]:
    auth = (f"{sandbox.authority}/oauth2/v2.0/authorize?client_id={DESK_APP['client_id']}&response_type=code"
            f"&redirect_uri={REDIRECT}&scope=openid+profile&state=s1&nonce=n1&response_mode=query"
            f"&code_challenge={pkce_challenge(verifier, 'S256')}&code_challenge_method=S256")
    answer = sign_in_at(sandbox, auth, "finn@wolkwerk-demo.onmicrosoft.com")
    return {"client_id": DESK_APP["client_id"], "client_secret": DESK_APP["client_secret"], "code": answer["code"],
            "redirect_uri": REDIRECT, "grant_type": "authorization_code", "code_verifier": verifier}


REDEMPTION_ERRORS = [  # (what changes in the token request, status, error, AADSTS code)
    ({"code_verifier": "w" * 43}, 400, "invalid_grant", 50148),
    ({"redirect_uri": "http://localhost:9/login/entra/callback"}, 400, "invalid_grant", 50011),
    ({"client_secret": None}, 401, "invalid_client", 7000218),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client", 700016),
    ({"code": "not-a-code"}, 400, "invalid_grant", 9002313),
]


@pytest.mark.parametrize(("change", "status", "error", "code"), REDEMPTION_ERRORS)
def test_code_redemption_refusals_answer_like_entra(sandbox: EntraSandbox, change: dict, status: int, error: str,
                                                    code: int) -> None:
    form = _code(sandbox)
    form = {k: v for k, v in (form | change).items() if v is not None}
    answer = post(sandbox, f"{sandbox.authority}/oauth2/v2.0/token", form)
    body = answer.json()
    assert answer.status_code == status and body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:") and body["trace_id"] and body["correlation_id"]


def test_a_code_is_redeemed_once(sandbox: EntraSandbox) -> None:
    form = _code(sandbox)
    assert post(sandbox, f"{sandbox.authority}/oauth2/v2.0/token", form).status_code == 200
    again = post(sandbox, f"{sandbox.authority}/oauth2/v2.0/token", form).json()
    assert again["error"] == "invalid_grant" and again["error_codes"] == [54005]


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(sandbox: EntraSandbox) -> None:
    page = get(sandbox, f"{sandbox.authority}/oauth2/v2.0/authorize", params={
        "client_id": DESK_APP["client_id"], "response_type": "code", "scope": "openid",
        "redirect_uri": "https://evil.example/steal"})
    assert page.status_code == 400 and "AADSTS50011" in page.text and "Location" not in page.headers


def test_device_code_polling_pending_slow_down_then_tokens(sandbox: EntraSandbox) -> None:
    start = post(sandbox, f"{sandbox.authority}/oauth2/v2.0/devicecode",
                 {"client_id": DESK_APP["client_id"], "scope": "openid profile offline_access"}).json()
    assert set(start) == {"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"}
    assert start["expires_in"] == 900 and start["user_code"] in start["message"]
    poll = {"grant_type": DEVICE_GRANT, "client_id": DESK_APP["client_id"], "device_code": start["device_code"]}
    token_url = f"{sandbox.authority}/oauth2/v2.0/token"
    first = post(sandbox, token_url, poll).json()
    assert first["error"] == "authorization_pending" and first["error_codes"] == [70016]
    assert post(sandbox, token_url, poll).json()["error"] == "slow_down"  # polled again at once
    page = get(sandbox, start["verification_uri"])
    assert page.status_code == 200 and 'name="otc"' in page.text
    wrong = post(sandbox, start["verification_uri"], {"otc": "NOPE", "username": "ada@wolkwerk-demo.onmicrosoft.com"})
    assert wrong.status_code == 400 and "AADSTS70018" in wrong.text
    approved = post(sandbox, start["verification_uri"],
                    {"otc": start["user_code"], "username": "ada@wolkwerk-demo.onmicrosoft.com"})
    assert approved.status_code == 200
    sandbox.clock.advance(seconds=30)
    tokens = post(sandbox, token_url, poll).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["preferred_username"] == "ada@wolkwerk-demo.onmicrosoft.com"
    assert claims["aud"] == DESK_APP["client_id"]
    assert post(sandbox, token_url, poll).json()["error"] == "bad_verification_code"  # used once


def test_an_unapproved_device_code_expires(sandbox: EntraSandbox) -> None:
    start = post(sandbox, f"{sandbox.authority}/oauth2/v2.0/devicecode",
                 {"client_id": DESK_APP["client_id"], "scope": "openid"}).json()
    sandbox.clock.set(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=start["expires_in"] + 1))
    late = post(sandbox, f"{sandbox.authority}/oauth2/v2.0/token",
                {"grant_type": DEVICE_GRANT, "client_id": DESK_APP["client_id"],
                 "device_code": start["device_code"]}).json()
    assert late["error"] == "expired_token" and late["error_codes"] == [70019]


def test_msal_device_flow_completes_once_the_person_approves(sandbox: EntraSandbox) -> None:
    app = client(sandbox, public=True)
    flow = app.initiate_device_flow(scopes=[])
    approver = threading.Timer(0.5, lambda: post(sandbox, flow["verification_uri"], {
        "otc": flow["user_code"], "username": "greta@wolkwerk-demo.onmicrosoft.com"}))
    approver.start()
    result = app.acquire_token_by_device_flow(flow)
    approver.join()
    assert result["id_token_claims"]["preferred_username"] == "greta@wolkwerk-demo.onmicrosoft.com"


def test_tests_can_add_a_directory_user(sandbox: EntraSandbox) -> None:
    added = requests.post(f"{sandbox.url}/__admin/directory", json={"preferred_username": "new@example.test"},
                          verify=str(sandbox.tls.ca_cert), timeout=10).json()
    assert added["oid"]
    assert "new@example.test" in get(sandbox, f"{sandbox.url}/devicelogin").text
