"""SQL of the implausible-dates check: dates before a floor year or far after the data's
newest creation date (a stray 2030 close date, a 1900 placeholder). Counts and bounds only."""

from __future__ import annotations

from typing import Any

from funnel.sql import ident

SqlParams = tuple[str, dict[str, Any]]

#: (table, column) pairs checked: every date a page sorts or groups by.
CHECKED = (("leads", "created_at"), ("opps", "created_at"), ("opps", "close_at"))


def implausible(floor_year: int, future_years: int) -> SqlParams:
    """Per checked column: dated rows, rows before 1 January ``floor_year``, rows after the
    newest creation date + ``future_years``, the newest creation date, and the extremes."""
    newest = "greatest((SELECT max(created_at) FROM leads), (SELECT max(created_at) FROM opps))"
    parts = [f"""
        SELECT '{table}' AS tbl, '{column}' AS col, count({ident(column)}) AS dated,
               count(*) FILTER (WHERE {ident(column)} < make_date($floor, 1, 1)) AS too_old,
               count(*) FILTER (WHERE {ident(column)} > (SELECT n FROM newest) + to_years($years)) AS too_new,
               (SELECT n FROM newest) AS newest, min({ident(column)}) AS first, max({ident(column)}) AS last
        FROM {ident(table)}""" for table, column in CHECKED]
    return (f"WITH newest AS (SELECT {newest} AS n) " + " UNION ALL ".join(parts),
            {"floor": floor_year, "years": future_years})
