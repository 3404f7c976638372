"""Usage rows → priced, marked-up, grouped lines; exact to the 1e-8 cost unit and rounded once per group."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from rating.money import to_units
from rating.pricing import FxRate, FxTable, MarkupRule, Markups
from rating.rounding import RoundingPolicy
from rating.usage_frames import rate_usage

MARKUPS = Markups((MarkupRule("base", Decimal("10"), tenant="de01"),
                   MarkupRule("vm", Decimal("20"), meter_category="Virtual Machines")))
FX = FxTable([FxRate("ecb", "USD", "EUR", Decimal("0.9"), date(2026, 5, 29))])


def frame(rows: list[tuple]) -> pd.DataFrame:
    data = pd.DataFrame(rows, columns=["row_id", "customer", "resource_group", "meter", "meter_category", "currency",
                                       "cost", "tag_environment"])
    data["cost_units"] = [to_units(cost, 8) for cost in data.pop("cost")]
    return data.astype({"cost_units": "int64"})


ROWS = frame([
    ("u1", "acme", "rg-web", "m1", "Virtual Machines", "EUR", "1.00000001", "prod"),
    ("u2", "acme", "rg-web", "m2", "Storage", "EUR", "2.5", "prod"),
    ("u3", "acme", "rg-db", "m1", "Virtual Machines", "USD", "10", None),
    ("u4", "zeta", "rg-x", "m2", "Storage", "EUR", "0.00000004", "test"),
])


def test_grouped_by_customer_and_environment() -> None:
    lines = rate_usage(ROWS, tenant="de01", currency="EUR", group_by=["customer", "tag_environment"],
                       markups=MARKUPS, fx=FX, on=date(2026, 5, 31), rounding=RoundingPolicy.HALF_UP)
    summary = [(dict(line.group), line.rows, str(line.amount.amount), list(line.lineage.input_ids)) for line in lines]
    assert summary == [
        # prod: 1.00000001 × 1.2 + 2.5 × 1.1 = 1.200000012 + 2.75 = 3.950000012
        ({"customer": "acme", "tag_environment": "prod"}, 2, "3.95", ["u1", "u2"]),
        # no tag: 10 USD × 1.2 × 0.9 = 10.80
        ({"customer": "acme", "tag_environment": None}, 1, "10.80", ["u3"]),
        # 0.00000004 × 1.1 = 0.000000044 -> 0.00
        ({"customer": "zeta", "tag_environment": "test"}, 1, "0.00", ["u4"]),
    ]
    assert lines[0].unrounded == Decimal("3.950000012")
    assert lines[0].key == ("usage", "acme", "prod")
    assert "(1 + 20% vm)" in lines[0].lineage.formula and lines[0].lineage.to_dict()["input_ids"] == ["u1", "u2"]


def test_one_group_for_everything_and_bad_columns() -> None:
    lines = rate_usage(ROWS, tenant="de01", currency="EUR", group_by=[], markups=Markups(), fx=FX,
                       on=date(2026, 5, 31), rounding=RoundingPolicy.TRUNCATE)
    assert [str(line.amount.amount) for line in lines] == ["12.50"]  # 1.00000001 + 2.5 + 9 + 0.00000004
    with pytest.raises(ValueError, match="cannot group usage by colour"):
        rate_usage(ROWS, tenant="de01", currency="EUR", group_by=["colour"], markups=MARKUPS, fx=FX,
                   on=date(2026, 5, 31), rounding=RoundingPolicy.TRUNCATE)
    with pytest.raises(KeyError, match="no EUR->CHF"):
        rate_usage(ROWS, tenant="de01", currency="CHF", group_by=[], markups=MARKUPS, fx=FX,
                   on=date(2026, 5, 31), rounding=RoundingPolicy.TRUNCATE)
