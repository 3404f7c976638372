"""Role and tenant checks: desk users cannot approve, users of one entity cannot see another's, service accounts and
the scheduler hold only their narrow roles."""

from __future__ import annotations

import pytest

from config import load_config
from config.loader import parse_settings
from services.access import configured, require, require_person, scheduler
from services.errors import NotAllowed, NotFound
from tests.conftest import ROOT, demo_config_data

SETTINGS = load_config(ROOT / "config.yaml")

CASES = [
    ("dana", "desk", "nl-bv", None),
    ("dana", "sync", "nl-bv", None),  # the service desk may run a sync
    ("dana", "approver", "nl-bv", NotAllowed),
    ("dana", "build", "nl-bv", NotAllowed),
    ("finn", "desk", "nl-bv", None),
    ("finn", "build", "nl-bv", None),
    ("finn", "export", "nl-bv", None),
    ("finn", "finance", "de-gmbh", NotFound),
    ("anna", "approver", "nl-bv", None),
    ("greta", "approver", "nl-bv", NotFound),
    ("ada", "approver", "de-gmbh", None),
    ("svc-nightly", "sync", "de-gmbh", None),
    ("svc-nightly", "build", "nl-bv", None),
    ("svc-nightly", "export", "nl-bv", NotAllowed),
    ("svc-nightly", "finance", "nl-bv", NotAllowed),
    ("svc-nightly", "approver", "nl-bv", NotAllowed),
]


@pytest.mark.parametrize(("user", "role", "tenant", "error"), CASES)
def test_roles_and_tenants(user: str, role: str, tenant: str, error: type[Exception] | None) -> None:
    who = configured(SETTINGS, user)
    if error is None:
        require(who, role, tenant)
    else:
        with pytest.raises(error):
            require(who, role, tenant)


@pytest.mark.parametrize(("role", "allowed"), [
    ("sync", True), ("build", True), ("export", True),
    ("approver", False), ("finance", False), ("desk", False), ("admin", False)])
def test_the_scheduler_syncs_builds_and_resends_but_never_approves_or_prices(role: str, allowed: bool) -> None:
    who = scheduler(SETTINGS)
    assert who.has_role(role) is allowed
    assert who.can_see("nl-bv") and who.can_see("de-gmbh")
    with pytest.raises(NotAllowed, match="needs a signed-in person"):
        require_person(who, "batch approval")


def test_visible_tenants() -> None:
    assert configured(SETTINGS, "greta").visible_tenants(SETTINGS) == ["de-gmbh"]
    assert configured(SETTINGS, "ada").visible_tenants(SETTINGS) == ["nl-bv", "de-gmbh"]


def test_unknown_user() -> None:
    with pytest.raises(NotFound, match="'mallory'"):
        configured(SETTINGS, "mallory")


def test_a_service_account_may_not_be_an_approver_or_share_a_name(tmp_path) -> None:
    data = demo_config_data()
    data["service_accounts"] = [{"name": "svc-ci", "roles": ["approver"]}]
    refusal = r"service_accounts\[0\]\.roles\[0\]: Input should be .sync., .build. or .export."
    with pytest.raises(Exception, match=refusal):
        parse_settings(data, tmp_path / "config.yaml")
    data["service_accounts"] = [{"name": "svc-ci", "roles": ["sync"]}]
    data["users"].append({**data["users"][0], "username": "svc-ci"})
    with pytest.raises(Exception, match="duplicate name 'svc-ci'"):
        parse_settings(data, tmp_path / "config.yaml")
