"""Spreadsheet containers read into rows of cells: xlsx/xls/ods, and the HTML or XML tables
that some tools save under an ``.xls`` name.

DuckDB cannot load its ``excel`` extension offline, so workbooks are read here with
python-calamine (much faster than openpyxl; openpyxl is the fallback) and handed to DuckDB
as text columns.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from xml.etree import ElementTree

from funnel.errors import TooLargeError, UnreadableFileError
from funnel.layout import find_header
from funnel.mapping import header_hits

# A workbook expanding to more than this is refused before it is read (a zip bomb).
MAX_EXPANDED_BYTES = 3 * 1024**3
MAX_RATIO = 200


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]


def cell_text(v: object) -> str | None:
    """A cell as the text an export would have held (numbers without a spurious ``.0``)."""
    if v is None or v == "":
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    return str(v)


def check_expansion(data: bytes, file: str) -> None:
    """Refuse an xlsx/ods whose parts would expand to gigabytes (decompression bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise UnreadableFileError(file, key="error.corrupt_workbook") from exc
    if total > MAX_EXPANDED_BYTES or (len(data) > 1_000_000 and total > MAX_RATIO * len(data)):
        raise TooLargeError(file, key="error.zip_bomb", size_mb=total // 1024**2)


def read_workbook(data: bytes, file: str, kind: str) -> list[Sheet]:
    """All visible sheets of a workbook as rows of Python values."""
    if kind in ("xlsx", "ods"):
        check_expansion(data, file)
    try:
        return _read_calamine(data)
    except Exception as first:  # calamine raises its own types; try openpyxl before giving up
        if kind == "xlsx":
            try:
                return _read_openpyxl(data)
            except Exception:
                pass
        if "password" in str(first).lower() or type(first).__name__ == "PasswordError":
            raise UnreadableFileError(file, key="error.encrypted") from first
        raise UnreadableFileError(file, key="error.corrupt_workbook") from first


def _read_calamine(data: bytes) -> list[Sheet]:
    import python_calamine as pc

    wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = []
    for meta in wb.sheets_metadata:
        if str(meta.visible).endswith("Visible") and str(meta.typ).endswith("WorkSheet"):
            out.append(Sheet(meta.name, wb.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)))
    return out


def _read_openpyxl(data: bytes) -> list[Sheet]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [Sheet(ws.title, [list(r) for r in ws.iter_rows(values_only=True)])
                for ws in wb.worksheets if ws.sheet_state == "visible"]
    finally:
        wb.close()


def choose_sheet(sheets: list[Sheet]) -> Sheet | None:
    """The sheet that holds the table: most header names, then most filled rows."""
    best, best_key = None, (-1, -1)
    for sh in sheets:
        texts = [[cell_text(c) or "" for c in r] for r in sh.rows[:100]]
        if not any(any(c for c in r) for r in texts):
            continue
        guess = find_header(texts)
        hits = header_hits(texts[guess.index]) if texts else 0
        # Size breaks ties: the sheet with more rows (not scanning every cell of every sheet).
        key = (min(hits, 3), len(sh.rows))
        if key > best_key:
            best, best_key = sh, key
    return best


class _TableParser(HTMLParser):
    """Rows of the first <table> with any data in an HTML "xls" export."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self.tables:
                self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table":
            self._depth = max(0, self._depth - 1)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_html_tables(text: str) -> list[Sheet]:
    parser = _TableParser()
    parser.feed(text)
    return [Sheet(f"table {i + 1}", [list(r) for r in t]) for i, t in enumerate(parser.tables) if t]


_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"


def read_spreadsheetml(data: bytes, file: str) -> list[Sheet]:
    """Excel 2003 XML ("XML Spreadsheet") workbooks."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise UnreadableFileError(file, key="error.corrupt_workbook") from exc
    out = []
    for ws in root.iter(f"{_SS}Worksheet"):
        rows: list[list[object]] = []
        for row in ws.iter(f"{_SS}Row"):
            cells: list[object] = []
            for cell in row.iter(f"{_SS}Cell"):
                idx = cell.get(f"{_SS}Index")
                if idx and idx.isdigit():
                    cells.extend([None] * (int(idx) - 1 - len(cells)))
                d = cell.find(f"{_SS}Data")
                cells.append("".join(d.itertext()) if d is not None else None)
            rows.append(cells)
        out.append(Sheet(ws.get(f"{_SS}Name") or f"sheet {len(out) + 1}", rows))
    return out
