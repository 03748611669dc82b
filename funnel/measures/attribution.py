"""Multi-touch attribution of opportunities, won deals and won amount to the touches (campaign,
else channel, else activity type) of the leads linked to them (contracts/cli.md).

Each opportunity gives credit 1, split by the model: ``first``, ``last``, ``linear``,
``position`` (U-shaped: 1; ½ + ½; 0.4 + 0.2 shared + 0.4) or ``time_decay`` (weights
2^(−days / half-life), scaled to sum 1). Opportunities with no linked lead credit ``(no lead)``
and linked ones without a touch ``(no touch)``, so the credits sum to the opportunities and
the won credits to the won deals.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from funnel.config import setting
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
                half_life: float | None = None) -> Attribution:
    """Credits by touch under ``model`` (default ``position``); ``half_life`` in days for
    ``time_decay`` (default from settings: 7)."""
    model = model or str(setting("attribution_model"))
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    hl = default_half_life() if half_life is None else float(half_life)
    if not hl > 0:
        raise ValueError("half-life must be a positive number of days")
    sql, params = q.attribution(model, hl)
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
