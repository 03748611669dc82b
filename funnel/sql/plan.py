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
