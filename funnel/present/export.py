"""Downloads: CSV that Japanese Excel opens correctly and that cannot run formulas.

CSV is written as UTF-8 with a BOM (without it Japanese Excel reads UTF-8 as CP932 and shows
mojibake) and CRLF line ends. Text cells that Excel would evaluate — starting with ``=``,
``+``, ``-``, ``@``, tab or CR — are prefixed with ``'`` (OWASP "CSV injection"), while real
numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d+)*|\d*\.\d+)([eE][-+]?\d+)?%?$")


def safe_cell(value: Any) -> Any:
    """The value to write into a spreadsheet cell: formula-looking text neutralised."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_DANGEROUS) and not _NUMBER.match(text.strip()):
        return "'" + text
    return text


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as UTF-8-with-BOM CSV bytes, every cell made safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def frame_csv_bytes(frame: Any) -> bytes:
    """A pandas DataFrame as safe UTF-8-with-BOM CSV bytes (index not written)."""
    cols = [str(c) for c in frame.columns]
    records = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return csv_bytes(cols, records)


def frame_xlsx_bytes(frame: Any, sheet_name: str = "data") -> bytes:
    """A pandas DataFrame as an .xlsx workbook of one sheet (index not written).

    Numbers stay numbers (negative ones too) and dates stay dates; every text cell goes
    through :func:`safe_cell` — openpyxl itself would store a text starting with ``=`` as a
    formula. The header is bold and frozen, with a filter; columns are as wide as their
    longest shown value (a full-width character counts twice), within bounds.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet_name))
    headers = [safe_cell(str(c)) for c in frame.columns]
    records = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    rows = [[_xlsx_value(v) for v in row] for row in records]
    for i, header in enumerate(headers, 1):
        shown = [_width(header)] + [_width(r[i - 1][0]) for r in rows[:500]]
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, max(shown) + 2))
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    bold = Font(bold=True)
    head_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=header)
        cell.font = bold
        head_cells.append(cell)
    ws.append(head_cells)
    for row in rows:
        out = []
        for value, fmt in row:
            if fmt is None:
                out.append(value)
            else:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = fmt
                out.append(cell)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(name: str) -> str:
    """A legal sheet title: no ``[]:*?/\\``, at most 31 characters, not blank."""
    title = _SHEET_FORBIDDEN.sub("_", str(name)).strip().strip("'")[:31]
    return title or "data"


def _xlsx_value(value: Any) -> tuple[Any, str | None]:
    """A cell value for openpyxl and its number format (dates only)."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, numbers.Integral):
        return int(value), None
    if isinstance(value, float | decimal.Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return (None, None) if math.isnan(value) else (safe_cell(str(value)), None)
        return value, None
    if isinstance(value, numbers.Real):            # numpy floats that are not Python floats
        return _xlsx_value(float(value))
    if isinstance(value, dt.datetime):
        if getattr(value, "tzinfo", None) is not None:
            value = value.replace(tzinfo=None)
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        timeless = value.hour == value.minute == value.second == value.microsecond == 0
        return value, "yyyy/mm/dd" if timeless else "yyyy/mm/dd hh:mm"
    if isinstance(value, dt.date):
        return value, "yyyy/mm/dd"
    return safe_cell(str(value)), None


def _width(value: Any) -> int:
    """Shown width of a value: a full-width (East Asian wide) character counts twice."""
    if value is None:
        return 0
    if not isinstance(value, str):
        return 10 if hasattr(value, "year") else len(str(value))
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value[:200])

