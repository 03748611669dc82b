"""Where the table is inside an export: header row, header names, and the rows around it.

Salesforce formatted reports put a title and filter block above the table and start it in
column B; Salesforce CSVs end with a blank line and footer lines; summary reports add total
rows (export_formats.md §1.2, §1.3, §8.5). This module decides such things from a few
records; the per-row classification over the whole table runs in DuckDB (funnel.sql.ingest)
with the same patterns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from funnel.config import setting
from funnel.vocabulary import fold, header_hits, vocabulary

_NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+%?$")


@dataclass(frozen=True)
class HeaderGuess:
    index: int          # 0-based record index of the header row
    first_column: int   # 0-based index of the first column that belongs to the table
    width: int          # number of columns of the table (from first_column)


def _non_empty(cells: Sequence[str]) -> int:
    return sum(1 for c in cells if c and c.strip())


def find_header(records: Sequence[Sequence[str]]) -> HeaderGuess:
    """Find the header row among the first records of a file or sheet.

    The header is the first row with the most known header names (at least two, as a
    Japanese importer does: export_formats.md §1.2); failing that, the first row that is as
    wide as the rows below it and holds only text.
    """
    scan = [list(r) for r in records[: setting("header_scan_rows")]]
    if not scan:
        return HeaderGuess(0, 0, 0)
    hits = [header_hits([c.strip() for c in r]) for r in scan]
    best = max(hits)
    if best >= 2:
        index = hits.index(best)
    else:
        index = _widest_text_row(scan)
    return HeaderGuess(index, *_span(scan, index))


def _widest_text_row(scan: list[list[str]]) -> int:
    widths = [_non_empty(r) for r in scan]
    typical = Counter(w for w in widths if w).most_common(1)
    target = typical[0][0] if typical else 0
    for i, r in enumerate(scan):
        cells = [c.strip() for c in r if c and c.strip()]
        if cells and len(cells) >= max(1, target * 0.8) and not any(_NUMERIC.match(c) for c in cells):
            return i
    return 0


def _span(scan: list[list[str]], index: int) -> tuple[int, int]:
    """First column and width of the table: leading columns empty in header and data drop out.

    The width is the header's or the most common width of the rows below, whichever is
    larger: one over-long line must not widen the table (it is set aside as malformed), but
    rows that all end with an extra delimiter do.
    """
    header = scan[index]
    below = [r for r in scan[index + 1:] if any(c.strip() for c in r)]
    common = Counter(len(r) for r in below).most_common(1)[0][0] if below else 0
    width = max(len(header), common)
    first = 0
    while first < width - 1 and not _cell(header, first) and not any(_cell(r, first) for r in below):
        first += 1
    return first, width - first


def _cell(row: Sequence[str], i: int) -> str:
    return row[i].strip() if i < len(row) and row[i] else ""


def clean_headers(cells: Sequence[object]) -> tuple[list[str], list[tuple[str, str]]]:
    """Usable, unique header names, and the renames made (``(original, new)``).

    Blank names become ``col_<n>``; a repeated name gets `` (2)``, `` (3)``… (HubSpot contact
    exports repeat ``Billing Contact``).
    """
    names: list[str] = []
    renames: list[tuple[str, str]] = []
    seen: Counter[str] = Counter()
    for i, raw in enumerate(cells):
        name = "" if raw is None else str(raw).replace("\ufeff", "").strip()
        name = " ".join(name.split()) if "\n" in name or "\r" in name else name
        original = name
        if not name:
            name = f"col_{i + 1}"
        seen[name] += 1
        if seen[name] > 1:
            n = seen[name]
            while f"{name} ({n})" in seen:
                n += 1
            name = f"{name} ({n})"
            seen[name] += 1
        if name != original:
            renames.append((original, name))
        names.append(name)
    return names, renames


@dataclass(frozen=True)
class RowShape:
    """What the tail logic needs to know of one row."""

    position: int       # order in the table
    non_empty: int
    numeric_only: bool
    first: str          # first non-empty cell
    dropped: str | None  # reason already assigned


def classify_cell(text: str) -> str | None:
    """``total``, ``footer`` or ``group_header`` when a first cell marks a layout row."""
    f = fold(text)
    if not f:
        return None
    voc = vocabulary()
    if any(p.search(f) for p in voc.total_patterns):
        return "total"
    if any(p.search(f) for p in voc.footer_patterns):
        return "footer"
    return None


def trailing_drops(tail: Sequence[RowShape], width: int) -> dict[int, str]:
    """Rows at the end of a table that are a report footer or a summary row, not data.

    After the last blank row, a short block is not data when it holds a known footer line
    (the rest of the block — a company name, a date — goes with it), or, in a table of three
    or more columns, when its rows are numeric only (the per-column summary an Excel re-save
    appended, crm_analytics variant). A narrow list's last rows after a blank row stay data.
    """
    blank_at = [i for i, r in enumerate(tail) if r.dropped == "blank" or r.non_empty == 0]
    if not blank_at:
        return _after_footer_start(tail)
    block = [r for r in tail[blank_at[-1] + 1:] if r.dropped is None]
    if not block:
        return _after_footer_start(tail)
    if width >= 3 and len(block) <= 3 and all(r.numeric_only for r in block):
        return {r.position: "summary_row" for r in block}
    has_footer = any(r.dropped == "footer" or classify_cell(r.first) == "footer" for r in tail[blank_at[-1] + 1:])
    if has_footer and all(r.non_empty <= 2 for r in block):
        return {r.position: "footer" for r in block}
    return _after_footer_start(tail)


def _after_footer_start(tail: Sequence[RowShape]) -> dict[int, str]:
    """Rows that follow a footer line (a Japanese footer ends with the company's name)."""
    out: dict[int, str] = {}
    started = False
    for r in tail:
        if r.dropped == "footer":
            started = True
        elif started and r.dropped is None and r.non_empty <= 2:
            out[r.position] = "footer"
    return out


def is_numeric(text: str) -> bool:
    return bool(_NUMERIC.match(text.strip()))
