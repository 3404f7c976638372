"""Contract tests of the Exact Online sandbox against what the live API does.

Sources (Exact's own REST API documentation at support.exactonline.com is not reachable from here; where only user
reports exist, that is said per test):
- Authorise and token endpoints, parameters ``client_id``, ``redirect_uri``, ``response_type=code``, ``state``,
  ``force_login``, grant ``authorization_code`` with ``redirect_uri``: /work/shared/reference/erp.md §4.4 and client
  code calling https://start.exactonline.nl/api/oauth2/auth with exactly these parameters.
- "Old refresh token used": user reports only, e.g. https://github.com/picqer/exact-php-client/issues/300 (``401
  Unauthorized``, body ``{"error":"unauthorized_client","error_description":"Old refresh token used."}``) and
  https://github.com/picqer/exact-php-client/issues/640 (the same 401 in 2024).
- Absolute ``__next`` links: user reports only, https://github.com/picqer/exact-php-client/issues/35
  (``https://start.exactonline.nl/api/v1/{division}/crm/Accounts?$skiptoken=guid'…'``).
- One entity by key ``…/SalesInvoices(guid'<id>')`` answering ``{"d": {...}}``: erp.md §4.1 (OData v2 verbose
  JSON). The text of a 404 for an unknown guid is not documented; the sandbox uses Exact's error envelope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox import exact_online as sandbox
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files

CALLBACK = "http://127.0.0.1:8765/exact/callback"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("exact-tls"))


@pytest.fixture
def server(tls: TlsFiles, tmp_path: Path) -> Iterator[SandboxServer]:
    app = sandbox.build(Clock(), redirect_uris=(sandbox.CREDENTIALS["redirect_uri"], CALLBACK))
    running = SandboxServer(app, tls=tls).start()
    try:
        yield running
    finally:
        running.stop()


def consent(server: SandboxServer, tls: TlsFiles, **overrides: str) -> requests.Response:
    """Open the authorise page and agree, as a person would; the answer is Exact's redirect (not followed)."""
    params = {"client_id": sandbox.CREDENTIALS["client_id"], "redirect_uri": CALLBACK, "response_type": "code",
              "state": "s-123", "force_login": "1", **overrides}
    page = requests.get(f"{server.url}/api/oauth2/auth", params=params, verify=str(tls.ca_cert), timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    return requests.post(f"{server.url}/api/oauth2/auth", data={k: unescape(v) for k, v in form.items()},
                         verify=str(tls.ca_cert), timeout=5, allow_redirects=False)


def token(server: SandboxServer, tls: TlsFiles, **form: str) -> requests.Response:
    body = {"client_id": sandbox.CREDENTIALS["client_id"], "client_secret": sandbox.CREDENTIALS["client_secret"],
            **form}
    return requests.post(f"{server.url}/api/oauth2/token", data=body, verify=str(tls.ca_cert), timeout=5)


def connected(server: SandboxServer, tls: TlsFiles) -> dict[str, Any]:
    location = urlsplit(consent(server, tls).headers["Location"])
    code = parse_qs(location.query)["code"][0]
    answer = token(server, tls, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert answer.status_code == 200
    return answer.json()


def test_consent_redirects_back_with_code_and_state(server: SandboxServer, tls: TlsFiles) -> None:
    answer = consent(server, tls)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"] and query["code"][0]


def test_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(server: SandboxServer, tls: TlsFiles) -> None:
    params = {"client_id": sandbox.CREDENTIALS["client_id"], "redirect_uri": "https://evil.example/cb",
              "response_type": "code", "state": "x"}
    page = requests.get(f"{server.url}/api/oauth2/auth", params=params, verify=str(tls.ca_cert), timeout=5,
                        allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers


def test_a_code_works_once_and_only_with_its_redirect_uri(server: SandboxServer, tls: TlsFiles) -> None:
    code = parse_qs(urlsplit(consent(server, tls).headers["Location"]).query)["code"][0]
    wrong = token(server, tls, grant_type="authorization_code", code=code, redirect_uri="https://other/cb")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = parse_qs(urlsplit(consent(server, tls).headers["Location"]).query)["code"][0]
    first = token(server, tls, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert first.status_code == 200 and first.json()["expires_in"] == "600"
    again = token(server, tls, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_reusing_an_old_refresh_token_is_401_old_refresh_token_used(server: SandboxServer, tls: TlsFiles) -> None:
    """User reports (picqer/exact-php-client#300, #640): 401 ``unauthorized_client`` "Old refresh token used."."""
    first = connected(server, tls)["refresh_token"]
    server.app.clock.advance(seconds=601)
    assert token(server, tls, grant_type="refresh_token", refresh_token=first).status_code == 200
    server.app.clock.advance(seconds=601)
    reuse = token(server, tls, grant_type="refresh_token", refresh_token=first)
    assert reuse.status_code == 401
    assert reuse.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    unknown = token(server, tls, grant_type="refresh_token", refresh_token="never-issued")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"


def test_next_links_are_absolute_urls_on_the_same_host(server: SandboxServer, tls: TlsFiles) -> None:
    """User reports (picqer/exact-php-client#35): ``https://host/api/v1/{division}/...?$skiptoken=...``."""
    access = connected(server, tls)["access_token"]
    page = requests.get(f"{server.url}/api/v1/{sandbox.DIVISION}/financial/GLAccounts",
                        headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
                        verify=str(tls.ca_cert), timeout=5).json()["d"]
    link = urlsplit(page["__next"])
    assert (link.scheme, link.netloc) == ("https", urlsplit(server.url).netloc)
    assert link.path == f"/api/v1/{sandbox.DIVISION}/financial/GLAccounts" and "$skiptoken=" in page["__next"]
    following = requests.get(page["__next"], headers={"Authorization": f"Bearer {access}"},
                             verify=str(tls.ca_cert), timeout=5).json()["d"]
    assert len(page["results"]) + len(following["results"]) == 101 and "__next" not in following


def test_one_sales_invoice_by_guid_and_404_for_an_unknown_one(server: SandboxServer, tls: TlsFiles) -> None:
    access = connected(server, tls)["access_token"]
    headers = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
    base = f"{server.url}/api/v1/{sandbox.DIVISION}"
    customer = requests.get(f"{base}/crm/Accounts", params={"$top": "1"}, headers=headers, verify=str(tls.ca_cert),
                            timeout=5).json()["d"]["results"][0]["ID"]
    item = requests.get(f"{base}/logistics/Items", params={"$top": "1"}, headers=headers, verify=str(tls.ca_cert),
                        timeout=5).json()["d"]["results"][0]["ID"]
    created = requests.post(f"{base}/salesinvoice/SalesInvoices", headers=headers, verify=str(tls.ca_cert), timeout=5,
                            json={"OrderedBy": customer, "YourRef": "R-1", "SalesInvoiceLines": [
                                {"Item": item, "Quantity": "2", "NetPrice": "10.00"}]}).json()["d"]
    one = requests.get(f"{base}/salesinvoice/SalesInvoices(guid'{created['InvoiceID']}')", headers=headers,
                       verify=str(tls.ca_cert), timeout=5)
    assert one.status_code == 200
    body = one.json()["d"]
    assert body["InvoiceID"] == created["InvoiceID"] and body["YourRef"] == "R-1" and body["AmountFCExclVat"] == 20
    missing = requests.get(f"{base}/salesinvoice/SalesInvoices(guid'00000000-0000-0000-0000-000000000000')",
                           headers=headers, verify=str(tls.ca_cert), timeout=5)
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"code", "message"}
