"""Blocking findings before approval: listed on the batch review naming customer and field, approval refused with
that list until the customer is completed through the desk service; then approval goes through."""

from __future__ import annotations

import datetime as dt

import pytest

from config import Settings
from services.batches import approve_batch, batch_summary, build_batch
from services.clock import FixedClock
from services.desk import update_master_data
from services.errors import NotAllowed
from services.operations import initialise
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot

CLOCK = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))


@pytest.fixture
def draft(settings: Settings) -> dict[str, int]:
    initialise(settings)
    ids = {"peppol": add_customer(settings, "de-gmbh", "Stad Gent", country="BE", vat_id="BE0428759497",
                                  delivery_channel="peppol"),
           "bare": add_customer(settings, "de-gmbh", "Ohne Adresse GmbH", country="DE", street=None, city=None),
           "fine": add_customer(settings, "de-gmbh", "Fertig GmbH", country="DE")}
    for n, customer in enumerate(ids.values()):
        sub = add_subscription(settings, "de-gmbh", customer, f"sub-{n}", "2026-04-01", anchor="2026-04-01",
                               source="pax8")
        snapshot(settings, sub, "2026-04-01", 5)
    build_batch(settings, "de-gmbh", "2026-04", actor(settings, "greta"), CLOCK)
    return ids


def test_review_lists_and_approval_refuses_until_completed(settings: Settings, draft: dict[str, int]) -> None:
    blocking = batch_summary(settings, "de-gmbh", "2026-04", actor(settings, "greta"))["blocking"]
    assert [(f["customer"], f["field"]) for f in blocking] == [
        ("Ohne Adresse GmbH", "street"), ("Ohne Adresse GmbH", "city"), ("Stad Gent", "peppol_id")]
    with pytest.raises(NotAllowed, match="3 blocking findings") as refused:
        approve_batch(settings, "de-gmbh", "2026-04", actor(settings, "ada"), CLOCK)
    assert f"customer {draft['peppol']} (Stad Gent) peppol_id: missing; the delivery channel is peppol" in str(
        refused.value)
    dana = actor(settings, "dana")
    update_master_data(settings, dana, draft["peppol"], {"peppol": "0208:0428759497"}, CLOCK)
    update_master_data(settings, dana, draft["bare"], {"street": "Domkloster 4", "city": "Köln"}, CLOCK)
    assert batch_summary(settings, "de-gmbh", "2026-04", actor(settings, "greta"))["blocking"] == []
    report = approve_batch(settings, "de-gmbh", "2026-04", actor(settings, "ada"), CLOCK)
    assert report.invoices == 3


def test_blank_means_what_the_rule_says_not_what_sql_trims(settings: Settings) -> None:
    """The customers that may lack a field are preselected in SQL; whitespace of any kind still counts as missing
    and a street of non-Latin letters only as present, exactly as the pure rule decides."""
    initialise(settings)
    streets = {"Tab Leer GmbH": " \t", "Geschützt Leer GmbH": "\u00a0", "Οδός GmbH": "Οδός", "Voll GmbH": "Ring 1"}
    for n, (name, street) in enumerate(streets.items()):
        customer = add_customer(settings, "de-gmbh", name, country="DE", street=street)
        sub = add_subscription(settings, "de-gmbh", customer, f"sub-{n}", "2026-04-01", anchor="2026-04-01",
                               source="pax8")
        snapshot(settings, sub, "2026-04-01", 5)
    build_batch(settings, "de-gmbh", "2026-04", actor(settings, "greta"), CLOCK)
    blocking = batch_summary(settings, "de-gmbh", "2026-04", actor(settings, "greta"))["blocking"]
    assert [(f["customer"], f["field"]) for f in blocking] == [("Geschützt Leer GmbH", "street"),
                                                               ("Tab Leer GmbH", "street")]
