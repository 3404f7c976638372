"""The Microsoft sandboxes on their own: Entra grants and errors, bearer checks, scenario rules, the runner."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from sandbox import entra
from sandbox.core import Clock, Request, SandboxServer
from sandbox.runner import SANDBOX_MODULES, run_all, stop_all
from sandbox.scenario_microsoft import PLANS, MicrosoftScenario, add_months
from sandbox.tls import TlsFiles, make_tls_files
from tests.sandbox.test_partner_center_recon_sandbox import Microsoft

NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
TENANT = entra.CREDENTIALS["tenant_id"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def entra_url(tls: TlsFiles):
    with SandboxServer(entra.build(Clock(NOW)), tls=tls) as server:
        yield server.url


def token_request(url: str, tls: TlsFiles, **form: str) -> requests.Response:
    data = {
        "client_id": entra.CREDENTIALS["client_id"],
        "client_secret": entra.CREDENTIALS["client_secret"],
        "scope": "https://api.businesscentral.dynamics.com/.default",
        "grant_type": "client_credentials",
        **form,
    }
    return requests.post(f"{url}/{TENANT}/oauth2/v2.0/token", data=data, verify=str(tls.ca_cert), timeout=5)


def resource_request(token: str | None) -> Request:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return Request("GET", "/x", {}, headers, b"", {}, [], Clock(NOW))


def test_token_carries_audience_tenant_and_expiry(entra_url: str, tls: TlsFiles) -> None:
    body = token_request(entra_url, tls).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    assert entra.verify_bearer(resource_request(body["access_token"]), "https://api.businesscentral.dynamics.com")
    refused = entra.verify_bearer(resource_request(body["access_token"]), "https://management.azure.com")
    assert refused is not True and refused.body["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_v1_endpoint_sends_expires_in_as_text(entra_url: str, tls: TlsFiles) -> None:
    form = {
        "client_id": entra.CREDENTIALS["client_id"],
        "client_secret": entra.CREDENTIALS["client_secret"],
        "resource": "https://management.azure.com/",
        "grant_type": "client_credentials",
    }
    body = requests.post(f"{entra_url}/{TENANT}/oauth2/token", data=form, verify=str(tls.ca_cert), timeout=5).json()
    assert body["expires_in"] == "3599" and {"expires_on", "not_before", "resource"} <= set(body)


def test_bad_secret_answers_like_entra(entra_url: str, tls: TlsFiles) -> None:
    response = token_request(entra_url, tls, client_secret="nope")
    body = response.json()
    assert response.status_code == 401
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_refresh_tokens_rotate_and_reuse_is_refused(entra_url: str, tls: TlsFiles) -> None:
    first = token_request(entra_url, tls, grant_type="refresh_token", refresh_token=entra.CREDENTIALS["refresh_token"])
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    reuse = token_request(entra_url, tls, grant_type="refresh_token", refresh_token=entra.CREDENTIALS["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert reuse.json()["error_codes"] == [700082]
    assert token_request(entra_url, tls, grant_type="refresh_token", refresh_token=rotated).status_code == 200


def test_bearer_checks_refuse_missing_forged_and_expired_tokens() -> None:
    audience = "https://api.partnercenter.microsoft.com"
    assert entra.verify_bearer(resource_request(None), audience).status == 401
    forged = entra.issue_token(audience, TENANT, "app", NOW, dt.timedelta(hours=1))[:-4] + "AAAA"
    assert entra.verify_bearer(resource_request(forged), audience).body["error"]["code"] == "InvalidAuthenticationToken"
    old = entra.issue_token(audience, TENANT, "app", NOW - dt.timedelta(hours=2), dt.timedelta(hours=1))
    expired = entra.verify_bearer(resource_request(old), audience, style="partner_center")
    assert expired.status == 401 and expired.body["statusCode"] == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_scenario_is_deterministic_and_covers_every_plan() -> None:
    one, two = MicrosoftScenario(3, dt.date(2026, 5, 1)), MicrosoftScenario(3, dt.date(2026, 5, 1))
    assert [c.id for c in one.customers] == [c.id for c in two.customers]
    assert one.recon_lines(one.month, one.month_end, NOW) == two.recon_lines(two.month, two.month_end, NOW)
    assert MicrosoftScenario(4, dt.date(2026, 5, 1)).customers[0].id != one.customers[0].id
    plans = {(s.term, s.billing_cycle) for c in one.customers for s in c.subscriptions}
    assert set(PLANS) <= plans
    tags = {dict(r.tags).get("environment") for c in one.customers for r in c.resources}
    assert {"Prod", "Test", "Dev", None} <= tags


def test_seat_batches_close_after_168_hours() -> None:
    world = MicrosoftScenario(1, dt.date(2026, 5, 1))
    changed = [s for c in world.customers for s in c.subscriptions if len(s.changes) > 1]
    assert changed
    for sub in changed:
        for at, delta, _ in sub.changes[1:]:
            if delta > 0:
                assert any(q >= 1 and until == at + dt.timedelta(hours=168) for q, until in sub.batches_at(at))
                assert all(
                    until != at + dt.timedelta(hours=168) for _, until in sub.batches_at(at + dt.timedelta(hours=168))
                )


def test_cycles_anchor_on_the_term_start_with_month_end_clipping() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 2) == dt.date(2026, 3, 31)
    world = MicrosoftScenario(2, dt.date(2026, 5, 1))
    for line in world.recon_lines(world.month, world.month_end, NOW):
        assert line["subtotal"] == (
            line["effectiveUnitPrice"].quantize(Decimal("0.01"), rounding="ROUND_DOWN") * line["billableQuantity"]
        )


def test_a_renewal_day_read_before_the_renewal_shows_no_cycle_charge() -> None:
    """A monthly term renews on its anchor day at the purchase's time of day. A read earlier that day (the nightly
    sync) must not show the new term's charge as a ``cycleCharge``: the ``renew`` line follows once it happened, and
    the cycle charge would stay in the ledger beside it, charging the month twice."""
    world = MicrosoftScenario(1, dt.date(2026, 5, 1))
    renewing = [(customer, sub) for customer in world.customers for sub in customer.subscriptions
                if sub.term == "P1M" and sub.auto_renew and sub.cancelled_at is None
                and sub.purchased_at.time() > dt.time(2, 0) and sub.purchased_at.date() < world.month]
    assert renewing
    for _, sub in renewing:
        day = sub.term_start(dt.datetime.combine(world.month_end, dt.time(23, 59), tzinfo=dt.UTC))
        night = dt.datetime.combine(day, dt.time(1, 30), tzinfo=dt.UTC)  # before the renewal's time of day
        late = dt.datetime.combine(day, dt.time(23, 59), tzinfo=dt.UTC)
        kinds = {when: [line["chargeType"] for line in world.recon_lines(world.month, world.month_end, when)
                        if line["subscriptionId"] == sub.id and line["chargeStartDate"].date() == day]
                 for when in (night, late)}
        assert "cycleCharge" not in kinds[night] + kinds[late], (sub.id, day, kinds)
        assert "renew" in kinds[late], (sub.id, day, kinds)


def test_runner_starts_every_listed_sandbox_on_one_clock(tmp_path: Path) -> None:
    running = run_all(tmp_path, seed=5)
    try:
        assert [s.module for s in running] == list(SANDBOX_MODULES)
        described = json.loads((tmp_path / "sandboxes.json").read_text())
        ca = described["ca_bundle"]
        by_name = {s.name: s for s in running}
        assert described["sandboxes"]["entra"]["credentials"] == entra.CREDENTIALS
        discovery = requests.get(
            f"{by_name['entra'].url}/{TENANT}/v2.0/.well-known/openid-configuration", verify=ca, timeout=5
        )
        assert discovery.json()["token_endpoint"].startswith(by_name["entra"].url)
        assert by_name["partner_center"].url.endswith("/pc")
        clocks = {id(s.server.app.clock) for s in running}
        assert len(clocks) == 1
    finally:
        stop_all(running)


def test_services_doorway_serves_until_stopped(tmp_path: Path) -> None:
    """What ``cspbill sandbox`` runs: announce URLs and credentials, stay up, stop cleanly when asked."""
    from services.demo import serve_forever

    announced: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=serve_forever, args=(tmp_path, 1, False, announced.append, stop))
    worker.start()
    try:
        for _ in range(200):
            if announced:
                break
            stop.wait(0.05)
        assert announced and "partner_center" in announced[0] and entra.CREDENTIALS["client_id"] in announced[0]
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


class PartnerCenterClient:
    """A bare HTTPS client with a sandbox token: the PATCH rules are sandbox behaviour, not connector behaviour."""

    def __init__(self, url: str, tls: TlsFiles) -> None:
        from sandbox import partner_center

        self.url = f"{url}/pc/v1"
        token = entra.issue_token(partner_center.AUDIENCE, TENANT, "test", NOW, dt.timedelta(hours=1))
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(tls.ca_cert)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str) -> dict:
        return self.session.get(f"{self.url}{path}", timeout=5).json()

    def patch(self, path: str, body: dict, request_id: str | None = None) -> requests.Response:
        headers = {"MS-RequestId": request_id} if request_id else {}
        return self.session.patch(f"{self.url}{path}", json=body, headers=headers, timeout=5)


@pytest.fixture
def pc(tls: TlsFiles):
    from sandbox import partner_center

    with SandboxServer(partner_center.build(Clock(NOW), seed=7), tls=tls, prefix=partner_center.PREFIX) as server:
        yield PartnerCenterClient(server.url, tls), server


def subscriptions_of_first_customer(client: PartnerCenterClient) -> tuple[str, list[dict]]:
    customer = client.get("/customers?size=10")["items"][0]["id"]
    return customer, client.get(f"/customers/{customer}/subscriptions")["items"]


def test_quantity_increase_opens_a_batch_and_a_repeated_request_id_is_not_applied_twice(pc) -> None:
    client, _ = pc
    customer, subs = subscriptions_of_first_customer(client)
    sub = subs[0]
    path = f"/customers/{customer}/subscriptions/{sub['id']}"
    first = client.patch(path, {**sub, "quantity": sub["quantity"] + 2}, request_id="r-1")
    again = client.patch(path, {**sub, "quantity": sub["quantity"] + 2}, request_id="r-1")
    assert first.status_code == again.status_code == 200
    assert client.get(path)["quantity"] == sub["quantity"] + 2
    details = first.json()["refundableQuantity"]["details"]
    assert {"quantity": 2, "allowedUntilDateTime": "2026-05-27T12:00:00Z"} in details
    stale = client.patch(path, {**sub, "quantity": 1})
    assert stale.status_code == 400 and stale.json()["code"] == 2055


def test_reduction_and_cancellation_follow_the_168_hour_window(pc, tls: TlsFiles) -> None:
    client, server = pc
    customer, subs = subscriptions_of_first_customer(client)
    closed = next(s for s in subs if s["refundableQuantity"]["totalQuantity"] == 0 and s["quantity"] > 1)
    path = f"/customers/{customer}/subscriptions/{closed['id']}"
    refused = client.patch(path, {**closed, "quantity": closed["quantity"] - 1})
    assert refused.status_code == 400 and refused.json()["code"] == 800090
    too_late = client.patch(path, {**closed, "status": "deleted"})
    assert too_late.status_code == 400 and too_late.json()["code"] == 900213

    fresh = next(s for s in subs if "cancellationAllowedUntilDate" in s)
    cancelled = client.patch(f"/customers/{customer}/subscriptions/{fresh['id']}", {**fresh, "status": "deleted"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "deleted"
    microsoft = Microsoft(server, tls, NOW)  # 2026 periods: recon through the v2 export only
    lines = microsoft.lines(microsoft.export("unbilled", {"currencyCode": "EUR", "billingPeriod": "current"}))
    cancel_lines = [line for line in lines if line["SubscriptionId"] == fresh["id"]
                    and line["ChargeType"] == "cancelImmediate"]
    assert len(cancel_lines) == 1 and cancel_lines[0]["Subtotal"] < 0


def test_write_knobs(pc) -> None:
    client, server = pc
    customer, subs = subscriptions_of_first_customer(client)
    sub = subs[0]
    path = f"/customers/{customer}/subscriptions/{sub['id']}"
    server.app.faults.arm("PATCH /v1/customers/.*", "conflict", times=1)
    assert client.patch(path, {**sub, "quantity": sub["quantity"] + 1}).json()["code"] == 800082
    server.app.faults.arm("PATCH /v1/customers/.*", "accepted", times=1)
    accepted = client.patch(path, {**sub, "quantity": sub["quantity"] + 1})
    assert accepted.status_code == 202 and accepted.headers["Location"].endswith(sub["id"])
