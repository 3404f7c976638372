"""Price files are read whole and checked before anything is stored: every problem names file, line and field; one
bad row refuses the file; Microsoft's date forms and overlapping rows are read as it documents; config.yaml's rules
become an edition only when they change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from config import Settings
from services.operations import initialise
from services.prices import PriceFileRefused, book_view, import_file, sync_config
from services.prices.files import Known, parse_day, read_microsoft, read_rules
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor

KNOWN = Known({"nl-bv", "de-gmbh"}, {"CFQ7TTC0LH18:0001", "CFQ7TTC0LH18"}, {"Contoso", "CONTOSO-1", "7"})
HEADER = ("name,tenant,customer,product,meter_category,billing,valid_from,valid_to,unit_price,currency,markup_percent,"
          "basis")
MS_HEADER = ("ProductTitle,ProductId,SkuId,SkuTitle,TermDuration,BillingPlan,Market,Currency,UnitPrice,"
             "EffectiveStartDate,EffectiveEndDate,ERP Price")


@pytest.mark.parametrize(("row", "problem"), [
    (",nl-bv,,NOPE:0001,,,2026-01-01,,10.00,EUR,,", "rules.csv:2 product: unknown SKU 'NOPE:0001'"),
    (",nl-bv,,CFQ7TTC0LH18:0001,,,2026-01-01,,-1.00,EUR,,", "rules.csv:2 unit_price: -1.00 is negative"),
    (",nl-bv,,CFQ7TTC0LH18:0001,,,2026-01-01,,10.00,,,", "rules.csv:2 currency: missing"),
    (",nl-bv,,CFQ7TTC0LH18:0001,,,2026-01-01,,10.00,EURO,,", "rules.csv:2 currency: 'EURO' is not an ISO 4217"),
    (",at-gmbh,,,,,2026-01-01,,,,10,", "rules.csv:2 tenant: 'at-gmbh' is not a legal entity"),
    (",nl-bv,Fabrikam,,,,2026-01-01,,,,10,", "rules.csv:2 customer: 'Fabrikam' is not a customer"),
    (",nl-bv,,,,,01.01.2026,,,,10,", "rules.csv:2 valid_from: '01.01.2026' is not a date"),
    (",nl-bv,,,,,,,,,10,", "rules.csv:2 valid_from: missing"),
    (",nl-bv,,,,,2026-02-01,2026-01-01,,,10,", "rules.csv:2 valid_to: 2026-01-01 is before valid_from"),
    (",nl-bv,,,,,2026-01-01,,10.00,EUR,10,", "rules.csv:2 unit_price: give exactly one of unit_price or markup"),
    (",nl-bv,,,,,2026-01-01,,,,-101,", "rules.csv:2 markup_percent: -101 is below -100"),
    (",nl-bv,,,,,2026-01-01,,,,10,gross", "rules.csv:2 basis: 'gross' is not one of cost, list, erp"),
    (",nl-bv,,,,P2M,2026-01-01,,,,10,", "rules.csv:2 billing: 'P2M' is not one of P1M, P1Y, P3Y"),
    (",nl-bv,,,,,2026-01-01,,1e400x,EUR,,", "rules.csv:2 unit_price: '1e400x' is not a number"),
])
def test_a_bad_rule_row_is_refused_with_file_line_and_field(row: str, problem: str) -> None:
    with pytest.raises(PriceFileRefused) as refused:
        read_rules("rules.csv", f"{HEADER}\n{row}\n", KNOWN)
    assert any(found.startswith(problem) for found in refused.value.problems), refused.value.problems


def test_overlapping_validity_in_one_file_is_refused_and_consecutive_rows_are_not() -> None:
    overlap = f"{HEADER}\n,nl-bv,,,,,2026-01-01,,,,10,\n,nl-bv,,,,,2026-06-01,,,,12,\n"
    with pytest.raises(PriceFileRefused, match=r"rules\.csv:3 valid_from: overlaps line 2"):
        read_rules("rules.csv", overlap, KNOWN)
    ok = (f"{HEADER}\n,nl-bv,,,,,2026-01-01,2026-05-31,,,10,\n,nl-bv,,,,,2026-06-01,,,,12,\n"
          ",de-gmbh,,,,,2026-01-01,,,,9,\n")
    assert [row["percent"] for row in read_rules("rules.csv", ok, KNOWN)] == [10, 12, 9]


def test_unknown_or_missing_columns_are_named() -> None:
    with pytest.raises(PriceFileRefused, match=r"rules\.csv:1 header: unknown column"):
        read_rules("rules.csv", "valid_from,discount\n2026-01-01,3\n", KNOWN)
    with pytest.raises(PriceFileRefused, match=r"nce\.csv:1 header: missing column"):
        read_microsoft("nce.csv", "ProductId,SkuId\nX,1\n")


@pytest.mark.parametrize(("text", "end", "day"), [
    ("2/1/2023 0:00", False, dt.date(2023, 2, 1)),
    ("3/1/2018 12:00:00 AM", False, dt.date(2018, 3, 1)),
    ("2021-10-01T00:00:00.0000000Z", False, dt.date(2021, 10, 1)),
    ("11/30/9999 23:59", True, dt.date.max),
    ("2021-11-03T06:57:30.0682597Z", True, dt.date(2021, 11, 3)),
    ("12/1/2026 0:00", True, dt.date(2026, 11, 30)),  # an end at midnight ends the day before
    ("13/45/2026", False, None),
])
def test_microsoft_dates(text: str, end: bool, day: dt.date | None) -> None:
    assert parse_day(text, end) == day


@pytest.mark.parametrize(("row", "problem"), [
    ("E3,CFQ7TTC0LH18,,E3,P1Y,Monthly,NL,EUR,30,1/1/2026 0:00,11/30/9999 23:59,36", "nce.csv:2 SkuId: missing"),
    ("E3,CFQ7TTC0LH18,0001,E3,P1Y,Monthly,NL,,30,1/1/2026 0:00,11/30/9999 23:59,36", "nce.csv:2 Currency: missing"),
    ("E3,CFQ7TTC0LH18,0001,E3,P1Y,Monthly,NL,EUR,-30,1/1/2026 0:00,11/30/9999 23:59,36",
     "nce.csv:2 UnitPrice: -30 is negative"),
    ("E3,CFQ7TTC0LH18,0001,E3,P5Y,Monthly,NL,EUR,30,1/1/2026 0:00,11/30/9999 23:59,36",
     "nce.csv:2 TermDuration: 'P5Y' is not one of"),
])
def test_a_bad_microsoft_row_is_refused(row: str, problem: str) -> None:
    good = "E3,CFQ7TTC0LH18,0001,E3,P1Y,Monthly,NL,EUR,30,1/1/2026 0:00,11/30/9999 23:59,36"
    with pytest.raises(PriceFileRefused) as refused:
        read_microsoft("nce.csv", f"{MS_HEADER}\n{good}\n{row}\n")
    assert any(found.startswith(problem.replace(":2 ", ":3 ")) for found in refused.value.problems)


def test_a_refused_file_stores_nothing_and_a_good_one_is_one_edition(settings: Settings, tmp_path: Path) -> None:
    initialise(settings)
    before = book_view(settings, actor(settings, "finn"))["editions"]
    bad = tmp_path / "rules.csv"
    bad.write_text(f"{HEADER}\n,nl-bv,,,,,2026-01-01,,,,10,\n,nl-bv,,NOPE,,,2026-01-01,,,,10,\n")
    with pytest.raises(PriceFileRefused, match=r"rules\.csv:3 product"):
        import_file(settings, bad, actor(settings, "finn"))
    assert book_view(settings, actor(settings, "finn"))["editions"] == before
    with UnitOfWork(engine_for(settings)) as uow:
        assert len(uow.prices.rules()) == len(settings.price_rules)
    bad.write_text(f"{HEADER}\n,nl-bv,,,,,2026-01-01,,,,10,\n")
    first = import_file(settings, bad, actor(settings, "finn"))
    again = import_file(settings, bad, actor(settings, "finn"))
    assert (first.created, again.created, again.edition) == (True, False, first.edition)


def test_config_rules_become_an_edition_only_when_they_change(settings: Settings) -> None:
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        assert sync_config(uow, settings, "system") is None
        changed = settings.model_copy(update={"price_rules": settings.price_rules[:1]})
        second = sync_config(uow, changed, "system")
        back = sync_config(uow, settings, "system")  # back to the first rules: a third edition, not an error
        assert second is not None and back is not None and back > second
        assert uow.prices.config_imports()[-2:] == [second, back]
