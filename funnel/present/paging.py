"""Long lists the pages show a page at a time and download whole (leads behind a rate, stuck
opportunities, lost deals and their reason texts, the changes since last month, the data-quality
lists): one :class:`Page` type, the page arithmetic and the full CSV, written once for every
such list."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import duckdb

from funnel.present.export import csv_bytes
from funnel.present.privacy import mask_rows
from funnel.sql import Params, records

T = TypeVar("T")

#: Rows per page of every long list: a screenful; the download gives the rest.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list: ``items`` are rows ``offset + 1`` .. ``offset + len(items)``
    of ``total``; ``page`` is 1-based and always one that exists (see :func:`fetch_page`)."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def first(self) -> int:
        """The 1-based number of the first row shown (0 when the list is empty)."""
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        """The 1-based number of the last row shown."""
        return self.offset + len(self.items)


def page_count(total: int, page_size: int) -> int:
    """Pages of ``total`` rows (at least one, empty)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    return max(1, math.ceil(total / page_size))


def clamp_page(page: int, total: int, page_size: int) -> int:
    """``page`` clamped into the pages that exist, so a page number kept from a longer list
    still shows rows."""
    return min(max(1, page), page_count(total, page_size))


def fetch_page(total: int, page: int, page_size: int | None, fetch: Callable[[int, int], list[T]]) -> Page[T]:
    """Page ``page`` of a list of ``total`` rows, clamped into the pages that exist (so a page
    number kept from a longer list still shows rows); ``fetch(limit, offset)`` reads its rows.
    ``page_size`` None: every row on one page (a download)."""
    size = max(1, total) if page_size is None else page_size
    page = clamp_page(page, total, size)
    return Page(fetch(size, (page - 1) * size), total, page, size)


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
