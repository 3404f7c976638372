"""The audit page: finance sees the trail of its own legal entities (an administrator every one), filtered and paged,
with the chains' verdict on top; the service desk is refused; a bad day is named next to its field. And the pages'
language: Accept-Language, users[].language and the header's switch."""

from __future__ import annotations

import re

import pytest

from config import Settings
from tests.web.conftest import csrf_of, signed_in
from tests.web.seed import Seeded

ROW = re.compile(r"<tr>\s*<td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>\s*<td><code>([^<]+)</code>")


def rows(html: str) -> list[tuple[str, str, str, str]]:
    return [tuple(cell.strip() for cell in match) for match in ROW.findall(html)]


def test_finance_sees_its_own_entitys_trail_in_its_zone(settings: Settings, seeded: Seeded) -> None:
    page = signed_in(settings, "finn").get("/audit")
    assert page.status_code == 200
    found = rows(page.text)
    assert found and {entity for _, entity, _, _ in found} == {"nl-bv"}  # never de-gmbh's
    assert ("2026-11-02 08:30 CET", "nl-bv", "finn", "batch.build") in found  # built 07:30 UTC
    assert ("2026-10-03 11:30 CEST", "nl-bv", "anna", "batch.approve") in found
    assert "nl-bv: " in page.text and "events, intact" in page.text and "de-gmbh: " not in page.text


@pytest.mark.parametrize(("query", "expected"), [
    ("actor=anna", {("anna", "batch.approve")}),
    ("action=batch.approve", {("anna", "batch.approve")}),
    ("actor=finn&action=batch.build&since=2026-11-01&until=2026-11-30", {("finn", "batch.build")}),
    ("since=2026-12-01", set()),
])
def test_filters(settings: Settings, seeded: Seeded, query: str, expected: set[tuple[str, str]]) -> None:
    page = signed_in(settings, "anna").get(f"/audit?tenant=nl-bv&{query}")
    assert page.status_code == 200
    assert {(who, action) for _, _, who, action in rows(page.text)} == expected
    if not expected:
        assert "No audit events match." in page.text


def test_an_administrator_sees_every_entity_and_the_global_chain(settings: Settings, seeded: Seeded) -> None:
    page = signed_in(settings, "ada").get("/audit").text
    assert {"nl-bv", "de-gmbh"} <= {entity for _, entity, _, _ in rows(page)}
    assert "global: " in page


@pytest.mark.parametrize(("user", "query", "status"), [
    ("dana", "", 403),              # the service desk is not finance
    ("finn", "tenant=de-gmbh", 404),  # another legal entity: as if it did not exist
])
def test_refusals(settings: Settings, seeded: Seeded, user: str, query: str, status: int) -> None:
    assert signed_in(settings, user).get(f"/audit?{query}").status_code == status


@pytest.mark.parametrize(("query", "field", "message"), [
    ("since=2026-13-01", "since", "Enter a day as YYYY-MM-DD."),
    ("since=2026-11-02&until=2026-11-01", "until", "The last day is before the first day."),
])
def test_a_bad_day_is_named_next_to_its_field(settings: Settings, seeded: Seeded, query: str, field: str,
                                              message: str) -> None:
    page = signed_in(settings, "finn").get(f"/audit?{query}")
    assert page.status_code == 400
    assert f'<span id="{field}-error" class="field-error">{message}</span>' in page.text
    assert rows(page.text) == []


@pytest.mark.parametrize(("header", "heading", "nav"), [
    ("nl-NL,nl;q=0.9", "Audittrail", "Klanten"),
    ("de-DE,de;q=0.9,en;q=0.5", "Prüfprotokoll", "Kunden"),
    ("fr-FR", "Audit trail", "Customers"),
])
def test_the_browsers_language_is_spoken(settings: Settings, seeded: Seeded, header: str, heading: str,
                                         nav: str) -> None:
    page = signed_in(settings, "finn").get("/audit", headers={"Accept-Language": header})
    assert f"<h1>{heading}</h1>" in page.text and f">{nav}</a>" in page.text


def test_a_persons_configured_language_and_the_switch(settings: Settings, seeded: Seeded) -> None:
    users = [u.model_copy(update={"language": "de"}) if u.username == "finn" else u for u in settings.users]
    german = settings.model_copy(update={"users": users})
    client = signed_in(german, "finn")
    home = client.get("/", headers={"Accept-Language": "nl"})
    assert '<html lang="de">' in home.text and "Schön, dass Sie da sind, finn" in home.text
    switched = client.post("/language", data={"language": "nl", "next": "/audit?tenant=nl-bv",
                                              "csrf_token": csrf_of(home.text)})
    assert (switched.status_code, switched.headers["location"]) == (303, "/audit?tenant=nl-bv")
    assert "<h1>Audittrail</h1>" in client.get("/audit").text
    client.post("/language", data={"language": "xx", "next": "//evil.example", "csrf_token": csrf_of(home.text)})
    assert "<h1>Audittrail</h1>" in client.get("/audit").text  # an unknown language changes nothing
