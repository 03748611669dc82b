"""SQL of the self-diagnosis evidence that no other module measures: required SFA fields
filled, open opportunities past their close date, and opportunity results visible on the MA
side. Every query reads the linked tables (``leads``, ``opps``) and returns counts only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb

from funnel.sql import ident, rows

# Canonical SFA fields the required-fields rule may name → the ``opps`` column holding them.
OPP_FIELD_COLUMNS: dict[str, str] = {
    "stage": "stage", "amount": "amount", "close_date": "close_at", "owner": "owner",
    "created_at": "created_at", "loss_reason": "loss_reason", "source": "source", "deal_name": "deal_name",
    "company": "company", "probability": "probability",
}


def required_fields(con: duckdb.DuckDBPyConnection, fields: Sequence[str]) -> tuple[int, int, dict[str, int]]:
    """``(opportunities, with every field filled, {field: opportunities missing it})``.

    Blank text counts as missing (a cell of spaces is not an owner).
    """
    unknown = [f for f in fields if f not in OPP_FIELD_COLUMNS]
    if unknown or not fields:
        raise ValueError(f"unknown or no opportunity fields: {unknown}")
    filled = [f"({ident(OPP_FIELD_COLUMNS[f])} IS NOT NULL AND trim(CAST({ident(OPP_FIELD_COLUMNS[f])} AS VARCHAR)) <> '')"
              for f in fields]
    missing = ", ".join(f"count(*) FILTER (WHERE NOT {cond})" for cond in filled)
    found = rows(con, f"SELECT count(*), count(*) FILTER (WHERE {' AND '.join(filled)}), {missing} FROM opps")[0]
    return int(found[0]), int(found[1]), {f: int(n) for f, n in zip(fields, found[2:], strict=True)}


def overdue_open(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, int, int]:
    """``(as-of date, open opportunities with a close date, of them closing before as-of)``.

    The as-of date is the latest creation date of any lead or opportunity: an export holds
    nothing created after it was made, so that date is the closest the data gets to "today".
    """
    as_of, dated, overdue = rows(con, """
        WITH a AS (SELECT greatest((SELECT max(created_at) FROM leads),
                                   (SELECT max(created_at) FROM opps))::DATE AS d)
        SELECT (SELECT d FROM a),
               count(*) FILTER (WHERE close_at IS NOT NULL),
               count(*) FILTER (WHERE close_at::DATE < (SELECT d FROM a))
        FROM opps WHERE outcome = 'open'""")[0]
    return as_of, int(dated), int(overdue)


def results_in_ma(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """``(leads linked to an opportunity, of them showing it on the MA side)``: a status or
    lifecycle stage of opportunity or customer, an opportunity date, or a converted flag."""
    linked, shown = rows(con, """
        SELECT count(*), count(*) FILTER (WHERE status_level >= 3 OR opp_at IS NOT NULL OR converted_flag)
        FROM leads WHERE n_opps > 0""")[0]
    return int(linked), int(shown)


def stage_evidence(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Leads, and leads showing the MQL / SQL stage itself: its date, or a status at exactly
    that level. Unlike the funnel's evidence, a later status (商談化, customer) does not count:
    it shows the lead moved on, not that the team records MQL or SQL at all."""
    n, mql, sql_ = rows(con, """
        SELECT count(*), count(*) FILTER (WHERE mql_at IS NOT NULL OR status_level = 1),
               count(*) FILTER (WHERE sql_at IS NOT NULL OR status_level = 2)
        FROM leads""")[0]
    return {"leads": int(n), "mql": int(mql), "sql": int(sql_)}
