"""`cspbill rate CASE.json` (in process, ``tests.cli``; one refusal through the real console script): JSON on stdout,
or one error line and a non-zero exit.

The worked examples of rating-cases.md are rated here exactly as the document writes them down (input JSON as
given, every output line and the total), together with the examples its precise rules 3 and 4 settle.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
CSPBILL = Path(sys.executable).with_name("cspbill")
CASES = ROOT / "tests" / "rating" / "cases"
GOLDEN = CASES / "01_doc_example_microsoft_truncate.json"

# rating-cases.md "Input", verbatim.
DOC_INPUT = {
    "name": "free text",
    "currency": "EUR",
    "convention": "microsoft",
    "rounding": "truncate",
    "subscription": {"id": "sub-1", "start": "2026-04-10", "anchor": "2026-04-10", "term": "P1M", "billing": "P1M",
                     "timing": "advance", "quantity": 4, "unit_price": "12.00"},
    "changes": [
        {"date": "2026-04-15", "quantity": 6},
        {"date": "2026-05-20", "unit_price": "13.50"},
        {"date": "2026-06-01", "quantity": 6, "unit_price": "8.00", "product": "other-sku"},
        {"date": "2026-06-03", "cancel": True},
    ],
    "window": {"from": "2026-04-10", "to": "2026-05-09"},
}
# rating-cases.md "Output", verbatim: "for the input above with only its first change and its window".
DOC_OUTPUT = {
    "currency": "EUR",
    "lines": [
        {"subscription": "sub-1", "kind": "charge", "from": "2026-04-10", "to": "2026-05-09",
         "quantity": 4, "unit_price": "12.00", "days": 30, "period_days": 30, "amount": "48.00",
         "unrounded": "48", "formula": "4 × 12.00 × 30/30"},
        {"subscription": "sub-1", "kind": "credit", "from": "2026-04-15", "to": "2026-05-09",
         "quantity": 4, "unit_price": "12.00", "days": 25, "period_days": 30, "amount": "-40.00",
         "unrounded": "-40", "formula": "-4 × 12.00 × 25/30"},
        {"subscription": "sub-1", "kind": "charge", "from": "2026-04-15", "to": "2026-05-09",
         "quantity": 6, "unit_price": "12.00", "days": 25, "period_days": 30, "amount": "60.00",
         "unrounded": "60", "formula": "6 × 12.00 × 25/30"},
    ],
    "total": "68.00",
}
# rating-cases.md "Worked example, actual convention": monthly, advance, anchored on the 1st, 5 seats at 20.00 from
# 2026-03-01, raised to 8 on 2026-03-11, half-up, window 2026-03-01 → 2026-03-31.
ACTUAL_INPUT = {
    "name": "worked example, actual convention",
    "currency": "EUR",
    "convention": "actual",
    "rounding": "half_up",
    "subscription": {"id": "sub-1", "start": "2026-03-01", "anchor": "2026-03-01", "term": "P1M", "billing": "P1M",
                     "timing": "advance", "quantity": 5, "unit_price": "20.00"},
    "changes": [{"date": "2026-03-11", "quantity": 8}],
    "window": {"from": "2026-03-01", "to": "2026-03-31"},
}
# charge 5 × 20.00 = 100.00; credit −5 × 20.00 × 21/31 = −67.74; charge 8 × 20.00 × 21/31 = 108.39; total 140.65.
ACTUAL_OUTPUT = {
    "currency": "EUR",
    "lines": [
        {"subscription": "sub-1", "kind": "charge", "from": "2026-03-01", "to": "2026-03-31",
         "quantity": 5, "unit_price": "20.00", "days": 31, "period_days": 31, "amount": "100.00",
         "unrounded": "100", "formula": "5 × 20.00 × 31/31"},
        {"subscription": "sub-1", "kind": "credit", "from": "2026-03-11", "to": "2026-03-31",
         "quantity": 5, "unit_price": "20.00", "days": 21, "period_days": 31, "amount": "-67.74",
         "unrounded": "-67.74193548387096774193548387", "formula": "-5 × 20.00 × 21/31"},
        {"subscription": "sub-1", "kind": "charge", "from": "2026-03-11", "to": "2026-03-31",
         "quantity": 8, "unit_price": "20.00", "days": 21, "period_days": 31, "amount": "108.39",
         "unrounded": "108.3870967741935483870967742", "formula": "8 × 20.00 × 21/31"},
    ],
    "total": "140.65",
}


def golden(name: str) -> tuple[dict, dict]:
    case = json.loads((CASES / name).read_text(encoding="utf-8"))
    return case["input"], case["expected"]


EXAMPLES = {
    "doc output example": ({**DOC_INPUT, "changes": DOC_INPUT["changes"][:1]}, DOC_OUTPUT),
    "doc input as given": (DOC_INPUT, DOC_OUTPUT),
    "doc worked example, actual": (ACTUAL_INPUT, ACTUAL_OUTPUT),
    # Rule 3: anchor 01-31, 01-31 → 02-27 and 02-28 → 03-30 both have 31 period days.
    "rule 3, clipped month-end cycles": golden("03_anchor_31_microsoft_clipped_cycles.json"),
    # Rule 4: one day at the end of February counts 1.
    "rule 4, one day at February's end": golden("30_thirty_one_day_at_february_end.json"),
}


def run(case: Path, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``cspbill rate CASE`` in this process (``tests.cli``) or, with ``process``, through the real console script."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if not process:
        return run_cli(["rate", str(case)], env=env, cwd=ROOT)
    return subprocess.run([str(CSPBILL), "rate", str(case)], capture_output=True, text=True, encoding="utf-8",
                          env=env, cwd=ROOT, timeout=60, check=False)


def rate_text(tmp_path: Path, text: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    case = tmp_path / "case.json"
    case.write_text(text, encoding="utf-8")
    return run(case, process)


@pytest.mark.parametrize(("data", "expected"), list(EXAMPLES.values()), ids=list(EXAMPLES))
def test_rate_reproduces_the_worked_examples(tmp_path: Path, data: dict, expected: dict) -> None:
    done = rate_text(tmp_path, json.dumps(data, ensure_ascii=False))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["lines"] == expected["lines"]
    assert result == expected


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_invalid_case_prints_one_line_and_fails(tmp_path: Path) -> None:
    data = copy.deepcopy(golden(GOLDEN.name)[0])
    data["changes"].append({"date": "2026-04-01", "quantity": 2})
    assert refused(rate_text(tmp_path, json.dumps(data), process=True)) == (
        "error: changes[1].date: before subscription.start")


def test_an_amount_given_as_a_json_number_is_refused(tmp_path: Path) -> None:
    text = json.dumps(DOC_INPUT).replace('"unit_price": "13.50"', '"unit_price": 13.50')
    assert refused(rate_text(tmp_path, text)) == ('error: changes[1].unit_price: give the amount as a string like '
                                                  '"12.50", not the JSON number 13.50')
    text = json.dumps(DOC_INPUT).replace('"unit_price": "12.00"', '"unit_price": 12.5')
    assert refused(rate_text(tmp_path, text)).startswith("error: subscription.unit_price: give the amount as a string")


def test_a_date_whose_next_period_passes_9999_is_refused(tmp_path: Path) -> None:
    data = {**DOC_INPUT, "changes": [], "window": {"from": "9999-12-01", "to": "9999-12-31"}}
    data["subscription"] = {**DOC_INPUT["subscription"], "start": "9999-12-15", "anchor": "9999-12-15"}
    assert refused(rate_text(tmp_path, json.dumps(data))) == (
        "error: subscription.start: 9999-12-15 cannot be rated: its billing period, the next one or its term would "
        "reach past 9999-12-31 (or before 0001-01-01)")
