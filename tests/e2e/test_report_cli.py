"""`cspbill report margin|leakage|mrr` through the real console script over the seeded reports ledger: tables,
JSON, CSV and XLSX files, and refusals (another entity, a bad month, the desk role) with exit code 1."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config import Settings
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import as_json, config_file, cspbill  # noqa: F401 - config_file is a fixture
from tests.services.reports.seed import seed_reports

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it

MONTHS = ("--from", "2026-09", "--to", "2026-10")


@pytest.fixture
def seeded(settings: Settings, config_file: Path) -> Path:  # noqa: F811 - the fixture above
    seed_reports(settings)
    return config_file


def test_margin_table_json_and_files(seeded: Path, tmp_path: Path) -> None:
    shown = cspbill(seeded, "report", "margin", *MONTHS, "--as", "finn").stdout
    assert "Margin per customer, product and month" in shown and "-68.83" in shown
    data = as_json(seeded, "report", "margin", *MONTHS, "--as", "finn")
    assert data["months"] == ["2026-09", "2026-10"]
    margin = data["tables"][0]
    assert margin["columns"][-4:] == ["billed", "vendor cost", "margin", "negative"]
    contoso_october = [margin["rows"][1][i] for i in (1, 3, 5, 6, 7, 8)]
    assert contoso_october == ["Contoso Zorg B.V.", "2026-10", "431.17", "500.00", "-68.83", "yes"]
    written = cspbill(seeded, "report", "margin", *MONTHS, "--as", "finn", "--csv", str(tmp_path / "out"),
                      "--xlsx", str(tmp_path / "out")).stdout
    assert "margin-2026-09-2026-10.csv (4 rows)" in written
    with (tmp_path / "out" / "margin-totals-2026-09-2026-10.csv").open(encoding="utf-8-sig", newline="") as f:
        assert list(csv.reader(f)) == [["legal entity", "currency", "billed", "vendor cost", "margin"],
                                       ["nl-bv", "EUR", "1884.77", "533.30", "1351.47"]]
    sheet = load_workbook(tmp_path / "out" / "margin-2026-09-2026-10.xlsx").active
    assert sheet["H3"].value == pytest.approx(-68.83) and sheet["H3"].number_format == "#,##0.00"


def test_leakage_and_mrr(seeded: Path) -> None:
    leakage = {t["name"]: t for t in as_json(seeded, "report", "leakage", *MONTHS, "--as", "finn")["tables"]}
    assert [row[-1] for row in leakage["leakage-unbilled"]["rows"]] == ["33.30"]
    assert leakage["leakage-totals"]["rows"] == [["nl-bv", "EUR", "33.30", "1465.25", 1, 5]]
    mrr = {t["name"]: t for t in as_json(seeded, "report", "mrr", *MONTHS, "--as", "anna")["tables"]}
    assert [row[:5] for row in mrr["mrr"]["rows"]] == [["nl-bv", "2026-09", "EUR", "901.60", "10819.20"],
                                                       ["nl-bv", "2026-10", "EUR", "983.17", "11798.04"]]
    assert mrr["mrr-movements"]["rows"][0][4:] == ["expansion", "349.60", "431.17", "81.57"]


def test_refusals_name_the_problem(seeded: Path) -> None:
    other = cspbill(seeded, "report", "margin", "--tenant", "de-gmbh", "--as", "finn", ok=False)
    assert other.returncode == 1 and "tenant 'de-gmbh': not found" in other.stderr
    month = cspbill(seeded, "report", "mrr", "--from", "2026-13", "--as", "finn", ok=False)
    assert month.returncode == 1 and "report months, from: '2026-13' is not a month" in month.stderr
    desk = cspbill(seeded, "report", "leakage", "--as", "dana", ok=False)
    assert desk.returncode != 0 and "lacks role 'finance'" in desk.stderr
