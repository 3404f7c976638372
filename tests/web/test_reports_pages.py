"""The /reports pages and their downloads through the app (TestClient): who may read what, the CSV and XLSX files
(UTF-8 with a header row, exact amounts), and refusals for unknown reports, tables and formats."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from config import Settings
from tests.services.reports.seed import seed_reports
from tests.web.conftest import signed_in

MONTHS = "?first=2026-09&last=2026-10"


@pytest.fixture
def reported(settings: Settings) -> Settings:
    seed_reports(settings)
    return settings


def test_finance_reads_the_three_reports_with_charts_and_download_links(reported: Settings) -> None:
    finn = signed_in(reported, "finn")
    assert finn.get("/reports").headers["location"] == "/reports/margin"
    margin = finn.get(f"/reports/margin{MONTHS}").text
    assert 'role="alert"' in margin and "Negative margin: 1 row (customer, product and month)" in margin
    assert "-68.83 EUR" in margin and 'role="img"' in margin and "<svg" in margin
    assert f'href="/reports/margin/margin.csv{MONTHS}"' in margin.replace("&amp;", "&")
    leakage = finn.get(f"/reports/leakage{MONTHS}").text
    assert "Vendor charges never billed" in leakage and "33.30" in leakage and "2 vendor charges" in leakage
    mrr = finn.get(f"/reports/mrr{MONTHS}").text
    assert "983.17" in mrr and "11,798.04" in mrr and "expansion" in mrr
    assert '<a href="/reports"' in margin  # the navigation link


def test_csv_download_is_exact_utf8_with_a_header(reported: Settings) -> None:
    finn = signed_in(reported, "finn")
    response = finn.get(f"/reports/margin/margin.csv{MONTHS}")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="margin-2026-09-2026-10.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["legal entity", "customer", "product", "month", "currency", "billed", "vendor cost", "margin",
                       "negative"]
    assert rows[2] == ["nl-bv", "Contoso Zorg B.V.", "Microsoft 365 E3", "2026-10", "EUR", "431.17", "500.00",
                       "-68.83", "yes"]
    assert rows[3][5:8] == ["552.00", "0.00", "552.00"]


def test_xlsx_download_has_numeric_money_cells(reported: Settings) -> None:
    response = signed_in(reported, "ada").get(f"/reports/leakage/leakage-totals.xlsx{MONTHS}")
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == ["legal entity", "currency", "vendor charges never billed",
                                           "billed without vendor charge", "unbilled lines", "unbacked lines"]
    assert [c.value for c in sheet[2]][:2] == ["nl-bv", "EUR"]
    assert float(sheet["C2"].value) == pytest.approx(33.30) and sheet["C2"].number_format == "#,##0.00"
    assert sheet["E2"].value == 1


def test_group_admin_gets_totals_across_entities(reported: Settings) -> None:
    page = signed_in(reported, "ada").get(f"/reports/margin{MONTHS}").text
    assert "Margin across legal entities, per currency" in page
    assert "Nothing approved yet for de-gmbh: reports count the lines of approved or exported batches" in page


@pytest.mark.parametrize(("user", "path", "status"), [
    ("finn", f"/reports/margin{MONTHS}&tenant=de-gmbh", 404),
    ("finn", f"/reports/margin/margin.csv{MONTHS}&tenant=de-gmbh", 404),
    ("dana", f"/reports/margin{MONTHS}", 403),
    ("dana", f"/reports/margin/margin.csv{MONTHS}", 403),
    ("finn", "/reports/profit", 404),
    ("finn", "/reports/margin/margin.pdf", 404),
    ("finn", "/reports/margin/secrets.csv", 404),
    ("finn", "/reports/margin?first=2026-13", 400),
])
def test_refusals(reported: Settings, user: str, path: str, status: int) -> None:
    assert signed_in(reported, user).get(path).status_code == status
