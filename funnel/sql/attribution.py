"""SQL of multi-touch attribution: each opportunity's credit of 1 split over its touches.

Touches of an opportunity are the ``events`` of every lead linked to it (``links``) on or
before its created day, ordered by day, ties in file order (``pos``). The split by model is
contracts/cli.md's; an opportunity with no linked lead credits ``(no lead)``, a linked one with
no touch ``(no touch)``. One statement per model, all in DuckDB: window functions number the
touches of each opportunity, never a Python loop per event.
"""

from __future__ import annotations

import duckdb

from funnel.config import ATTRIBUTION_MODELS
from funnel.sql import copy_tables, drop_table, ident, lock_for
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
    "time_decay": ("w / sum(w) OVER (PARTITION BY opp_key ORDER BY w "
                   "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"),
}


def attribution(model: str, half_life: float, opps: str = "opps", links: str = "links") -> SqlParams:
    """``(touch, opportunities, won, won_amount)`` credited under ``model``, touches with no
    credit left out, largest first. ``opps`` / ``links``: the tables of the deals and their
    lead links (last month's, :func:`import_previous_deals`, against this month's events)."""
    if model not in _CREDIT:
        raise ValueError(f"model must be one of {MODELS}")
    # An opportunity without a created date has no day to cut at: all events of its leads are
    # touches, and time decay counts days back from its latest touch. The decay is taken
    # relative to the opportunity's nearest touch (same shares, and no weight underflows to 0
    # for touches years old). Every sum runs over its values in a fixed order (ORDER BY the
    # summed value: ties are equal, so their order cannot matter): DuckDB's threads otherwise add
    # the same floats in a different order run to run, and the last digit of a credit moves.
    return f"""
        WITH o AS (SELECT opp_key, created_at::DATE AS cday, outcome, amount, n_leads FROM {ident(opps)}),
             t AS (SELECT k.opp_key, e.day, e.pos, e.label, o.cday
                   FROM {ident(links)} k JOIN o USING (opp_key) JOIN events e ON e.lead_key = k.lead_key
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
        SELECT touch, fsum(credit ORDER BY credit) AS opportunities,
               coalesce(fsum(credit ORDER BY credit) FILTER (WHERE outcome = 'won'), 0.0) AS won,
               coalesce(fsum(credit * coalesce(amount, 0.0) ORDER BY credit * coalesce(amount, 0.0))
                        FILTER (WHERE outcome = 'won'), 0.0) AS won_amount
        FROM credits GROUP BY touch HAVING fsum(credit ORDER BY credit) > 0
        ORDER BY opportunities DESC, touch NULLS LAST""", {
        "half_life": float(half_life), "no_lead": NO_LEAD, "no_touch": NO_TOUCH}


#: Last month's deals and links copied into this month's connection (前回との比較).
PREVIOUS_TABLES = ("prev_att_opps", "prev_att_links")


def import_previous_deals(prev: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> None:
    """Copy the previous workspace's opportunities (what attribution reads of them) and lead
    links into ``cur`` as ``prev_att_opps`` / ``prev_att_links``."""
    with lock_for(prev):
        opps = prev.sql("SELECT opp_key, created_at, outcome, amount, n_leads FROM opps").to_arrow_table()
        links = prev.sql("SELECT lead_key, opp_key FROM links").to_arrow_table()
    copy_tables(cur, dict(zip(PREVIOUS_TABLES, (opps, links), strict=True)))


def forget_previous_deals(con: duckdb.DuckDBPyConnection) -> None:
    for name in PREVIOUS_TABLES:
        drop_table(con, name)
