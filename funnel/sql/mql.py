"""SQL of the MQL-threshold page (``funnel.measures.mql``): what the lead score says about which
leads become opportunities. Builders return ``(sql, params)`` over the ``leads`` table and a
lead filter (``funnel.sql.metrics.lead_where``); every result is an aggregate (one row per
score band or per candidate threshold), never a list of leads.

"Converted" is the engine's one definition: a lead linked to at least one opportunity
(``n_opps > 0``).
"""

from __future__ import annotations

from collections.abc import Sequence

from funnel.sql import SqlParams, recorded_mql


def summary(where: SqlParams) -> SqlParams:
    """Leads, scored leads, converted (all / scored), the score range, distinct values, whether
    every score is a whole number, and the first/last creation date (for volume per month)."""
    cond, params = where
    return (f"""
        SELECT count(*) AS leads,
               count(score) AS scored,
               count(*) FILTER (WHERE n_opps > 0) AS converted,
               count(*) FILTER (WHERE n_opps > 0 AND score IS NOT NULL) AS converted_scored,
               min(score) AS lo, max(score) AS hi,
               count(DISTINCT score) AS distinct_scores,
               coalesce(bool_and(score = floor(score)), true) AS integral,
               min(created_at) FILTER (WHERE score IS NOT NULL) AS first_created,
               max(created_at) FILTER (WHERE score IS NOT NULL) AS last_created
        FROM leads WHERE {cond}""", params)


def threshold_counts(where: SqlParams, step: float | None) -> SqlParams:
    """One row per candidate threshold ``t`` (ascending): leads and converted leads whose score
    is ``>= t``, cumulated from the top score down in one window pass.

    With ``step`` None the candidates are the distinct score values; otherwise scores are
    grouped into buckets ``[k*step, (k+1)*step)`` and the candidates are the bucket starts (a
    lead's score is ``>= k*step`` exactly when its bucket start is), so a continuous score
    with a million distinct values still gives a few hundred rows.
    """
    cond, params = where
    value = "score" if step is None else "floor(score / $step) * $step"
    extra = {} if step is None else {"step": step}
    return (f"""
        WITH g AS (
            SELECT {value} AS t, count(*) AS n, count(*) FILTER (WHERE n_opps > 0) AS k
            FROM leads WHERE ({cond}) AND score IS NOT NULL GROUP BY 1)
        SELECT t, n, k,
               sum(n) OVER w AS passed, sum(k) OVER w AS passed_converted
        FROM g
        WINDOW w AS (ORDER BY t DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY t""", {**params, **extra})


def width_bands(where: SqlParams, width: float) -> SqlParams:
    """Leads and converted leads per band ``[k*width, (k+1)*width)`` of the score."""
    cond, params = where
    return (f"""
        SELECT floor(score / $width) * $width AS lo, count(*) AS n,
               count(*) FILTER (WHERE n_opps > 0) AS k, min(score) AS smin, max(score) AS smax
        FROM leads WHERE ({cond}) AND score IS NOT NULL
        GROUP BY 1 ORDER BY 1""", {**params, "width": width})


def quantile_cuts(where: SqlParams, quantiles: Sequence[float]) -> SqlParams:
    """Score values at ``quantiles`` (actual values: ``quantile_disc``) over scored leads."""
    cond, params = where
    return (f"SELECT quantile_disc(score, $qs) FROM leads WHERE ({cond}) AND score IS NOT NULL",
            {**params, "qs": list(quantiles)})


def cut_bands(where: SqlParams, cuts: Sequence[float]) -> SqlParams:
    """Leads and converted leads per band between consecutive ``cuts`` (ascending, distinct):
    band ``i`` holds the scores with exactly ``i`` cuts at or below them."""
    cond, params = where
    return (f"""
        SELECT len(list_filter($cuts::DOUBLE[], lambda c: c <= score)) AS band, count(*) AS n,
               count(*) FILTER (WHERE n_opps > 0) AS k, min(score) AS smin, max(score) AS smax
        FROM leads WHERE ({cond}) AND score IS NOT NULL
        GROUP BY 1 ORDER BY 1""", {**params, "cuts": list(cuts)})


def current_mql(where: SqlParams) -> SqlParams:
    """Scored leads the MA already marks as MQL (an MQL date or a status of MQL or beyond):
    how many, and how many converted, next to how many scored leads had such evidence at
    all (none means the export holds no MQL information)."""
    cond, params = where
    return (f"""
        SELECT count(*) FILTER (WHERE {recorded_mql()}) AS passed,
               count(*) FILTER (WHERE {recorded_mql()} AND n_opps > 0) AS passed_converted,
               count(*) FILTER (WHERE mql_at IS NOT NULL) AS with_date
        FROM leads WHERE ({cond}) AND score IS NOT NULL""", params)
