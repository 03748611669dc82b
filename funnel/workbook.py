"""Spreadsheet containers read into rows of cells: xlsx/xls/ods, and the HTML or XML tables
that some tools save under an ``.xls`` name.

DuckDB cannot load its ``excel`` extension offline, so workbooks are read here with
python-calamine (much faster than openpyxl; openpyxl is the fallback) and handed to DuckDB
as text columns.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from xml.etree import ElementTree

from funnel.errors import TooLargeError, UnreadableFileError
from funnel.layout import find_header
from funnel.mapping import header_hits

# A workbook expanding to more than this is refused before it is read (a zip bomb), and so
# is one expanding to more than RATIO_FLOOR at over MAX_RATIO times its size: real exports
# expand about 10 times (the 1M-lead benchmark's 100k-row XLSX: 4.8 MB -> 50 MB), a deflate
# bomb about 1,000 times, so a 1 MB file could otherwise unpack to a gigabyte of cells.
MAX_EXPANDED_BYTES = 3 * 1024**3
MAX_RATIO = 200
RATIO_FLOOR = 100 * 1024**2
# calamine reads a sheet into a dense grid up to its last row and column (32 bytes a cell):
# one cell at XFD1048576 in a 5 KB file asks for terabytes and aborts the whole process, which
# no ratio of sizes can see. A sheet whose grid would exceed this is refused: a full Excel
# sheet (1,048,576 rows) of 32 columns, about 1 GB in calamine.
MAX_CELLS = 2**25


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
    if total > MAX_EXPANDED_BYTES or (total > RATIO_FLOOR and total > MAX_RATIO * len(data)):
        raise TooLargeError(file, key="error.zip_bomb", size_mb=total // 1024**2)


_LETTERS, _DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
# Sheet XML made upper case, with the other spellings of `r="…"` (tab, newline, single quote)
# made a space and a double quote, so that one literal-prefixed pattern sees every cell reference.
_NORMAL = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz\t\n\r'", (_LETTERS + '   "').encode())
_REF = re.compile(rb' R *= *"([A-Z]*)([0-9]+)"')


def _greater(s: str, alphabet: str) -> str:
    """A regex for the strings over ``alphabet`` after ``s``: longer, or as long and later."""
    lo, hi = alphabet[0], alphabet[-1]
    alts = [f"[{lo}-{hi}]{{{len(s) + 1},}}"]
    for i, ch in enumerate(s):
        nxt = alphabet.index(ch) + 1
        if nxt < len(alphabet):
            alts.append(f"{s[:i]}[{alphabet[nxt]}-{hi}][{lo}-{hi}]{{{len(s) - i - 1}}}")
    return "|".join(alts)


def _sheet_grid(fh: io.BufferedIOBase) -> tuple[int, int]:
    """(last row, last column) of the cell references in one sheet's XML, read in chunks.

    Real sheets list rows in order, so the last reference of a chunk gives its last row; one
    search per chunk then finds any reference beyond the grid so far (a planted far cell).
    """
    row, col, tail = 1, "A", b""
    while chunk := fh.read(1 << 20):
        buf = (tail + chunk).translate(_NORMAL)
        for ref in _REF.finditer(buf, max(0, len(buf) - 4096)):
            row = max(row, int(ref.group(2)))
        pos = 0
        while found := re.compile(rb' R *= *"(?:(?:%s)[0-9]|[A-Z]*(?:%s)")' % (
                _greater(col, _LETTERS).encode(), _greater(str(row), _DIGITS).encode())).search(buf, pos):
            ref = _REF.match(buf, found.start())
            if ref is not None:
                col = max(col, ref.group(1).decode(), key=lambda c: (len(c), c))
                row = max(row, int(ref.group(2)))
            pos = found.start() + 1
        tail = buf[-64:]
    n = 0
    for ch in col:
        n = n * 26 + ord(ch) - 64
    return row, n


def check_cells(data: bytes, file: str) -> None:
    """Refuse an xlsx with a sheet whose dense grid would exceed :data:`MAX_CELLS` cells."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with zf.open(info) as fh:
                        rows, cols = _sheet_grid(fh)
                    if rows * cols > MAX_CELLS:
                        raise TooLargeError(file, key="error.sheet_too_big", rows=f"{rows:,}", cols=f"{cols:,}",
                                            limit=f"{MAX_CELLS:,}")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:  # cut off, bad CRC
        raise UnreadableFileError(file, key="error.corrupt_workbook") from exc


def read_workbook(data: bytes, file: str, kind: str) -> list[Sheet]:
    """All visible sheets of a workbook as rows of Python values."""
    if kind in ("xlsx", "ods"):
        check_expansion(data, file)
    if kind == "xlsx":
        check_cells(data, file)
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
