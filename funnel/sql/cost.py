"""SQL behind the cost page: per source of a cost file, the leads created in the cost months,
the opportunities and won deals that came from them, and registrations per month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb

from funnel.sql import rows
from funnel.sql.metrics import source_column


def _period(column: str, start: dt.date | None, end: dt.date | None, params: dict[str, Any]) -> str:
    conds = ["TRUE"]
    if start is not None:
        conds.append(f"{column} >= $start")
        params["start"] = dt.datetime.combine(start, dt.time())
    if end is not None:
        conds.append(f"{column} < $end")
        params["end"] = dt.datetime.combine(end, dt.time())
    return " AND ".join(conds)


def source_outcomes(con: duckdb.DuckDBPyConnection, sources: Sequence[str], start: dt.date | None,
                    end: dt.date | None, touch: str = "first") -> dict[str, tuple[int, int, int, float, int]]:
    """Per source: ``(leads, opportunities, won, won amount, won without amount)``.

    Leads: people whose first (last) touch source is the source, created in ``[start, end)``.
    Each opportunity is attributed to one lead only — its earliest-created linked lead (ties
    by lead key) — so a deal shared by two leads is neither counted twice nor paid twice; it
    counts for a source when that lead is one of the source's leads of the period.
    """
    params: dict[str, Any] = {"sources": list(sources)}
    col = source_column(touch)
    cond = _period("created_at", start, end, params)
    found = rows(con, f"""
        WITH pl AS (SELECT lead_key, {col} AS source FROM leads
                    WHERE list_contains($sources, {col}) AND {cond}),
        att AS (SELECT opp_key, lead_key FROM (
                    SELECT k.opp_key, k.lead_key,
                           row_number() OVER (PARTITION BY k.opp_key
                                              ORDER BY l.created_at NULLS LAST, k.lead_key) AS rn
                    FROM links k JOIN leads l USING (lead_key)) WHERE rn = 1),
        deals AS (SELECT pl.source, o.outcome, o.amount FROM att
                  JOIN pl USING (lead_key) JOIN opps o USING (opp_key))
        SELECT s.source, coalesce(n.leads, 0), coalesce(d.opps, 0), coalesce(d.won, 0),
               coalesce(d.amount, 0), coalesce(d.no_amount, 0)
        FROM (SELECT unnest($sources) AS source) s
        LEFT JOIN (SELECT source, count(*) AS leads FROM pl GROUP BY source) n USING (source)
        LEFT JOIN (SELECT source, count(*) AS opps, count(*) FILTER (WHERE outcome = 'won') AS won,
                          sum(amount) FILTER (WHERE outcome = 'won') AS amount,
                          count(*) FILTER (WHERE outcome = 'won' AND amount IS NULL) AS no_amount
                   FROM deals GROUP BY source) d USING (source)""", params)
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3]), float(r[4]), int(r[5])) for r in found}


def registrations_by_month(con: duckdb.DuckDBPyConnection, sources: Sequence[str], start: dt.date | None,
                           end: dt.date | None) -> dict[dt.date, int]:
    """MA data rows of ``sources`` per month of creation in ``[start, end)`` (as the CPA counts)."""
    params: dict[str, Any] = {"sources": list(sources)}
    cond = _period("created_at", start, end, params)
    return {r[0]: int(r[1]) for r in rows(con, f"""
        SELECT CAST(date_trunc('month', created_at) AS DATE) AS m, count(*) FROM ma_rows
        WHERE list_contains($sources, source) AND created_at IS NOT NULL AND {cond} GROUP BY m""", params)}


def lead_sources(con: duckdb.DuckDBPyConnection, touch: str = "first") -> list[str]:
    """The named lead sources of the data (first or last touch), most leads first."""
    col = source_column(touch)
    return [str(r[0]) for r in rows(con, f"SELECT {col}, count(*) AS n FROM leads WHERE {col} IS NOT NULL "
                                         f"GROUP BY 1 ORDER BY n DESC, 1")]
