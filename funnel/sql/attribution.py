"""SQL of multi-touch attribution: each opportunity's credit of 1 split over its touches.

Touches of an opportunity are the ``events`` of every lead linked to it (``links``) on or
before its created day, ordered by day, ties in file order (``pos``). The split by model is
contracts/cli.md's; an opportunity with no linked lead credits ``(no lead)``, a linked one with
no touch ``(no touch)``. One statement per model, all in DuckDB: window functions number the
touches of each opportunity, never a Python loop per event.
"""

from __future__ import annotations

from funnel.config import ATTRIBUTION_MODELS
from funnel.sql.metrics import SqlParams

MODELS = ATTRIBUTION_MODELS
NO_LEAD = "(no lead)"
NO_TOUCH = "(no touch)"

# Credit of touch i of n (1-based, in order) under each model. time_decay uses the weight w
# (2^(-d / half-life)) and the opportunity's weight total.
_CREDIT = {
    "first": "CASE WHEN i = 1 THEN 1.0 ELSE 0.0 END",
    "last": "CASE WHEN i = n THEN 1.0 ELSE 0.0 END",
    "linear": "1.0 / n",
    "position": ("CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 WHEN i = 1 OR i = n THEN 0.4 "
                 "ELSE 0.2 / (n - 2) END"),
    "time_decay": "w / sum(w) OVER (PARTITION BY opp_key)",
}


def attribution(model: str, half_life: float) -> SqlParams:
    """``(touch, opportunities, won, won_amount)`` credited under ``model``, touches with no
    credit left out, largest first."""
    if model not in _CREDIT:
        raise ValueError(f"model must be one of {MODELS}")
    # An opportunity without a created date has no day to cut at: all events of its leads are
    # touches, and time decay counts days back from its latest touch. The decay is taken
    # relative to the opportunity's nearest touch (same shares, and no weight underflows to 0
    # for touches years old).
    return f"""
        WITH o AS (SELECT opp_key, created_at::DATE AS cday, outcome, amount, n_leads FROM opps),
             t AS (SELECT k.opp_key, e.day, e.pos, e.label, o.cday
                   FROM links k JOIN o USING (opp_key) JOIN events e ON e.lead_key = k.lead_key
                   WHERE o.cday IS NULL OR e.day <= o.cday),
             r AS (SELECT opp_key, label,
                          row_number() OVER (PARTITION BY opp_key ORDER BY day, pos) AS i,
                          count(*) OVER (PARTITION BY opp_key) AS n,
                          date_diff('day', day, coalesce(cday, max(day) OVER (PARTITION BY opp_key))) AS d
                   FROM t),
             r2 AS (SELECT *, pow(2.0, -(d - min(d) OVER (PARTITION BY opp_key)) / $half_life) AS w FROM r),
             c AS (SELECT opp_key, label, {_CREDIT[model]} AS credit FROM r2),
             touched AS (SELECT DISTINCT opp_key FROM t),
             credits AS (
                 SELECT c.label AS touch, c.credit, o.outcome, o.amount FROM c JOIN o USING (opp_key)
                 UNION ALL
                 SELECT CASE WHEN o.n_leads = 0 THEN $no_lead ELSE $no_touch END, 1.0, o.outcome, o.amount
                 FROM o ANTI JOIN touched USING (opp_key))
        SELECT touch, fsum(credit) AS opportunities,
               coalesce(fsum(credit) FILTER (WHERE outcome = 'won'), 0.0) AS won,
               coalesce(fsum(credit * coalesce(amount, 0.0)) FILTER (WHERE outcome = 'won'), 0.0) AS won_amount
        FROM credits GROUP BY touch HAVING fsum(credit) > 0
        ORDER BY opportunities DESC, touch NULLS LAST""", {
        "half_life": float(half_life), "no_lead": NO_LEAD, "no_touch": NO_TOUCH}
