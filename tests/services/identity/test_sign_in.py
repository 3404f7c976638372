"""Signing in, sessions and API tokens: one clear refusal for every bad credential, lockout after repeated
failures, revocation that holds at once, and service accounts that can never approve or change prices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from config import Settings
from config.loader import parse_settings
from ledger.models import AuthSession, PriceImport, SignInAttempt
from services.access import SERVICE
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.errors import NotAllowed, NotSignedIn, ValidationFailed
from services.identity import (
    authenticate,
    issue_api_token,
    list_people,
    list_sessions,
    revoke_session,
    sign_in_password,
    sign_out,
)
from services.operations import initialise
from services.prices import reprice
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import actor

CLOCK = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))
REFUSED = "sign-in refused: wrong username or password"


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    return settings


def attempts(settings: Settings) -> list[tuple[str, bool, str]]:
    with UnitOfWork(engine_for(settings)) as uow:
        rows = uow.session.query(SignInAttempt).order_by(SignInAttempt.id).all()
        return [(row.username, row.succeeded, row.reason) for row in rows]


def test_a_password_sign_in_opens_a_session_that_authenticates(ledger: Settings) -> None:
    issued = sign_in_password(ledger, "Anna ", "demo-anna", "cli", "laptop")
    who = authenticate(ledger, issued.token, "cli")
    assert (who.username, who.method, who.session_id) == ("anna", "password", issued.session_id)
    with UnitOfWork(engine_for(ledger)) as uow:
        row = uow.sessions.get(issued.session_id)
        assert row.token_hash != issued.token and issued.token not in row.token_hash  # only the hash is kept
        assert row.expires_at - row.created_at == dt.timedelta(hours=ledger.auth.cli_session_hours)


@pytest.mark.parametrize(("username", "password", "reason"), [
    ("anna", "wrong", "bad_password"),
    ("mallory", "demo-mallory", "unknown_user"),
    ("anna", "", "bad_password"),
])
def test_every_bad_credential_gets_the_same_refusal(ledger: Settings, username: str, password: str,
                                                    reason: str) -> None:
    with pytest.raises(NotSignedIn, match=f"^{REFUSED}$"):
        sign_in_password(ledger, username, password, "web", "10.0.0.9")
    assert attempts(ledger) == [(username, False, reason)]


def test_repeated_failures_lock_the_name_even_for_the_right_password(ledger: Settings) -> None:
    start = dt.datetime.now(dt.UTC)
    for _ in range(ledger.auth.lockout_after):
        with pytest.raises(NotSignedIn, match=REFUSED):
            sign_in_password(ledger, "finn", "guess", "web", "10.0.0.9", now=start)
    with pytest.raises(NotSignedIn, match="user 'finn' is locked after 5 failed sign-ins"):
        sign_in_password(ledger, "finn", "demo-finn", "web", "10.0.0.9", now=start + dt.timedelta(minutes=1))
    sign_in_password(ledger, "anna", "demo-anna", "web", "10.0.0.9", now=start)  # only that name is locked
    later = start + dt.timedelta(minutes=ledger.auth.lockout_minutes + 2)
    assert sign_in_password(ledger, "finn", "demo-finn", "web", "10.0.0.9", now=later).actor.username == "finn"


def test_one_address_trying_many_names_is_throttled(ledger: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    for index in range(ledger.auth.lockout_after * 4):
        with pytest.raises(NotSignedIn):
            sign_in_password(ledger, f"guess{index}", "x", "web", "203.0.113.7", now=now)
    with pytest.raises(NotSignedIn, match=r"too many failed sign-ins from 203\.0\.113\.7"):
        sign_in_password(ledger, "anna", "demo-anna", "web", "203.0.113.7", now=now)
    assert sign_in_password(ledger, "anna", "demo-anna", "web", "198.51.100.1", now=now)


def test_signed_out_expired_and_revoked_sessions_are_refused(ledger: Settings) -> None:
    out = sign_in_password(ledger, "anna", "demo-anna", "web")
    assert sign_out(ledger, out.token) and not sign_out(ledger, out.token)
    with pytest.raises(NotSignedIn, match="revoked"):
        authenticate(ledger, out.token, "web")
    expired = sign_in_password(ledger, "anna", "demo-anna", "cli")
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        uow.session.execute(update(AuthSession).where(AuthSession.id == expired.session_id)
                            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with pytest.raises(NotSignedIn, match="expired"):
        authenticate(ledger, expired.token, "cli")
    with pytest.raises(NotSignedIn, match="not known here"):
        authenticate(ledger, "cspb_forged", "cli")
    with pytest.raises(NotSignedIn, match="not signed in"):
        authenticate(ledger, None, "cli")
    web = sign_in_password(ledger, "anna", "demo-anna", "web")
    with pytest.raises(NotSignedIn, match="another channel"):
        authenticate(ledger, web.token, "cli")  # a web cookie's token is no CLI credential


def test_a_session_revoked_after_sign_in_cannot_approve(ledger: Settings) -> None:
    build_batch(ledger, "nl-bv", "2026-04", actor(ledger, "finn"), CLOCK)
    anna = actor(ledger, "anna")
    assert revoke_session(ledger, actor(ledger, "ada"), username="anna", reason="laptop stolen") == 1
    with pytest.raises(NotSignedIn, match="revoked"):
        approve_batch(ledger, "nl-bv", "2026-04", anna, CLOCK)
    assert approve_batch(ledger, "nl-bv", "2026-04", actor(ledger, "anna"), CLOCK).status == "approved"


def test_an_actor_without_a_session_cannot_change_money(ledger: Settings) -> None:
    from services.access import configured  # a name looked up in config proves nothing

    with pytest.raises(NotSignedIn):
        build_batch(ledger, "nl-bv", "2026-04", configured(ledger, "finn"), CLOCK)


def test_a_refused_build_records_no_price_edition(ledger: Settings, tmp_path: Path) -> None:
    """A build stores config.yaml's changed price rules before it rates (its ranges read committed rows), but only
    for someone whose session stands: a refused build leaves the price book as it was."""
    from services.access import configured

    data = demo_config_data()
    data["database"] = {"url": ledger.database.url, "url_env": None}
    data["price_rules"] = [{**rule, "markup_percent": "20"} for rule in data["price_rules"]]
    changed = parse_settings(data, tmp_path / "config.yaml")
    with UnitOfWork(engine_for(ledger)) as uow:
        before = uow.session.scalar(select(func.count()).select_from(PriceImport))
    with pytest.raises(NotSignedIn):
        build_batch(changed, "nl-bv", "2026-04", configured(changed, "finn"), CLOCK)
    with UnitOfWork(engine_for(ledger)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(PriceImport)) == before


def test_service_account_tokens_sync_and_build_but_never_approve_or_reprice(ledger: Settings) -> None:
    with pytest.raises(NotAllowed, match="lacks role 'admin'"):
        issue_api_token(ledger, actor(ledger, "finn"), "svc-nightly")
    with pytest.raises(ValidationFailed, match="people sign in"):
        issue_api_token(ledger, actor(ledger, "ada"), "anna")
    issued = issue_api_token(ledger, actor(ledger, "ada"), "svc-nightly", "ci", days=30)
    robot = authenticate(ledger, issued.token, "cli")
    assert (robot.username, robot.principal, robot.method) == ("svc-nightly", SERVICE, "api_token")
    assert build_batch(ledger, "nl-bv", "2026-04", robot, CLOCK).status == "draft"
    with pytest.raises(NotAllowed, match="needs a signed-in person"):
        approve_batch(ledger, "nl-bv", "2026-04", robot, CLOCK)
    with pytest.raises(NotAllowed, match="needs a signed-in person"):
        reprice(ledger, "nl-bv", dt.date(2026, 4, 1), "robot", robot, CLOCK)
    sessions = list_sessions(ledger, actor(ledger, "ada"), "svc-nightly")
    assert [(s["label"], s["method"]) for s in sessions] == [("ci", "api_token")]
    people = {p["username"]: p for p in list_people(ledger, actor(ledger, "ada"))}
    assert people["svc-nightly"]["kind"] == "service" and people["svc-nightly"]["active_sessions"] == 1
    assert people["anna"]["roles"] == ["finance", "approver"] and people["ada"]["tenants"] == ["all"]
    with pytest.raises(NotAllowed):
        list_people(ledger, actor(ledger, "anna"))
