"""SQL of the SLA / speed page (``funnel.measures.sla``): days between the dates of a lead, its first
opportunity and the close of an opportunity, as percentiles per group, with every interval
that cannot be measured counted by reason; and the open opportunities older than N days,
one page at a time.

Days are calendar days between the two dates (``date_diff`` on ``DATE``s: a lead created at
09:25 and an opportunity created the same day is 0 days). Quantiles are ``quantile_cont``
(linear interpolation) in DuckDB, so only one row per group comes back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from funnel.sql import SqlParams
from funnel.sql.metrics import OPP_SOURCES, source_column

#: Percentiles of every spread, in this order.
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
BASES = ("created", "mql")
GROUPS = (None, "source", "owner", "outcome")


def _lead_rows(where: SqlParams, basis: str, touch: str) -> SqlParams:
    """One row per converted lead of the filter: its source and owner, the start date (lead
    creation or MQL date), the end date (the earliest creation date of its linked
    opportunities; the MA's 商談化日 when none of them has one) and the days between."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}")
    cond, params = where
    start = "l.created_at" if basis == "created" else "l.mql_at"
    return (f"""
        SELECT l.{source_column(touch)} AS source, l.owner AS owner, NULL::VARCHAR AS outcome,
               false AS no_lead,
               {start} AS start_at, coalesce(f.opp_created, l.opp_at) AS end_at,
               f.opp_created IS NULL AND l.opp_at IS NOT NULL AS fallback,
               date_diff('day', CAST({start} AS DATE), CAST(coalesce(f.opp_created, l.opp_at) AS DATE)) AS days
        FROM (SELECT * FROM leads WHERE ({cond}) AND n_opps > 0) l
        JOIN (SELECT k.lead_key, min(o.created_at) AS opp_created
              FROM links k JOIN opps o USING (opp_key) GROUP BY k.lead_key) f USING (lead_key)""", params)


def _close_rows(touch: str) -> str:
    """One row per closed (won or lost) opportunity: deal owner, outcome, the source of its
    linked lead(s) (the smallest when several; ``no_lead`` when none is linked), created date,
    close date (won: the won date, else the close date; lost: the close date) and the days.
    Needs :func:`funnel.sql.metrics.opp_sources`."""
    col = source_column(touch)
    end = "CASE WHEN o.outcome = 'won' THEN coalesce(o.won_at, o.close_at) ELSE o.close_at END"
    return f"""
        SELECT s.src AS source, o.owner AS owner, o.outcome AS outcome, s.opp_key IS NULL AS no_lead,
               o.created_at AS start_at, {end} AS end_at,
               o.outcome = 'won' AND o.won_at IS NULL AND o.close_at IS NOT NULL AS fallback,
               date_diff('day', CAST(o.created_at AS DATE), CAST({end} AS DATE)) AS days
        FROM opps o LEFT JOIN (SELECT opp_key, {col} AS src FROM {OPP_SOURCES}) s USING (opp_key)
        WHERE o.outcome IN ('won', 'lost')"""


def _spread(rows_sql: str, params: dict[str, Any], group: str | None, sla_days: int | None) -> SqlParams:
    """Per group (or overall when ``group`` is None — always exactly one row): rows, measured
    intervals, the exclusions by reason, the percentiles and how many are within the SLA."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}")
    # Only a source can be "no lead" (an opportunity linked to no lead has no source at all).
    flag = "no_lead" if group == "source" else "false"
    grp = "NULL::VARCHAR" if group is None else group
    grp = f"{grp} AS grp, {flag} AS no_lead_grp"
    by = "" if group is None else "GROUP BY ALL ORDER BY measured DESC, total DESC, grp NULLS LAST"
    within = "count(*) FILTER (WHERE days >= 0 AND days <= $sla)" if sla_days is not None else "NULL::BIGINT"
    extra = {} if sla_days is None else {"sla": sla_days}
    return (f"""
        WITH r AS ({rows_sql})
        SELECT {grp},
               count(*) AS total,
               count(*) FILTER (WHERE days >= 0) AS measured,
               count(*) FILTER (WHERE start_at IS NULL) AS no_start,
               count(*) FILTER (WHERE start_at IS NOT NULL AND end_at IS NULL) AS no_end,
               count(*) FILTER (WHERE days < 0) AS negative,
               count(*) FILTER (WHERE days >= 0 AND fallback) AS fallback,
               quantile_cont(days, $qs) FILTER (WHERE days >= 0) AS q,
               {within} AS within
        FROM r {by}""", {**params, **extra, "qs": list(QUANTILES)})


def lead_spread(where: SqlParams, basis: str, touch: str, group: str | None, sla_days: int | None) -> SqlParams:
    """Lead (or MQL) → first opportunity, per ``source`` / ``owner`` (lead owner) / overall."""
    rows_sql, params = _lead_rows(where, basis, touch)
    return _spread(rows_sql, params, group, sla_days)


def close_spread(touch: str, group: str | None, sla_days: int | None = None) -> SqlParams:
    """Opportunity created → closed, per ``source`` / ``owner`` (deal owner) / ``outcome``."""
    return _spread(_close_rows(touch), {}, group, sla_days)


def mql_dates(where: SqlParams) -> SqlParams:
    """Leads of the filter with an MQL date (none: the MQL basis cannot be offered)."""
    cond, params = where
    return f"SELECT count(mql_at) FROM leads WHERE {cond}", params


def _stuck_where() -> str:
    return ("o.outcome = 'open' AND o.created_at IS NOT NULL "
            "AND date_diff('day', CAST(o.created_at AS DATE), $as_of) > $days")


def stuck_summary(as_of: dt.date, days: int) -> SqlParams:
    """Open opportunities: all, stuck (older than ``days`` on ``as_of``), their amount, how many
    have no creation date (no age), how many were created after ``as_of`` (no age either)."""
    return (f"""
        SELECT count(*) AS open,
               count(*) FILTER (WHERE {_stuck_where()}) AS stuck,
               sum(amount) FILTER (WHERE {_stuck_where()}) AS stuck_amount,
               count(*) FILTER (WHERE {_stuck_where()} AND amount IS NULL) AS stuck_no_amount,
               count(*) FILTER (WHERE o.created_at IS NULL) AS no_created,
               count(*) FILTER (WHERE CAST(o.created_at AS DATE) > $as_of) AS after_as_of
        FROM opps o WHERE o.outcome = 'open'""", {"as_of": as_of, "days": days})


def stuck_page(as_of: dt.date, days: int, limit: int | None, offset: int = 0) -> SqlParams:
    """The stuck open opportunities, oldest first (``limit`` None: all of them)."""
    page = "" if limit is None else "LIMIT $lim OFFSET $off"
    extra = {} if limit is None else {"lim": limit, "off": offset}
    return (f"""
        SELECT o.deal_name, o.company, o.owner, o.stage,
               CAST(o.created_at AS DATE) AS created_at,
               date_diff('day', CAST(o.created_at AS DATE), $as_of) AS age_days,
               CAST(o.close_at AS DATE) AS close_at,
               CAST(o.close_at AS DATE) < $as_of AS overdue,
               o.amount, o.deal_id
        FROM opps o WHERE {_stuck_where()}
        ORDER BY age_days DESC, o.amount DESC NULLS LAST, o.opp_key {page}""",
            {"as_of": as_of, "days": days, **extra})


def latest_date() -> str:
    """The data's "as of" date: the last lead or opportunity created (same rule as cohorts)."""
    return "SELECT greatest((SELECT max(created_at) FROM leads), (SELECT max(created_at) FROM opps))"
