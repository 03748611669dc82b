"""Workbook cells into DuckDB (funnel.ingest.sheets.typed_columns): each column goes over as one
NumPy array and SQL that writes the text an export would have held. That text is checked
against :func:`funnel.ingest.sheets.cell_text`, which formats one Python value at a time.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.ingest.sheets import cell_text, paused_gc, typed_columns
from tests.test_reader import data_rows, load


def as_text(values: list[object]) -> tuple[str, list[str | None]]:
    """(NumPy dtype, the text DuckDB makes) for one column."""
    ((arr, expr),) = typed_columns([[v] for v in values], 0, 1)
    con = duckdb.connect()
    con.register("cells", {"c": arr})
    got = [r[0] for r in con.execute(f"SELECT {expr.format(c='c')} FROM cells").fetchall()]
    con.close()
    return str(arr.dtype), got


dates = st.dates(dt.date(1900, 1, 1), dt.date(9999, 12, 31))
times = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 31))
midnights = dates.map(lambda d: dt.datetime(d.year, d.month, d.day))
blanks = st.sampled_from([None, ""])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(dates, times, midnights, blanks), min_size=1, max_size=30))
def test_dates_and_date_times_read_as_cell_text(values):
    dtype, got = as_text(values)
    assert got == [cell_text(v) for v in values]
    if any(isinstance(v, dt.date) for v in values):
        assert dtype == "datetime64[us]"


def test_a_column_of_dates_and_date_times_goes_as_one_array():
    """calamine gives a date for a date-time at midnight: such a column is still typed."""
    values = [dt.date(2024, 5, 17), dt.datetime(2024, 5, 18, 9, 30, 15, 500), None, "", dt.datetime(2024, 1, 1)]
    assert as_text(values) == ("datetime64[us]", ["2024-05-17", "2024-05-18 09:30:15", None, None, "2024-01-01"])


@pytest.mark.parametrize("values, dtype", [
    ([1.0, 2.5, None, "", -3.0, 1e299], "float64"),
    ([1.0, math.nan], "object"),                    # NaN, infinities, 1e300: cell by cell
    ([1.0, math.inf], "object"),
    ([1.0, -1e300], "object"),
    ([3, -(10**15) + 1, 10**15 - 1, None], "float64"),
    ([3, 2**53], "object"),                         # not exact as a double
    ([3, -(2**53)], "object"),
    ([3, 10**400], "object"),                       # beyond any double
])
def test_numbers_go_typed_only_when_exact(values, dtype):
    got_dtype, got = as_text(values)
    assert got_dtype == dtype
    assert got == [cell_text(v) for v in values]


def test_a_ragged_html_table_reads_with_empty_cells(con, tmp_path: Path):
    html = ("<table><tr><td>Email</td><td>Name</td><td>Note</td></tr>"
            "<tr><td>a@x.jp</td><td>A</td></tr><tr><td>b@x.jp</td><td>B</td><td>n</td></tr></table>")
    lt = load(con, tmp_path, "leads.xls", html.encode())
    assert lt.columns == ["Email", "Name", "Note"]
    assert data_rows(con, lt) == [("a@x.jp", "A", None), ("b@x.jp", "B", "n")]


def test_the_collector_is_paused_and_given_back():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()       # someone else's pause is left alone
    finally:
        gc.enable()


def test_overlapping_pauses_leave_the_collector_on():
    """Two loads in two sessions (threads) overlap: the one that found it on turns it back on."""
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert gc.isenabled()
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    second.__exit__(None, None, None)
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert gc.isenabled()
