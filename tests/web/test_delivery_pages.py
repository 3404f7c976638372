"""The desk's deliveries page (status per invoice, re-send) and archive page (search, download by hash)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from config import Settings
from ledger.models import Delivery
from services.delivery import deliver_invoices
from services.runners import HOST
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import sqlite_only
from tests.identity import actor
from tests.services.delivery.support import Sandboxes, sandboxes, set_channel, with_delivery
from tests.services.export.test_export_outbox import seed_invoices
from tests.web.conftest import csrf_of, signed_in

pytestmark = sqlite_only  # pages over the services: both databases are covered below them

__all__ = ["sandboxes"]


def test_finance_sees_deliveries_resends_an_uncertain_one_and_downloads_the_archived_file(
        settings: Settings, sandboxes: Sandboxes) -> None:
    nl = with_delivery(settings, sandboxes)
    [number] = seed_invoices(nl, count=1)
    set_channel(nl, number, "email", email="ap@customer.example")
    deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    with UnitOfWork(engine_for(nl), write=True) as uow:
        row = uow.session.scalar(select(Delivery))
        row.status, row.claimed_by, row.last_error = "uncertain", None, f"{HOST}: no reply after the message was sent"
    client = signed_in(nl, "finn")
    page = client.get("/deliveries")
    assert page.status_code == 200
    assert number in page.text and "uncertain" in page.text and "Re-send" in page.text
    answer = client.post(f"/deliveries/{row.id}/resend", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert "sent" in client.get("/deliveries").text
    assert len(sandboxes.smtp.messages()) == 2

    found = client.get("/archive", params={"number": number})
    assert f"{number}.ubl.xml" in found.text
    assert client.get("/archive", params={"customer": "nobody"}).text.count(".ubl.xml") == 0
    link = found.text.split('href="/archive/')[1].split('"')[0]
    download = client.get(f"/archive/{link}")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == download.headers["X-Content-SHA256"]


def test_another_entitys_people_see_neither_deliveries_nor_documents(settings: Settings,
                                                                    sandboxes: Sandboxes) -> None:
    nl = with_delivery(settings, sandboxes)
    [number] = seed_invoices(nl, count=1)
    set_channel(nl, number, "email", email="ap@customer.example")
    deliver_invoices(nl, actor(nl, "finn"), "nl-bv")
    client = signed_in(nl, "greta")  # de-gmbh only
    assert number not in client.get("/deliveries").text
    assert number not in client.get("/archive").text
    assert client.get("/archive/1").status_code == 404
