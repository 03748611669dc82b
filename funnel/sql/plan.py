"""SQL behind the reverse plan: the actual average won deal size (the other actuals come
from :mod:`funnel.measures.metrics` and :mod:`funnel.model.cost_data`)."""

from __future__ import annotations

import duckdb

from funnel.sql import rows


def won_amounts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, float]:
    """``(won deals, won deals with an amount > 0, sum of those amounts)``.

    A won deal without an amount (or with 0, which SFA exports write for "not entered") would
    pull the average down, so it is left out of the average and counted separately.
    """
    n, k, total = rows(con, """
        SELECT count(*), count(*) FILTER (WHERE amount > 0), coalesce(sum(amount) FILTER (WHERE amount > 0), 0)
        FROM opps WHERE outcome = 'won'""")[0]
    return int(n), int(k), float(total)


def won_amount_last_year(con: duckdb.DuckDBPyConnection) -> tuple[int, float] | None:
    """``(won deals with an amount, their sum)`` over the 12 months up to the data's last won
    deal (dated by close, else creation date); None when no won deal has an amount and a date.

    The plan page starts its revenue target here: a year of the user's own revenue, in the
    export's currency (a yen example means nothing to a dollar export)."""
    n, total = rows(con, """
        WITH w AS (SELECT amount, coalesce(close_at, created_at) AS d FROM opps
                   WHERE outcome = 'won' AND amount > 0 AND coalesce(close_at, created_at) IS NOT NULL)
        SELECT count(*), coalesce(sum(amount), 0) FROM w
        WHERE d > (SELECT max(d) FROM w) - INTERVAL 12 MONTH""")[0]
    return None if not n else (int(n), float(total))
