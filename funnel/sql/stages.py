"""SQL of the stage funnel (Lead → MQL → SQL → 商談 → 受注): over one cohort of leads, or per
group of leads in one query (every source at once).

The per-lead evidence and "furthest stage reached" are the rules of :mod:`funnel.sql`
(:func:`~funnel.sql.recorded_mql`, :func:`~funnel.sql.recorded_sql`,
:func:`~funnel.sql.reached_stage`), shared with the comparison of two loads.
"""

from __future__ import annotations

from funnel.sql import SqlParams, reached_stage, recorded_mql, recorded_sql


def funnel_counts(where: SqlParams, group_sql: str | None = None) -> SqlParams:
    """Leads, recorded MQL/SQL/opportunity/won, reached ≥ 1..4, inferred MQL/SQL: one row, or
    with ``group_sql`` one row per group (its value first), most leads first."""
    cond, params = where
    grp, tail = ("", "") if group_sql is None else (
        f"{group_sql} AS grp, ", "GROUP BY grp ORDER BY leads DESC, grp NULLS LAST")
    return (f"""
        WITH s AS (
            SELECT {grp}{recorded_mql()} AS rec_mql, {recorded_sql()} AS rec_sql,
                   n_opps > 0 AS rec_opp, n_won > 0 AS rec_won, {reached_stage()} AS reached
            FROM leads WHERE {cond})
        SELECT {"grp, " if group_sql is not None else ""}count(*) AS leads,
               count(*) FILTER (WHERE rec_mql), count(*) FILTER (WHERE rec_sql),
               count(*) FILTER (WHERE rec_opp), count(*) FILTER (WHERE rec_won),
               count(*) FILTER (WHERE reached >= 1), count(*) FILTER (WHERE reached >= 2),
               count(*) FILTER (WHERE reached >= 3), count(*) FILTER (WHERE reached >= 4),
               count(*) FILTER (WHERE reached >= 1 AND NOT rec_mql),
               count(*) FILTER (WHERE reached >= 2 AND NOT rec_sql)
        FROM s {tail}""", params)
