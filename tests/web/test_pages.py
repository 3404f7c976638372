"""What the read-only pages show, on SQLite and PostgreSQL: the subscription's NCE outlook, the batch's chart and
diff, operations (sync runs, scheduled jobs) per legal entity, and accessible page structure."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from config import Settings
from desk.web.vega import CURRENT
from services.runners import HOST
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import sqlite_only
from tests.services.test_abandoned_runs import dead_pid
from tests.web.conftest import signed_in
from tests.web.seed import MONTH, Seeded

pytestmark = sqlite_only  # pages over the services: both databases are covered below them


def test_the_subscription_page_shows_the_timeline_and_the_next_allowed_reduction(settings: Settings,
                                                                                 seeded: Seeded) -> None:
    page = signed_in(settings, "dana").get(f"/subscriptions/{seeded.nl_subscription}").text
    assert "<dt>Next allowed reduction</dt><dd>2027-01-10</dd>" in page
    assert "<dt>Reducible now</dt><dd>0 seats</dd>" in page
    assert re.search(r"2026-01-10</td><td>Vendor</td><td class=\"num\">10</td>", page)
    assert re.search(r"2026-10-05</td><td>Vendor</td><td class=\"num\">12</td>", page)


def test_the_batch_page_has_the_chart_the_diff_and_the_open_discrepancies(settings: Settings, seeded: Seeded) -> None:
    page = signed_in(settings, "finn").get(f"/batches/{seeded.nl_batch}").text
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg
    assert svg.count('aria-roledescription="bar"') == 2 and svg.count(f'fill="{CURRENT}"') == 1
    assert "2026-09 901.60 EUR; 2026-10 983.17 EUR" in svg
    assert re.search(r"Contoso Zorg B\.V\.</td><td>changed</td>.*?81\.57</td>", page, re.S)
    assert f"Batch nl-bv {MONTH}" in page
    discrepancies = signed_in(settings, "finn").get(f"/batches/{seeded.nl_batch}?tab=discrepancies").text
    assert "vendor shows 12 since 2026-10-05, no mutation" in discrepancies  # on its own tab


@pytest.mark.parametrize(("user", "shown", "hidden"), [
    ("finn", ["partner-center", "subscriptions: 2", "sync:partner-center", "build:nl-bv", "export-retry"],
     ["pax8", "build:de-gmbh"]),
    ("greta", ["pax8: HTTP 503 from /subscriptions after 5 attempts", "build:de-gmbh"], ["partner-center", "nl-bv"]),
    ("dana", ["partner-center", "pax8"], ["Scheduled jobs"]),
])
def test_operations_per_legal_entity(settings: Settings, seeded: Seeded, user: str, shown: list[str],
                                     hidden: list[str]) -> None:
    page = signed_in(settings, user).get("/operations").text
    main = page[page.index("<main"):]
    for text in shown:
        assert text in main
    for text in hidden:
        assert text not in main


@pytest.mark.parametrize("path", ["/", "/customers", "/subscriptions", "/discrepancies", "/batches",
                                  "/batches/{nl_batch}", "/invoices/{nl_invoice}", "/lines/{nl_line}", "/operations",
                                  "/subscriptions/{nl_subscription}"])
def test_pages_are_accessible_in_structure(settings: Settings, seeded: Seeded, path: str) -> None:
    """A skip link to the main region, one h1, captions on tables, a label for every visible field."""
    page = signed_in(settings, "ada").get(path.format(**vars(seeded))).text
    assert '<a class="skip-link" href="#content">' in page and '<main id="content"' in page
    assert page.count("<h1") == 1
    assert page.count("<table") == page.count("<caption>")
    fields = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|checkbox)")[^>]*\bid="([^"]+)"', page)
    for field in fields:
        assert f'for="{field}"' in page, f"field {field} has no label on {path}"
    assert not re.search(r'<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|checkbox)")(?![^>]*\bid=)[^>]*>',
                         page), f"a field without id/label on {path}"


def test_customer_and_subscription_search(settings: Settings, seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    customers = dana.get("/customers?q=C00002").text
    assert "Fabrikam Logistiek" in customers and "Contoso" not in customers
    assert re.search(r"Fabrikam Logistiek</a></td><td>nl-bv</td><td>C00002</td><td>1</td>", customers)
    subscriptions = dana.get("/subscriptions?q=Business").text
    assert "Microsoft 365 Business Premium" in subscriptions and "Microsoft 365 E3" not in subscriptions
    assert "Müller Maschinenbau GmbH" in dana.get("/subscriptions?q=Müller").text


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("tenant=de-gmbh", ["billed 4, vendor 5"], ["vendor shows 12"]),
    ("kind=no_mutation", ["vendor shows 12"], ["billed 4, vendor 5"]),
    ("status=resolved", ["No discrepancies."], ["vendor shows 12", "billed 4, vendor 5"]),
    ("status=", ["vendor shows 12", "billed 4, vendor 5"], []),
])
def test_discrepancy_filters(settings: Settings, seeded: Seeded, query: str, shown: list[str],
                             hidden: list[str]) -> None:
    page = signed_in(settings, "ada").get(f"/discrepancies?{query}").text
    for text in shown:
        assert text in page
    for text in hidden:
        assert text not in page


def test_operations_shows_runs_whose_process_died_as_abandoned(settings: Settings, seeded: Seeded) -> None:
    sync_pid, job_pid = dead_pid(), dead_pid()
    with UnitOfWork(engine_for(settings), write=True) as uow:  # what a killed sync and a killed scheduler leave
        nl = uow.tenants.by_code("nl-bv").id
        uow.sync_runs.start("partner-center", dt.datetime(2026, 11, 26, 1, 30, tzinfo=dt.UTC), nl,
                            f"{HOST}:{sync_pid}:0123456789ab")
        uow.job_runs.start("sync:partner-center", None, f"{HOST}:{job_pid}:ba9876543210", dt.datetime.now(dt.UTC))
    page = signed_in(settings, "finn").get("/operations").text
    assert f"abandoned: process {sync_pid} on {HOST} is gone" in page
    assert f"abandoned: process {job_pid} on {HOST} is gone" in page
    assert page.count('<span class="status status-abandoned">abandoned</span>') == 3  # sync, job last run, history
