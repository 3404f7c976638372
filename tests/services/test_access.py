"""Role and tenant checks: desk users cannot approve, users of one entity cannot see another's."""

from __future__ import annotations

import pytest

from config import load_config
from services.access import SYSTEM, actor, require
from services.errors import NotAllowed, NotFound
from tests.conftest import ROOT

SETTINGS = load_config(ROOT / "config.yaml")

CASES = [
    ("dana", "desk", "nl-bv", None),
    ("dana", "approver", "nl-bv", NotAllowed),
    ("finn", "desk", "nl-bv", None),
    ("finn", "finance", "de-gmbh", NotFound),
    ("anna", "approver", "nl-bv", None),
    ("greta", "approver", "nl-bv", NotFound),
    ("ada", "approver", "de-gmbh", None),
    (SYSTEM, "finance", "nl-bv", None),
]


@pytest.mark.parametrize(("user", "role", "tenant", "error"), CASES)
def test_roles_and_tenants(user: str, role: str, tenant: str, error: type[Exception] | None) -> None:
    who = actor(SETTINGS, user)
    if error is None:
        require(who, role, tenant)
    else:
        with pytest.raises(error):
            require(who, role, tenant)


def test_visible_tenants() -> None:
    assert actor(SETTINGS, "greta").visible_tenants(SETTINGS) == ["de-gmbh"]
    assert actor(SETTINGS, "ada").visible_tenants(SETTINGS) == ["nl-bv", "de-gmbh"]


def test_unknown_user() -> None:
    with pytest.raises(NotFound, match="'mallory'"):
        actor(SETTINGS, "mallory")
