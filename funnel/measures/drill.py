"""The leads behind a number (drill-down), one page at a time.

A page is read with ``LIMIT``/``OFFSET`` in DuckDB so a million-lead export never travels to
the UI; the full list of one source is produced only when a download asks for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import duckdb

from funnel.measures.metrics import Filters
from funnel.present.paging import PAGE_SIZE, Page, fetch_page, query_csv
from funnel.sql import drill as q
from funnel.sql import records, scalar

STATUSES = q.STATUSES
#: Columns of a drill-down row, in the order they are shown and downloaded.
#: ``lead_ref`` is the lead's key as text (``funnel.present.format.lead_key_text``): the row's
#: identity where an export has no email (an ID-linked one keys leads by record ID).
COLUMNS: tuple[str, ...] = ("email_raw", "name", "company", "source", "created_at", "owner", "mql_at",
                            "sql_at", "converted", "n_opps", "n_won", "n_lost", "first_opp_at", "stages", "lead_ref")


def _of_source(f: Filters, source: str | None) -> Filters:
    """The rate's filters narrowed to one source (``None`` = leads without a source)."""
    return dataclasses.replace(f, sources=(source,))


def lead_page(con: duckdb.DuckDBPyConnection, f: Filters, source: str | None, *, status: str = "all",
              search: str | None = None, page: int = 1, page_size: int = PAGE_SIZE) -> Page[dict[str, Any]]:
    """Page ``page`` (1-based) of the leads of ``source`` under the filters ``f``.

    Args:
        status: ``all``, ``converted`` (≥ 1 linked opportunity) or ``not_converted``.
        search: case-insensitive text within email, name, company or owner.
        page: clamped into the pages that exist, so a page number kept from a longer list
            still shows rows.
    """
    where = _of_source(f, source).where()
    total = int(scalar(con, *q.count(where, status, search)) or 0)
    return fetch_page(total, page, page_size, lambda limit, offset: [
        _row(r) for r in records(con, *q.leads(where, status, search, f.touch, limit, offset))])


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {c: r[c] for c in COLUMNS}


def all_leads_csv(con: duckdb.DuckDBPyConnection, f: Filters, source: str | None, headers: Sequence[str], *,
                  status: str = "all", search: str | None = None, mask: bool = False) -> bytes:
    """Every lead of ``source`` (same filters as :func:`lead_page`) as Excel-safe CSV bytes,
    for a download button (see :func:`funnel.present.paging.query_csv`); ``mask``: emails and names
    masked."""
    where = _of_source(f, source).where()
    return query_csv(con, *q.leads(where, status, search, f.touch, None), COLUMNS, headers, mask=mask)
