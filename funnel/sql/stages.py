"""SQL of the stage funnel per group of leads (one query for every source at once).

The per-lead evidence and "furthest stage reached" are the expressions of
:func:`funnel.sql.metrics.funnel_counts`; a test checks that every group's counts equal
``metrics.funnel`` run on that group alone, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from funnel.sql.metrics import SqlParams


def funnel_counts_by(group_sql: str, where: SqlParams) -> SqlParams:
    """Per group: leads, recorded MQL/SQL/opportunity/won, reached ≥ 1..4, inferred MQL/SQL."""
    cond, params = where
    return (f"""
        WITH s AS (
            SELECT {group_sql} AS grp,
                   (mql_at IS NOT NULL OR status_level >= 1) AS rec_mql,
                   (sql_at IS NOT NULL OR status_level >= 2) AS rec_sql,
                   n_opps > 0 AS rec_opp, n_won > 0 AS rec_won,
                   greatest(CASE WHEN n_won > 0 THEN 4 WHEN n_opps > 0 THEN 3 ELSE 0 END,
                            CASE WHEN sql_at IS NOT NULL OR status_level >= 2 THEN 2
                                 WHEN mql_at IS NOT NULL OR status_level >= 1 THEN 1 ELSE 0 END) AS reached
            FROM leads WHERE {cond})
        SELECT grp, count(*) AS leads,
               count(*) FILTER (WHERE rec_mql), count(*) FILTER (WHERE rec_sql),
               count(*) FILTER (WHERE rec_opp), count(*) FILTER (WHERE rec_won),
               count(*) FILTER (WHERE reached >= 1), count(*) FILTER (WHERE reached >= 2),
               count(*) FILTER (WHERE reached >= 3), count(*) FILTER (WHERE reached >= 4),
               count(*) FILTER (WHERE reached >= 1 AND NOT rec_mql),
               count(*) FILTER (WHERE reached >= 2 AND NOT rec_sql)
        FROM s GROUP BY grp ORDER BY leads DESC, grp NULLS LAST""", params)
