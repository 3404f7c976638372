"""Golden rating cases: each file holds a case (rating-cases.md format), the expected output computed by hand from
the documented formulas (the arithmetic is in its ``note``), and is rated through the service the CLI uses."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from services.batches import rate_case

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_golden_case(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    assert rate_case(case["input"]) == case["expected"]


def test_every_golden_total_is_the_sum_of_its_lines() -> None:
    for path in CASES:
        expected = json.loads(path.read_text(encoding="utf-8"))["expected"]
        assert sum(Decimal(line["amount"]) for line in expected["lines"]) == Decimal(expected["total"]), path.stem
