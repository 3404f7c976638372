"""Tables as CSV and XLSX downloads: one helper for every table a page (or the CLI) offers to download.

A table is a header row and rows of text, whole numbers and ``Decimal`` amounts. Money stays exact: CSV gets
the ``Decimal``'s own text as the caller gives it (``-47.60``, never a float's ``-47.6000000001``), XLSX a
numeric cell (so sums work in the sheet) shown with two decimals. CSV is UTF-8 with a byte-order mark, so
spreadsheet programs read names such as "Müller GmbH" right; both formats start with the header row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

Cell = str | int | Decimal | None
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MONEY_FORMAT = "#,##0.00"
SHEET_TITLE_MAX = 31  # Excel's limit


def _text(value: Cell) -> str:
    return "" if value is None else str(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_text(value) for value in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], title: str = "table") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:SHEET_TITLE_MAX]
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
    for index, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(name) + 2)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(name: str, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Response:
    """The table as a file ``name.csv`` or ``name.xlsx`` to save (``fmt`` is ``csv`` or ``xlsx``)."""
    if fmt not in FORMATS:
        raise ValueError(f"download format {fmt!r}: give csv or xlsx")
    content = csv_bytes(header, rows) if fmt == "csv" else xlsx_bytes(header, rows, name)
    return Response(content, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
