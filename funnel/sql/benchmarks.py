"""SQL behind the benchmark page: a cost file's monthly cost per source, and the MA
registrations (data rows) per source that the cost bought."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb

from funnel.sql import ident, rows
from funnel.sql import normalize as nz


def _month(expr: str) -> str:
    """DATE (first of the month) from ``2025-04``, ``2025/4``, ``2025年4月``, ``2025-04-01 …``."""
    t = nz.trim_ws(f"translate({expr}, '０１２３４５６７８９', '0123456789')")
    return (f"try_cast(make_date(try_cast(regexp_extract({t}, '^(\\d{{4}})\\s*[-/.年]\\s*(\\d{{1,2}})', 1) AS BIGINT), "
            f"try_cast(regexp_extract({t}, '^(\\d{{4}})\\s*[-/.年]\\s*(\\d{{1,2}})', 2) AS BIGINT), 1) AS DATE)")


def cost_rows(con: duckdb.DuckDBPyConnection, table: str, month_col: str, source_col: str,
              cost_col: str) -> list[tuple[Any, ...]]:
    """``(month, source, cost, cells)`` per month and source of a raw cost table; rows whose
    month or cost cannot be read come back with a NULL month or cost (to be reported)."""
    m, s, c = ident(month_col), ident(source_col), ident(cost_col)
    return rows(con, f"""
        SELECT {_month(m)} AS month, {nz.text(s)} AS source, sum({nz.amount_value(c)}) AS cost, count(*) AS n
        FROM {ident(table)} WHERE _drop IS NULL
        GROUP BY ALL ORDER BY month NULLS LAST, source NULLS LAST""", nz.text_params())


def registrations(con: duckdb.DuckDBPyConnection, sources: Sequence[str], start: dt.date | None,
                  end: dt.date | None) -> dict[str, int]:
    """MA data rows per source (a row = one registration, with or without a valid address)
    created in ``[start, end)``; without bounds, every row counts."""
    conds: list[str] = ["list_contains($sources, source)"]
    params: dict[str, Any] = {"sources": list(sources)}
    if start is not None:
        conds.append("created_at >= $start")
        params["start"] = dt.datetime.combine(start, dt.time())
    if end is not None:
        conds.append("created_at < $end")
        params["end"] = dt.datetime.combine(end, dt.time())
    return {str(src): int(n) for src, n in rows(con, f"SELECT source, count(*) FROM ma_rows "
                                                     f"WHERE {' AND '.join(conds)} GROUP BY source", params)}


def dated_rows(con: duckdb.DuckDBPyConnection) -> int:
    """MA data rows with a creation date (0: the export has no usable date column)."""
    return int(rows(con, "SELECT count(*) FROM ma_rows WHERE created_at IS NOT NULL")[0][0])
