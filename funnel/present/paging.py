"""Long lists the pages show a page at a time and download whole (leads behind a rate, stuck
opportunities): the page arithmetic and the full CSV, written once for every such list."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from funnel.present.export import csv_bytes
from funnel.present.privacy import mask_rows
from funnel.sql import Params, records


class Paged:
    """``pages`` and ``offset`` of a result holding ``total``, ``page`` (1-based) and
    ``page_size`` (mixed into the frozen dataclasses of the lists)."""

    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_count(total: int, page_size: int) -> int:
    """Pages of ``total`` rows (at least one, empty)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    return max(1, math.ceil(total / page_size))


def clamp_page(page: int, total: int, page_size: int) -> int:
    """``page`` clamped into the pages that exist, so a page number kept from a longer list
    still shows rows."""
    return min(max(1, page), page_count(total, page_size))


def query_csv(con: duckdb.DuckDBPyConnection, sql: str, params: Params, columns: Sequence[str],
              headers: Sequence[str], *, mask: bool = False) -> bytes:
    """Every row of a query, ``columns`` under ``headers``, as Excel-safe CSV bytes; ``mask``:
    personal data masked (:mod:`funnel.present.privacy`, the app's screen-sharing switch).

    Meant for a download button's callable, which Streamlit runs on another thread than the
    script: a DuckDB connection must not be used by two threads at once, so the query runs
    on its own cursor (a second connection to the same in-memory database).
    """
    if len(headers) != len(columns):
        raise ValueError("one header per column is needed")
    cur = con.cursor()
    try:
        found = records(cur, sql, params)
    finally:
        cur.close()
    cells: Iterable[Sequence[Any]] = ([r[c] for c in columns] for r in found)
    if mask:
        cells = mask_rows(columns, cells)
    return csv_bytes(list(headers), cells)
