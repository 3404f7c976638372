"""VAT per line in a built batch follows ``rating.vat``: the German entity's lines to a French business with a valid
VAT id are reverse-charged (AE 0 %), to a Swiss customer not subject (O), to a customer whose id VIES called invalid
standard-rated, and the batch totals' by_rate follow; ``vat_outside_eu: standard`` charges 19 % outside the EU."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from config import Settings
from ledger.models import Customer, Invoice
from services.batches import build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot

CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
BUYERS = {"Boulangerie SARL": ("FR", "FR40303265045"), "Uhren AG": ("CH", "CHE-116.281.710 MWST"),
          "Gelöscht BV": ("NL", "NL004495445B01"), "Berlin GmbH": ("DE", "DE136695976"),
          "Falsch SARL": ("FR", "FR40303265046")}


def seed(settings: Settings) -> dict[str, int]:
    initialise(settings)
    ids = {}
    for n, (name, (country, vat_id)) in enumerate(BUYERS.items()):
        ids[name] = add_customer(settings, "de-gmbh", name, country=country, vat_id=vat_id)
        sub = add_subscription(settings, "de-gmbh", ids[name], f"sub-{n}", "2026-04-01", anchor="2026-04-01",
                               source="pax8")
        snapshot(settings, sub, "2026-04-01", 10)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.get(Customer, ids["Gelöscht BV"]).vat_check_result = "invalid"
    return ids


def vat_by_customer(settings: Settings) -> dict[int, tuple[str, ...]]:
    with UnitOfWork(engine_for(settings)) as uow:
        found = {}
        for invoice in uow.session.scalars(select(Invoice)):
            categories = {(line.vat_category, str(line.vat_rate)) for line in invoice.lines}
            assert len(categories) == 1
            found[invoice.customer_id] = (*categories.pop(), *[part["reason"] or "" for part in invoice.vat_breakdown])
        return found


def test_each_customer_gets_the_vat_the_rule_decides(settings: Settings) -> None:
    ids = seed(settings)
    report = build_batch(settings, "de-gmbh", "2026-04", actor(settings, "greta"), CLOCK)
    vat = vat_by_customer(settings)
    assert vat[ids["Boulangerie SARL"]] == ("AE", "0", "Reverse charge")
    assert vat[ids["Uhren AG"]] == ("O", "0", "Not subject to VAT")
    assert vat[ids["Gelöscht BV"]] == ("S", "19", "")
    assert vat[ids["Berlin GmbH"]] == ("S", "19", "")
    assert vat[ids["Falsch SARL"]] == ("S", "19", "")
    by_rate = report.totals["EUR"]["by_rate"]
    assert set(by_rate) == {"AE 0%", "O 0%", "S 19%"}
    assert Decimal(by_rate["AE 0%"]["vat"]) == Decimal(by_rate["O 0%"]["vat"]) == 0
    assert Decimal(by_rate["S 19%"]["taxable"]) == 3 * Decimal(by_rate["AE 0%"]["taxable"])


def test_outside_the_eu_standard_when_configured(settings: Settings) -> None:
    data = settings.model_dump()
    for tenant in data["tenants"]:
        tenant["vat_outside_eu"] = "standard"
    standard = type(settings).model_validate(data)
    ids = seed(standard)
    build_batch(standard, "de-gmbh", "2026-04", actor(standard, "greta"), CLOCK)
    assert vat_by_customer(standard)[ids["Uhren AG"]] == ("S", "19", "")
