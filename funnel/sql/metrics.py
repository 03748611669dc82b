"""SQL of the measures. Builders return ``(sql, params)``; every query reads the linked
tables (``leads``, ``opps``, ``links``) and hands back aggregates only, so a filter change is
one small query, never a re-read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from funnel.sql import SqlParams, ident

#: Group of opportunities linked to no lead (distinct from a lead with no source, NULL).
NO_LEAD = "\x00no lead"


def source_column(touch: str) -> str:
    """The leads column holding the source for ``first``/``last`` touch."""
    if touch not in ("first", "last"):
        raise ValueError("touch must be 'first' or 'last'")
    return "source_first" if touch == "first" else "source_last"


def lead_where(date_from: dt.date | None, date_to: dt.date | None,
               sources: Sequence[str | None] | None, touch: str) -> SqlParams:
    """WHERE clause over ``leads`` for a lead-creation date range and a set of sources."""
    conds: list[str] = ["TRUE"]
    params: dict[str, Any] = {}
    if date_from is not None:
        conds.append("created_at >= $date_from")
        params["date_from"] = dt.datetime.combine(date_from, dt.time())
    if date_to is not None:
        conds.append("created_at < $date_to")
        params["date_to"] = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time())
    if sources is not None:
        named = [s for s in sources if s is not None]
        col = source_column(touch)
        part = f"list_contains($sources, {col})"
        if None in sources:
            part = f"({part} OR {col} IS NULL)"
        conds.append(part)
        params["sources"] = named
    return " AND ".join(conds), params


def rate_by(group_sql: str, where: SqlParams, order: str = "leads DESC, grp NULLS LAST",
            label: str = "grp") -> SqlParams:
    """Leads, converted, won per group of leads; ``label`` (an expression of ``grp``) is what
    the group is called, computed once per group rather than once per lead."""
    cond, params = where
    return (f"""
        SELECT {label} AS grp, leads, converted, won FROM (
            SELECT {group_sql} AS grp, count(*) AS leads,
                   count(*) FILTER (WHERE n_opps > 0) AS converted,
                   count(*) FILTER (WHERE n_won > 0) AS won
            FROM leads WHERE {cond} GROUP BY ALL)
        ORDER BY {order}""", params)


def overall(where: SqlParams) -> SqlParams:
    cond, params = where
    return (f"SELECT count(*), count(*) FILTER (WHERE n_opps > 0), count(*) FILTER (WHERE n_won > 0) "
            f"FROM leads WHERE {cond}", params)



def outcomes() -> str:
    return "SELECT outcome, count(*) FROM opps GROUP BY outcome"


def loss_counts(group_sql: str | None = None) -> SqlParams:
    """Lost opportunities per loss category (and per group when ``group_sql`` is given)."""
    grp = f"{group_sql} AS grp, " if group_sql else ""
    by = "GROUP BY ALL" if group_sql else "GROUP BY loss_category"
    return f"SELECT {grp}loss_category, count(*) FROM opps WHERE outcome = 'lost' {by}", {}


#: Per build: the source of each linked opportunity's lead(s), first and last touch (a deal
#: linked to several leads takes the smallest source among them). Every loss view by source
#: needs it, and joining the links with a million leads was most of their cost on each click;
#: made on first use (:func:`opp_sources`), dropped by ``Workspace.build`` with the data.
OPP_SOURCES = "opp_lead_sources"


def opp_sources() -> str:
    """The statement that makes :data:`OPP_SOURCES` if this build has none yet."""
    return f"""
        CREATE TABLE IF NOT EXISTS {OPP_SOURCES} AS
        SELECT k.opp_key, min(ld.source_first) AS source_first, min(ld.source_last) AS source_last
        FROM links k JOIN leads ld USING (lead_key) GROUP BY k.opp_key"""


def loss_by_lead_source(touch: str) -> SqlParams:
    """Lost opportunities per category and the source of their linked lead(s), deals linked
    to no lead in the group :data:`NO_LEAD`. Needs :func:`opp_sources`."""
    col = source_column(touch)
    return (f"""
        SELECT CASE WHEN l.opp_key IS NULL THEN $no_lead ELSE l.{col} END AS grp, o.loss_category, count(*)
        FROM opps o LEFT JOIN {OPP_SOURCES} l USING (opp_key)
        WHERE o.outcome = 'lost' GROUP BY ALL""", {"no_lead": NO_LEAD})


def match_counts() -> str:
    return "SELECT count(*) FILTER (WHERE n_leads > 0), count(*) FILTER (WHERE n_leads = 0) FROM opps"


def lead_page(where: SqlParams, extra: str, limit: int, offset: int, touch: str) -> SqlParams:
    """One page of the leads behind a number (drill-down)."""
    cond, params = where
    col = source_column(touch)
    return (f"""
        SELECT lead_key, email_raw, name, company, {ident(col)} AS source, created_at, owner,
               n_opps, n_won, rows
        FROM leads WHERE {cond} AND ({extra})
        ORDER BY created_at NULLS LAST, lead_key LIMIT $lim OFFSET $off""",
            {**params, "lim": limit, "off": offset})
