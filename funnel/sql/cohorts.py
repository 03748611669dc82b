"""SQL behind the monthly cohorts of the opportunity-rate page: how long converted leads took
to become an opportunity (for the "still maturing" rule), the data's latest date and the
range of lead-creation dates. Builders return ``(sql, params)`` or plain SQL; everything is
an aggregate, never a list of leads.
"""

from __future__ import annotations

from typing import Any

from funnel.sql import SqlParams, rows, run

# Days from a lead's creation to its first opportunity. The opportunity's own creation date
# is the best evidence; when the SFA export has none, the lead's 商談化日 from the MA export
# (``opp_at``) stands in. Leads without either date give no lag.
_LAGS = """
    WITH first_opp AS (
        SELECT k.lead_key, min(o.created_at) AS opp_created
        FROM links k JOIN opps o USING (opp_key) GROUP BY k.lead_key)
    SELECT date_diff('day', l.created_at, coalesce(f.opp_created, l.opp_at)) AS lag
    FROM leads l JOIN first_opp f USING (lead_key)
    WHERE l.created_at IS NOT NULL AND coalesce(f.opp_created, l.opp_at) IS NOT NULL"""


def conversion_lag(quantile: float) -> SqlParams:
    """Converted leads with a usable lag, the lag at ``quantile`` (days, interpolated), and
    how many lags were negative (an opportunity older than the lead: a person registered in
    the MA after sales had already opened a deal; left out of the quantile, not clamped,
    because they say nothing about how long a new lead takes)."""
    return (f"""
        SELECT count(*) FILTER (WHERE lag >= 0),
               quantile_cont(lag, $q) FILTER (WHERE lag >= 0),
               count(*) FILTER (WHERE lag < 0)
        FROM ({_LAGS})""", {"q": quantile})


def latest_date() -> str:
    """The latest creation date in either export: the data's "as of" date.

    The export's own snapshot date is unknown; the last lead or opportunity created is the
    closest evidence of it (today's date would call every month of an old export mature).
    """
    return ("SELECT greatest((SELECT max(created_at) FROM leads), (SELECT max(created_at) FROM opps))")


def created_bounds() -> str:
    """First and last lead-creation timestamps (the default date range)."""
    return "SELECT min(created_at), max(created_at) FROM leads"


#: Per-build cache of the lag statistics: they describe the whole data, not a filter, so a
#: filter change must not pay for them again. Workspace.build drops it with the data.
LAG_CACHE = "cohort_lag_cache"


def cached_lag(con: Any, quantile: float) -> tuple[Any, ...] | None:
    """``(n, p, negative, latest)`` stored for ``quantile`` by :func:`store_lag`, if any."""
    if not rows(con, "SELECT 1 FROM duckdb_tables() WHERE table_name = $t", {"t": LAG_CACHE}):
        return None
    found = rows(con, f"SELECT n, p, negative, latest FROM {LAG_CACHE} WHERE quantile = $q", {"q": quantile})
    return tuple(found[0]) if found else None


def store_lag(con: Any, quantile: float, n: int, p: float | None, negative: int, latest: Any) -> None:
    run(con, f"CREATE TABLE IF NOT EXISTS {LAG_CACHE} (quantile DOUBLE, n BIGINT, p DOUBLE, negative BIGINT, "
             "latest TIMESTAMP)")
    run(con, f"INSERT INTO {LAG_CACHE} VALUES ($q, $n, $p, $neg, $latest)",
        {"q": quantile, "n": n, "p": p, "neg": negative, "latest": latest})
