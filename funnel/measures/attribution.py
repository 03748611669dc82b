"""Multi-touch attribution of opportunities, won deals and won amount to the touches (campaign,
else channel, else activity type) of the leads linked to them (contracts/cli.md).

Each opportunity gives credit 1, split by the model: ``first``, ``last``, ``linear``,
``position`` (U-shaped: 1; ½ + ½; 0.4 + 0.2 shared + 0.4) or ``time_decay`` (weights
2^(−days / half-life), scaled to sum 1). Opportunities with no linked lead credit ``(no lead)``
and linked ones without a touch ``(no touch)``, so the credits sum to the opportunities and
the won credits to the won deals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from funnel.config import setting
from funnel.model.workspace import Workspace
from funnel.sql import attribution as q
from funnel.sql import rows

MODELS = q.MODELS
NO_LEAD = q.NO_LEAD
NO_TOUCH = q.NO_TOUCH


@dataclass(frozen=True)
class Credit:
    touch: str | None
    opportunities: float
    won: float
    won_amount: float


@dataclass(frozen=True)
class Attribution:
    model: str
    half_life_days: float | None        # the half-life used (time_decay), else None
    by_touch: list[Credit]

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "half_life_days": self.half_life_days,
                "by_touch": [{"touch": c.touch, "opportunities": c.opportunities, "won": c.won,
                              "won_amount": c.won_amount} for c in self.by_touch]}


def default_model() -> str:
    return str(setting("attribution_model"))


def default_half_life() -> float:
    return float(setting("attribution_half_life_days"))


def attribution(con: duckdb.DuckDBPyConnection, model: str | None = None,
                half_life: float | None = None, *, previous: bool = False) -> Attribution:
    """Credits by touch under ``model`` (default ``position``); ``half_life`` in days for
    ``time_decay`` (default from settings: 7). ``previous``: last month's deals imported by
    :func:`compare_months` against this connection's events."""
    model = model or str(setting("attribution_model"))
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    hl = default_half_life() if half_life is None else float(half_life)
    if not hl > 0:
        raise ValueError("half-life must be a positive number of days")
    tables = dict(zip(("opps", "links"), q.PREVIOUS_TABLES, strict=True)) if previous else {}
    sql, params = q.attribution(model, hl, **tables)
    found = [Credit(t, float(o), float(w), float(a)) for t, o, w, a in rows(con, sql, params)]
    return Attribution(model, hl if model == "time_decay" else None, found)


def first_touch_sources(con: duckdb.DuckDBPyConnection) -> list[Credit]:
    """The first-touch source view beside the models: each opportunity's credit of 1 split
    equally over its linked leads' first-touch source (the MA source column), ``(no lead)``
    when it has none; sums to the opportunities like every model."""
    from funnel.sql import activity as aq
    return [Credit(s, float(o), float(w), float(a)) for s, o, w, a in rows(con, aq.first_touch_sources(), {"no_lead": NO_LEAD})]


def all_models(con: duckdb.DuckDBPyConnection, half_life: float | None = None) -> dict[str, Attribution]:
    """Every model of :data:`MODELS` with the same half-life (for the side-by-side view)."""
    return {m: attribution(con, m, half_life) for m in MODELS}


#: The credit measures of a :class:`Credit` (a column each on the page and in the report).
MEASURES: tuple[str, ...] = ("opportunities", "won", "won_amount")
#: The first-touch source view's name beside the models.
FIRST_TOUCH_SOURCE = "first_touch_source"


def side_by_side(series: Mapping[str, Sequence[Credit]], measure: str = "opportunities",
                 order_by: str | None = None) -> list[tuple[str | None, dict[str, float]]]:
    """One row per touch (or source) with its ``measure`` credit under each named series
    (0.0 where a series gives it none), largest under ``order_by`` (default: the first series)
    first, ties by name; the page's and the report's table of the models side by side."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}")
    names = list(series)
    table: dict[str | None, dict[str, float]] = {}
    for name, credits in series.items():
        for c in credits:
            row = table.setdefault(c.touch, dict.fromkeys(names, 0.0))
            row[name] += float(getattr(c, measure))
    key = order_by or (names[0] if names else "")
    return sorted(table.items(), key=lambda kv: (-kv[1].get(key, 0.0), kv[0] is None, kv[0] or ""))


def totals(series: Mapping[str, Sequence[Credit]], measure: str = "opportunities") -> dict[str, float]:
    """The ``measure`` credit of each series summed (the deal count, won count or won amount)."""
    return {name: sum(float(getattr(c, measure)) for c in credits) for name, credits in series.items()}


@dataclass(frozen=True)
class Move:
    """One touch's credit last month and this month (0.0 where it got none)."""

    touch: str | None
    before: Credit
    after: Credit


@dataclass(frozen=True)
class MonthsCompared:
    """Attribution of both loads under one model (前回との比較). ``events``: whose activity
    credited last month's deals — ``previous`` (its own activity exports) or ``current``
    (this month's, the behaviour history being cumulative: a deal's touches are the events up
    to its created day, which a later export still holds)."""

    model: str
    half_life_days: float | None
    events: str
    moves: list[Move]
    totals_before: Credit
    totals_after: Credit


def _sum(credits: Sequence[Credit]) -> Credit:
    return Credit(None, sum(c.opportunities for c in credits), sum(c.won for c in credits),
                  sum(c.won_amount for c in credits))


def compare_months(previous: Workspace, current: Workspace, model: str | None = None,
                   half_life: float | None = None) -> MonthsCompared | None:
    """Credits by touch in both loads (None when this month has no activity export). Last
    month's deals use its own activity exports where it has them, else this month's events
    (linked through the lead keys, which both loads share — a lead gone this month brings no
    touch, so its deals count as ``(no touch)``); both columns still sum to each month's
    opportunities, won deals and won amount."""
    if current.build_result is None or current.build_result.activity is None:
        return None
    now = attribution(current.con, model, half_life)
    if previous.build_result is not None and previous.build_result.activity is not None:
        before, events = attribution(previous.con, model, half_life), "previous"
    else:
        q.import_previous_deals(previous.con, current.con)
        before, events = attribution(current.con, model, half_life, previous=True), "current"
    b = {c.touch: c for c in before.by_touch}
    a = {c.touch: c for c in now.by_touch}
    zero = Credit(None, 0.0, 0.0, 0.0)
    order = sorted(set(a) | set(b), key=lambda k: (-(a.get(k) or zero).opportunities,
                                                   -(b.get(k) or zero).opportunities, k is None, k or ""))
    moves = [Move(k, b.get(k) or Credit(k, 0.0, 0.0, 0.0), a.get(k) or Credit(k, 0.0, 0.0, 0.0)) for k in order]
    return MonthsCompared(now.model, now.half_life_days, events, moves, _sum(before.by_touch), _sum(now.by_touch))
