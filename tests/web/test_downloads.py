"""The one download helper (``desk.web.downloads``): a header row, UTF-8 text, amounts exactly as given in CSV and
as numeric cells with two decimals in XLSX."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from desk.web.downloads import MONEY_FORMAT, csv_bytes, download, xlsx_bytes

HEADER = ["customer", "seats", "amount"]
ROWS = [("Müller & Söhne GmbH", 12, Decimal("-47.60")), ("Zoë, \"quoted\"", None, Decimal("0.1234567891"))]


def test_csv_is_utf8_with_a_header_and_exact_amounts() -> None:
    data = csv_bytes(HEADER, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")  # spreadsheet programs read UTF-8 by its byte-order mark
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        HEADER, ["Müller & Söhne GmbH", "12", "-47.60"], ["Zoë, \"quoted\"", "", "0.1234567891"]]


def test_xlsx_has_numeric_money_cells() -> None:
    sheet = load_workbook(io.BytesIO(xlsx_bytes(HEADER, ROWS, "margin"))).active
    assert sheet.title == "margin" and [c.value for c in sheet[1]] == HEADER
    assert sheet["A2"].value == "Müller & Söhne GmbH" and sheet["B2"].value == 12
    assert sheet["C2"].data_type == "n" and sheet["C2"].number_format == MONEY_FORMAT
    assert sheet["B3"].value is None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False,
                            allow_infinity=False), min_size=1, max_size=20))
def test_csv_amounts_read_back_to_the_same_decimals(amounts: list[Decimal]) -> None:
    text = csv_bytes(["amount"], [(a,) for a in amounts]).decode("utf-8-sig")
    assert [Decimal(row[0]) for row in list(csv.reader(io.StringIO(text)))[1:]] == amounts


def test_response_names_the_file_and_refuses_other_formats() -> None:
    response = download("margin-2026-10", "csv", HEADER, ROWS)
    assert response.headers["content-disposition"] == 'attachment; filename="margin-2026-10.csv"'
    with pytest.raises(ValueError, match="give csv or xlsx"):
        download("margin", "pdf", HEADER, ROWS)
