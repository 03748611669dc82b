"""Spreadsheet containers read into rows of cells: xlsx/xls/ods, and the HTML or XML tables
that some tools save under an ``.xls`` name.

DuckDB cannot load its ``excel`` extension offline, so workbooks are read here with
python-calamine (much faster than openpyxl; openpyxl is the fallback) and handed to DuckDB
as text columns.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import chain
from typing import Any
from xml.etree import ElementTree

from funnel.config import setting
from funnel.errors import TooLargeError, UnreadableFileError
from funnel.ingest.layout import HeaderGuess, clean_headers, find_header
from funnel.ingest.sheetgrid import sheet_grid
from funnel.vocabulary import header_hits

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
    rows: list[list[Any]]


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


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a workbook's cells become Python objects.

    A 100k-row sheet is 100k row lists: they trigger a collection every few hundred
    allocations, and each full one walks every list made so far, for nothing (cells hold no
    cycles). That was a third of the time of reading the cells. The pause is process-wide
    (sessions are threads): whoever found the collector on turns it back on, so overlapping
    loads never leave it off.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def check_expansion(data: bytes, file: str) -> None:
    """Refuse an xlsx/ods whose parts would expand to gigabytes (decompression bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise UnreadableFileError(file, key="error.corrupt_workbook") from exc
    if total > MAX_EXPANDED_BYTES or (total > RATIO_FLOOR and total > MAX_RATIO * len(data)):
        raise TooLargeError(file, key="error.zip_bomb", size_mb=total // 1024**2)


def check_cells(data: bytes, file: str) -> None:
    """Refuse an xlsx with a sheet whose dense grid would exceed :data:`MAX_CELLS` cells."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                # calamine finds a sheet's part case-insensitively and whatever its extension.
                if "worksheets/" in info.filename.replace("\\", "/").lower() and not info.is_dir():
                    rows, cols = sheet_grid(zf, info)
                    if rows * cols > MAX_CELLS:
                        raise TooLargeError(file, key="error.sheet_too_big", rows=f"{rows:,}", cols=f"{cols:,}",
                                            limit=f"{MAX_CELLS:,}")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:  # cut off, bad CRC
        raise UnreadableFileError(file, key="error.corrupt_workbook") from exc


def read_workbook(data: bytes, file: str, kind: str) -> list[Sheet]:
    """All visible sheets of a workbook as rows of Python values, after the checks.

    Untrusted bytes: call this only in the parsing child (:mod:`funnel.ingest.sandbox`).
    """
    check_workbook(data, file, kind)
    return parse_workbook(data, file, kind)


def check_workbook(data: bytes, file: str, kind: str) -> None:
    """The checks that refuse a workbook before it is parsed: its expanded size (xlsx, ods) and
    each sheet's dense grid (xlsx)."""
    if kind in ("xlsx", "ods"):
        check_expansion(data, file)
    if kind == "xlsx":
        check_cells(data, file)


def parse_workbook(data: bytes, file: str, kind: str) -> list[Sheet]:
    """All visible sheets of a workbook as rows of Python values, without the checks: only
    where an abort ends nothing but the parse (the parsing child, which runs the grid check
    beside it: see :mod:`funnel.ingest.sandbox`)."""
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


def choose_table(sheets: list[Sheet]) -> tuple[Sheet, HeaderGuess] | None:
    """The sheet that holds the table (most header names, then most filled rows) and where
    its header is."""
    best, best_key = None, (-1, -1)
    for sh in sheets:
        texts = [[cell_text(c) or "" for c in r] for r in sh.rows[: setting("header_scan_rows")]]
        if not any(any(c for c in r) for r in texts):
            continue
        guess = find_header(texts)
        hits = header_hits(texts[guess.index]) if texts else 0
        # Size breaks ties: the sheet with more rows (not scanning every cell of every sheet).
        key = (min(hits, 3), len(sh.rows))
        if key > best_key:
            best, best_key = (sh, guess), key
    return best


@dataclass
class SheetTable:
    """The table of a workbook, ready for DuckDB: what :func:`table_of` makes of the sheets in
    the parsing child process (see :mod:`funnel.ingest.sandbox`), small enough to send back.

    ``arrays`` hold one NumPy array per column (the text left of the table last, when
    ``lead``), ``exprs`` the SQL that turns each into export text (``{c}`` for the column).
    """

    sheet: str
    sheets: list[str]
    guess: HeaderGuess
    names: list[str]
    renamed: list[tuple[str, str]]
    raw_header: list[str]
    rows: int
    arrays: list[Any]
    exprs: list[str]
    lead: bool
    encoding: str | None = None


def table_of(sheets: list[Sheet], file: str, max_rows: int, max_columns: int) -> SheetTable | None:
    """The sheet holding the table, its header and its columns as arrays (None: no table)."""
    import numpy as np

    chosen = choose_table(sheets)
    if chosen is None:
        return None
    sheet, guess = chosen
    width = max(map(len, sheet.rows), default=0) - guess.first_column
    if width > max_columns:
        raise TooLargeError(file, key="error.too_many_columns", columns=f"{width:,}", limit=f"{max_columns:,}")
    first = guess.first_column
    header_row = sheet.rows[guess.index]
    header_cells = [header_row[first + j] if first + j < len(header_row) else None for j in range(width)]
    names, renames = clean_headers(header_cells)
    body = sheet.rows[guess.index + 1:]
    if len(body) > max_rows:
        raise TooLargeError(file, key="error.too_many_rows", limit=f"{max_rows:,}")
    arrays, exprs = [], []
    for arr, expr in typed_columns(body, first, width):
        arrays.append(arr)
        exprs.append(expr)
    if first:
        # Text left of the table (a footer in column A) only helps to classify rows.
        arrays.append(np.array([" ".join(cell_text(c) or "" for c in r[:first]).strip() or None for r in body],
                               dtype=object))
        exprs.append("{c}")
    return SheetTable(sheet.name, [s.name for s in sheets], guess, names, list(renames),
                      ["" if c is None else str(c) for c in header_cells], len(body), arrays, exprs, bool(first))


# How a typed column becomes the text an export would have held (see cell_text): numbers
# without a spurious ".0", dates without a midnight time, booleans as TRUE/FALSE.
_AS_TEXT = {
    str: "nullif({c}, '')",
    float: "CASE WHEN {c} = floor({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
           "ELSE CAST({c} AS VARCHAR) END",
    bool: "CASE WHEN {c} THEN 'TRUE' ELSE 'FALSE' END",
    dt.datetime: "CASE WHEN CAST({c} AS TIME) = TIME '00:00:00' THEN strftime({c}, '%Y-%m-%d') "
                 "ELSE strftime({c}, '%Y-%m-%d %H:%M:%S') END",
    dt.date: "strftime({c}, '%Y-%m-%d')",
}


def typed_columns(rows: Sequence[Sequence[object]], first: int, width: int) -> list[tuple[Any, str]]:
    """The table's columns (``width`` cells from ``first`` in each row) as NumPy arrays for
    DuckDB, each with the SQL (``{c}`` for the column) that turns it into export text.

    The cells go into one flat list and each column is a slice of it (``zip(*rows)`` would
    make an iterator per row); types are read in row order, the order the cells were made
    in (walking a column jumps through memory, a cache miss per cell). Ragged rows (an HTML
    table whose rows end early) get empty cells.
    """
    total = first + width
    flat = list(chain.from_iterable(rows))
    if len(flat) != total * len(rows):
        flat = list(chain.from_iterable(list(r) + [None] * (total - len(r)) for r in rows))
    types = list(map(type, flat))
    return [_numpy_column(flat[first + j::total], set(types[first + j::total])) for j in range(width)]


def _numpy_column(values: list[object], kinds: set[type]) -> tuple[Any, str]:
    """A NumPy array for one column holding cells of the types ``kinds``, and its SQL.

    A column of one Python type goes to DuckDB as that type in one C call and is formatted in
    SQL; a mixed column (numbers and text, say) is formatted cell by cell in Python. NumPy
    rather than Arrow: DuckDB scans a dict of arrays directly, and ``pa.array`` would import
    pandas (half a second of a command-line run).
    """
    import numpy as np

    kinds = kinds - {type(None)}
    if str in kinds and len(kinds) > 1 and not any(v for v in values if type(v) is str):
        kinds.discard(str)  # blank cells of a typed column
    if kinds == {dt.date, dt.datetime}:
        kinds = {dt.datetime}   # calamine gives a date for a date-time at midnight: same text
    if len(kinds) == 1:
        (kind,) = kinds
        if kind is str:
            # fromiter: np.array would first probe every cell for a nested sequence.
            return np.fromiter(values, dtype=object, count=len(values)), _AS_TEXT[str]
        typed = [None if v == "" else v for v in values]
        if kind is bool:
            return np.array(typed, dtype=object), _AS_TEXT[kind]
        if kind is dt.datetime or kind is dt.date:
            return _datetimes(typed), _AS_TEXT[kind]
        if kind is float or kind is int:    # no NaN or inf; an int must be exact as a double
            doubles = _doubles(typed, 1e300 if kind is float else 2.0**53)
            if doubles is not None:
                return doubles, _AS_TEXT[float]
    if not kinds:
        return np.full(len(values), None, dtype=object), "{c}"
    return np.array([cell_text(v) for v in values], dtype=object), "{c}"


def _doubles(values: list[Any], bound: float) -> Any:
    """Numbers (None: NaN) as float64, or None if one is NaN or not within ±``bound``."""
    import numpy as np

    try:
        out = np.array(values, dtype=float)
    except OverflowError:   # an int beyond the doubles
        return None
    nan = np.isnan(out)
    return out if int(nan.sum()) == values.count(None) and bool((np.abs(out[~nan]) < bound).all()) else None


_EPOCH, _MICROSECOND = dt.datetime(1970, 1, 1), dt.timedelta(microseconds=1)


def _datetimes(values: list[Any]) -> Any:
    """Dates and date-times (None: NaT) as datetime64[us]. NumPy converts a date object in a
    microsecond or so (0.1 s per 100k-row column); whole days from ``toordinal`` and the
    time of the date-times alone cost a tenth of that."""
    import numpy as np

    none = [v is None for v in values]
    days = np.fromiter(map(dt.date.toordinal, [_EPOCH if v is None else v for v in values]), np.int64, len(values))
    out = (days - _EPOCH.toordinal()) * 86_400_000_000
    stamped = [i for i, v in enumerate(values) if type(v) is dt.datetime]
    if stamped:
        out[stamped] = [(values[i] - _EPOCH) // _MICROSECOND for i in stamped]
    out = out.astype("datetime64[us]")
    out[none] = np.datetime64("NaT")
    return out


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
    out: list[Sheet] = []
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
