"""SQL behind the loss-reason page (失注分析). Builders return ``(sql, params)``; every query
reads the ``opps`` table after :meth:`Workspace.apply_loss_rules`, restricted to lost
opportunities, and hands back aggregates or one page of rows.
"""

from __future__ import annotations

from funnel.sql import SqlParams
from funnel.sql.metrics import OPP_SOURCES, source_column

_LOST = "outcome = 'lost'"


def _where(category: str | None, contains: str | None, alias: str = "") -> SqlParams:
    """Lost opportunities, optionally of one category and with a reason containing a text."""
    p = f"{alias}." if alias else ""
    conds, params = [f"{p}{_LOST}"], {}
    if category is not None:
        conds.append(f"{p}loss_category = $category")
        params["category"] = category
    if contains:
        # Case-insensitive substring on the raw reason and its detail (the user types what
        # they saw; no wildcard syntax, so % and _ in the text are literal).
        conds.append(f"(contains(lower({p}loss_reason), lower($contains)) "
                     f"OR contains(lower({p}loss_detail), lower($contains)))")
        params["contains"] = contains
    return " AND ".join(conds), params


def category_totals() -> str:
    """Lost opportunities and their summed amount per loss category."""
    return (f"SELECT loss_category, count(*) AS n, sum(amount) AS amount FROM opps "
            f"WHERE {_LOST} GROUP BY loss_category")


def loss_by_source(touch: str) -> str:
    """Lost deals per (kind, source, category). ``kind`` tells a deal without a linked lead
    (``no_lead``) from one whose linked lead has no source (``missing``), which
    ``measure.loss_by_lead_source`` folds together. A deal linked to several leads takes the
    smallest non-blank source among them."""
    col = source_column(touch)
    return f"""
        SELECT CASE WHEN l.opp_key IS NULL THEN 'no_lead' WHEN l.{col} IS NULL THEN 'missing' ELSE 'value' END,
               l.{col}, o.loss_category, count(*)
        FROM opps o LEFT JOIN {OPP_SOURCES} l USING (opp_key)
        WHERE o.{_LOST} GROUP BY ALL"""


def reason_texts(category: str | None, limit: int | None = None, offset: int = 0) -> SqlParams:
    """Distinct raw reason texts (NULL = empty) with their count, category and matched keyword,
    most frequent first; one page when ``limit`` is given."""
    cond, params = _where(category, None)
    page = ""
    if limit is not None:
        page = " LIMIT $lim OFFSET $off"
        params = {**params, "lim": limit, "off": offset}
    # The keyword is a function of the text (one lookup row per distinct text), so grouping
    # by it never splits a text.
    return (f"""
        SELECT loss_reason AS text, count(*) AS n, loss_category AS category, loss_keyword AS keyword
        FROM opps WHERE {cond}
        GROUP BY loss_reason, loss_category, loss_keyword
        ORDER BY n DESC, text NULLS FIRST{page}""", params)


def reason_text_count(category: str | None) -> SqlParams:
    """How many distinct reason texts (the empty reason counts as one) ``reason_texts`` lists."""
    cond, params = _where(category, None)
    return (f"SELECT count(*) FROM (SELECT DISTINCT loss_reason, loss_category FROM opps WHERE {cond})",
            params)


def lost_page(category: str | None, contains: str | None, touch: str, limit: int, offset: int,
              floor_year: int, future_years: int) -> SqlParams:
    """One page of lost opportunities with the source of their linked lead (drill-down),
    newest close date first; blank close dates after them and implausible ones (before
    ``floor_year``, or more than ``future_years`` after the data's newest creation date, as
    ``funnel.sql.dates.implausible`` counts them) last, flagged by ``close_implausible``.

    A deal linked to several leads shows the smallest source value, as
    ``funnel.sql.metrics.loss_by_lead_source`` counts it.
    """
    cond, params = _where(category, contains, "o")
    col = source_column(touch)
    newest = "greatest((SELECT max(created_at) FROM leads), (SELECT max(created_at) FROM opps))"
    return (f"""
        WITH newest AS (SELECT {newest} AS n)
        SELECT o.deal_id, o.deal_name, o.company, o.owner, o.amount, o.close_at, o.stage,
               o.loss_reason, o.loss_detail, o.loss_category, o.loss_keyword,
               o.n_leads, l.{col} AS lead_source,
               coalesce(o.close_at < make_date($floor, 1, 1)
                        OR o.close_at > (SELECT n FROM newest) + to_years($years), false) AS close_implausible
        FROM opps o LEFT JOIN {OPP_SOURCES} l USING (opp_key)
        WHERE {cond}
        ORDER BY close_implausible, o.close_at DESC NULLS LAST, o.opp_key
        LIMIT $lim OFFSET $off""", {**params, "lim": limit, "off": offset, "floor": floor_year, "years": future_years})


def lost_count(category: str | None, contains: str | None) -> SqlParams:
    cond, params = _where(category, contains)
    return f"SELECT count(*) FROM opps WHERE {cond}", params
