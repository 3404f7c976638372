"""The changes people make from the web desk, through the real services, on SQLite and PostgreSQL: mutations (NCE
refusals explained), resolving a discrepancy, four-eyes approval and rejection; plus paging through invoices."""

from __future__ import annotations

import importlib.util
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from config import Settings
from tests.web.conftest import csrf_of, signed_in
from tests.web.seed import MONTH, Seeded, seed_month


def post(client: TestClient, url: str, **form: str):
    """Submit a form the way the page does: with the CSRF token the page carries."""
    return client.post(url, data={"csrf_token": csrf_of(client.get("/").text), **form})


def follow(client: TestClient, response) -> str:
    assert response.status_code == 303, response.text[:500]
    return client.get(response.headers["location"]).text


needs_mutations = pytest.mark.skipif(importlib.util.find_spec("services.desk.mutations") is None,
                                     reason="services.desk.mutations has not landed yet")
needs_reconcile = pytest.mark.skipif(importlib.util.find_spec("services.desk.reconcile") is None,
                                     reason="services.desk.reconcile has not landed yet")


@needs_mutations
def test_an_increase_is_saved_and_joins_the_timeline(settings: Settings, seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    url = f"/subscriptions/{seeded.nl_subscription}"
    page = follow(dana, post(dana, f"{url}/mutations", step="save", kind="increase", effective_date="2026-12-01",
                             new_quantity="15", ticket_ref="INC-1"))
    assert "Mutation saved: increase effective 2026-12-01 (ticket INC-1, status open)" in page
    assert re.search(r"increase to 15, ticket INC-1 by dana", page)
    assert "at partner-center: queued" in page  # the demo config's Partner Center source opts in to provisioning


@needs_mutations
def test_a_late_reduction_is_refused_with_the_rule_and_the_next_allowed_date(settings: Settings,
                                                                             seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    url = f"/subscriptions/{seeded.nl_subscription}/mutations"
    refused = post(dana, url, kind="decrease", effective_date="2026-11-26", new_quantity="8", ticket_ref="INC-2")
    assert refused.status_code == 422
    assert "refused" in refused.text and "next allowed: renewal on 2027-01-10" in refused.text
    assert 'value="INC-2"' in refused.text  # the form keeps what was typed
    scheduled = post(dana, url, step="save", kind="decrease", effective_date="2026-11-26", new_quantity="8",
                     ticket_ref="INC-2", schedule_if_late="1")
    assert "status scheduled, scheduled for 2027-01-10" in follow(dana, scheduled)


@needs_mutations
@pytest.mark.parametrize(("form", "field", "message"), [
    ({"kind": "decrease", "effective_date": "26.11.2026", "new_quantity": "8"}, "effective_date",
     "Enter the day the change takes effect as YYYY-MM-DD"),
    ({"kind": "increase", "effective_date": "2026-12-01", "new_quantity": "1.5"}, "new_quantity",
     "Seats are whole numbers"),
    ({"kind": "resize", "effective_date": "2026-12-01", "new_quantity": "3"}, "kind", "Choose what to change"),
    ({"kind": "increase", "effective_date": "2026-12-01", "new_quantity": "20", "ticket_ref": " "}, "ticket_ref",
     "Enter the service-desk ticket that asked for this change"),
])
def test_bad_input_is_explained_on_the_form(settings: Settings, seeded: Seeded, form: dict, field: str,
                                            message: str) -> None:
    dana = signed_in(settings, "dana")
    response = post(dana, f"/subscriptions/{seeded.nl_subscription}/mutations", **{"ticket_ref": "INC-3", **form})
    assert response.status_code == 422
    assert re.search(f'id="{field}-error" role="alert">{message}', response.text)


@needs_reconcile
def test_a_discrepancy_is_resolved_with_a_note(settings: Settings, seeded: Seeded) -> None:
    dana = signed_in(settings, "dana")
    url = f"/discrepancies/{seeded.nl_discrepancy}/resolve"
    assert "a resolution note is required" in follow(dana, post(dana, url, note=" "))
    assert f"Discrepancy {seeded.nl_discrepancy} marked resolved." in follow(dana, post(dana, url, note="INC-9 ok"))
    resolved = dana.get("/discrepancies?status=resolved").text
    assert "vendor shows 12 since 2026-10-05, no mutation" in resolved and "dana: INC-9 ok" in resolved
    assert "vendor shows 12" not in dana.get("/discrepancies").text


def test_four_eyes_the_builder_cannot_approve(settings: Settings, seeded: Seeded) -> None:
    greta = signed_in(settings, "greta")  # built de-gmbh's October herself
    page = follow(greta, post(greta, f"/batches/{seeded.de_batch}/approve"))
    assert "a second person must approve (four-eyes)" in page
    assert "draft" in re.search(r"<h1>.*?</h1>", page, re.S).group(0)


def test_a_second_person_approves_and_numbers_are_assigned(settings: Settings, seeded: Seeded) -> None:
    finn, anna = signed_in(settings, "finn"), signed_in(settings, "anna")
    assert "Approve batch" not in finn.get(f"/batches/{seeded.nl_batch}").text
    assert post(finn, f"/batches/{seeded.nl_batch}/approve").status_code == 403
    page = follow(anna, post(anna, f"/batches/{seeded.nl_batch}/approve"))
    assert f"Batch nl-bv {MONTH} approved, invoices NL2026-00003 to NL2026-00004." in page
    assert "Approve batch" not in page
    again = follow(anna, post(anna, f"/batches/{seeded.nl_batch}/approve"))
    assert "already approved" in again


def test_rejecting_needs_a_reason_and_records_it(settings: Settings, seeded: Seeded) -> None:
    anna = signed_in(settings, "anna")
    assert "rejection_reason" in follow(anna, post(anna, f"/batches/{seeded.nl_batch}/reject", reason=""))
    page = follow(anna, post(anna, f"/batches/{seeded.nl_batch}/reject", reason="Contoso seats not confirmed"))
    assert "by anna: Contoso seats not confirmed" in page


def _invoice_table(html: str) -> tuple[list[str], dict[str, str]]:
    """The invoice links of a batch's invoices tab and its pager links by ``rel`` (HTML entities undone)."""
    table = html[html.index('id="invoices"'):]
    links = {rel: unescape(href) for href, rel in re.findall(r'<a href="([^"]+)" rel="(\w+)"', table)}
    return re.findall(r'<a href="(/invoices/\d+)">', table), links


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_invoices_are_paged_by_key_following_the_links(settings: Settings) -> None:
    seeded = seed_month(settings, extra_customers=58)
    finn = signed_in(settings, "finn")
    first, links = _invoice_table(finn.get(f"/batches/{seeded.nl_batch}?tab=invoices").text)
    assert len(first) == 50 and set(links) == {"next", "last"}
    assert links["next"].startswith(f"/batches/{seeded.nl_batch}?tab=invoices&after=")
    response = finn.get(links["next"])
    assert response.status_code == 200
    second, back = _invoice_table(response.text)
    assert len(second) == 10 and set(back) == {"first", "prev"} and "10 shown of 60 in all" in response.text
    assert sorted(first + second) == sorted(set(first + second))  # every invoice once
    assert _invoice_table(finn.get(back["prev"]).text)[0] == first
    assert _invoice_table(finn.get(back["first"]).text)[0] == first
    last, _ = _invoice_table(finn.get(links["last"]).text)  # ?before= with no key: the last 50
    assert last == (first + second)[-50:]
