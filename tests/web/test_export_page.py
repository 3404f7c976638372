"""A batch's export page through the real web app and the BC SOAP sandbox, on SQLite and PostgreSQL: the preview,
"Export all" as a background job, progress and per-invoice status, "Retry all failed", and exactly once when two
web processes are told to export the same batch at the same time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config import Settings
from sandbox.bc_soap.soap import nav_fault
from services.export import erp_reference, export_status
from services.export.preview import PER_PAGE
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.export.test_export_outbox import (  # noqa: F401 - soap and soap_env are fixtures used here
    MONTH,
    SOAP,
    Soap,
    seed_invoices,
    soap,
    soap_env,
    soap_settings,
)
from tests.web.conftest import csrf_of, signed_in
from tests.web.seed import Seeded, seed_month

REJECTED = nav_fault("NavCSideRecordNotFoundException", "The Customer does not exist. Identification fields and "
                     "values: No.='C00002'").body


@pytest.fixture
def nl(settings: Settings, soap: Soap, soap_env: None, tmp_path: Path) -> Settings:  # noqa: F811
    return soap_settings(settings, soap, tmp_path)


@pytest.fixture
def month(nl: Settings) -> Seeded:
    return seed_month(nl)


def press(client: TestClient, url: str) -> str:
    """Press the page's button posting to ``url``; returns the page it redirects to."""
    response = client.post(url, data={"csrf_token": csrf_of(client.get("/").text)})  # the page's look-ups aside
    assert response.status_code == 303, response.text[:500]
    return client.get(response.headers["location"]).text


def finished(client: TestClient, batch: int) -> str:
    """The export page once this app's job has ended (no ``Refresh`` header any more)."""
    client.app.state.background_jobs.wait(("export", batch), timeout=60)
    response = client.get(f"/batches/{batch}/export")
    assert "Refresh" not in response.headers
    return response.text


def test_the_page_previews_then_exports_all_and_shows_each_invoices_status(nl: Settings, month: Seeded,
                                                                         soap: Soap) -> None:  # noqa: F811
    finn = signed_in(nl, "finn")
    url = f"/batches/{month.previous_batch}/export"
    assert url in finn.get(f"/batches/{month.previous_batch}").text  # the batch page links to it
    page = finn.get(url).text
    assert "0 of 2 done, 0 failed" in page
    assert re.search(r"NL2026-00001.*Contoso Zorg B\.V\..*status-create", page, re.S)
    assert page.count("status-create") == 2 and "Export all" in page and "Retry all failed" not in page

    soap.app.faults.arm(SOAP, kind="status", status=500, body=REJECTED, after=3)  # the second invoice's create
    page = press(finn, url)
    assert "Export of batch nl-bv 2026-09 started" in page
    page = finished(finn, month.previous_batch)
    assert "1 of 2 done, 1 failed" in page
    assert "The Customer does not exist" in page and "status-sent" in page and "status-failed" in page
    assert "Retry all failed" in page

    soap.app.faults.clear()
    press(finn, f"{url}/retry-failed")
    page = finished(finn, month.previous_batch)
    assert "2 of 2 done, 0 failed" in page and page.count("status-unchanged") == 2
    for row in export_status(nl, actor(nl, "finn"), "nl-bv", month.previous_batch):
        assert row.status == "sent"
        assert len(soap.documents(erp_reference("nl-bv", row.invoice_number))) == 1


def test_the_invoice_page_links_its_real_status_to_the_export_page(nl: Settings, month: Seeded) -> None:
    finn = signed_in(nl, "finn")
    seeded = finn.get(f"/batches/{month.previous_batch}/export").text
    invoice = re.search(r'href="/invoices/(\d+)">NL2026-00001', seeded).group(1)
    page = finn.get(f"/invoices/{invoice}").text
    assert "Approved, not queued for the ERP yet" in page
    assert f'href="/batches/{month.previous_batch}/export"' in page
    draft = finn.get(f"/invoices/{month.nl_invoice}").text
    assert "only approved invoices are exported, this one is draft" in draft


def test_two_web_processes_pressing_export_all_send_each_invoice_once(nl: Settings, month: Seeded,
                                                                      soap: Soap) -> None:  # noqa: F811
    soap.app.faults.arm(SOAP, kind="delay", seconds=0.3, times=-1)  # keep both runs in flight together
    first, second = signed_in(nl, "finn"), signed_in(nl, "anna")  # two apps: two browsers on two web processes
    url = f"/batches/{month.previous_batch}/export"
    pages = [client.get(url).text for client in (first, second)]
    answers = [client.post(url, data={"csrf_token": csrf_of(page)}) for client, page in zip((first, second), pages,
                                                                                              strict=True)]
    assert [a.status_code for a in answers] == [303, 303]
    again = first.post(url, data={"csrf_token": csrf_of(pages[0])})  # a double click while it runs
    assert again.status_code == 303
    finished(first, month.previous_batch)
    page = finished(second, month.previous_batch)
    assert "2 of 2 done, 0 failed" in page
    for row in export_status(nl, actor(nl, "finn"), "nl-bv", month.previous_batch):
        assert len(soap.documents(erp_reference("nl-bv", row.invoice_number))) == 1, row.invoice_number


def test_desk_people_see_no_export_page_and_cannot_start_one(nl: Settings, month: Seeded) -> None:
    dana = signed_in(nl, "dana")
    url = f"/batches/{month.previous_batch}/export"
    assert dana.get(url).status_code == 403
    token = csrf_of(dana.get("/").text)
    assert dana.post(url, data={"csrf_token": token}).status_code == 403


def test_a_long_batch_is_paged_by_invoice_key_and_the_progress_counts_all_of_it(nl: Settings) -> None:
    initialise(nl)
    numbers = seed_invoices(nl, count=PER_PAGE + 3)
    with UnitOfWork(engine_for(nl)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, MONTH).id
    finn = signed_in(nl, "finn")
    first = finn.get(f"/batches/{batch}/export").text
    assert f"0 of {PER_PAGE + 3} done" in first and first.count("status-create") == PER_PAGE
    assert numbers[PER_PAGE - 1] in first and numbers[PER_PAGE] not in first
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    rest = finn.get(following).text
    assert rest.count("status-create") == 3 and all(number in rest for number in numbers[PER_PAGE:])
    assert 'rel="prev"' in rest and 'rel="next"' not in rest and f"0 of {PER_PAGE + 3} done" in rest
