"""The finance price page, on SQLite and PostgreSQL: the rules in force, importing a file through the browser form
(all rows or none, problems named), an explicit reprice, and who may see it."""

from __future__ import annotations

from config import Settings
from tests.conftest import sqlite_only
from tests.web.conftest import csrf_of, signed_in
from tests.web.seed import Seeded

pytestmark = sqlite_only  # pages over the services: both databases are covered below them

RULES = b"name,tenant,product,valid_from,unit_price,currency\ne3,nl-bv,CFQ7TTC0LF8Q:e3,2026-12-01,31.50,EUR\n"


def test_finance_imports_a_rules_file_and_sees_the_new_edition(settings: Settings, seeded: Seeded) -> None:
    finn = signed_in(settings, "finn")
    page = finn.get("/prices")
    assert page.status_code == 200
    assert "price_rules[1]" in page.text and "cost +15%" in page.text
    sent = finn.post("/prices/import", data={"csrf_token": csrf_of(page.text), "kind": ""},
                     files={"file": ("december.csv", RULES, "text/csv")})
    assert sent.status_code == 303
    after = finn.get("/prices").text
    assert "december.csv: 1 rules row(s) imported as edition" in after
    assert "31.5 EUR" in after and "2026-12-01" in after
    again = finn.post("/prices/import", data={"csrf_token": csrf_of(after)},
                      files={"file": ("december.csv", RULES, "text/csv")})
    assert "was already imported as edition" in finn.get(again.headers["location"]).text


def test_a_bad_file_shows_every_problem_and_stores_nothing(settings: Settings, seeded: Seeded) -> None:
    finn = signed_in(settings, "finn")
    page = finn.get("/prices").text
    bad = b"tenant,product,valid_from,unit_price,currency\nnl-bv,NOPE,2026-12-01,-2,EUR\n"
    finn.post("/prices/import", data={"csrf_token": csrf_of(page)}, files={"file": ("bad.csv", bad, "text/csv")})
    after = finn.get("/prices").text
    assert "bad.csv:2 product: unknown SKU" in after and "bad.csv:2 unit_price: -2 is negative" in after
    assert "bad.csv" not in after.split("Editions of the price book")[1]


def test_a_reprice_is_recorded_with_its_reason(settings: Settings, seeded: Seeded) -> None:
    finn = signed_in(settings, "finn")
    page = finn.get("/prices").text
    sent = finn.post("/prices/reprice", data={"csrf_token": csrf_of(page), "tenant": "nl-bv",
                                              "start": "2026-10-01", "reason": "list price error in October"})
    after = finn.get(sent.headers["location"]).text
    assert "Reprice recorded as edition" in after
    assert "nl-bv from 2026-10-01: list price error in October" in after


def test_the_desk_cannot_open_or_change_prices(settings: Settings, seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    assert dana.get("/prices").status_code == 403
    token = csrf_of(dana.get("/").text)
    assert dana.post("/prices/reprice", data={"csrf_token": token, "start": "2026-10-01",
                                              "reason": "no"}).status_code == 403
