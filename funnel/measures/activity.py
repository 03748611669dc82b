"""Behaviour → 商談化率: for each activity type, the opportunity rate of the leads who did it
before their first opportunity against that of every other lead (contracts/cli.md).

``leads``: leads with at least one *counted* event of the type (all events of a lead that
never converted; only those up to and including its first opportunity's created day if it
did); ``converted``: those of them with an opportunity; ``rate_without``: the rate of all other
leads of the MA export; ``lift`` = rate / rate_without (None when rate_without is 0 or there
is no other lead).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import duckdb

from funnel.config import DATA_DIR, setting
from funnel.measures.metrics import OpportunityRate, ratio
from funnel.sql import activity as q
from funnel.sql import rows


@dataclass(frozen=True)
class Behaviour(OpportunityRate):
    """One activity type: who did it before converting, and how they converted."""

    activity: str | None
    leads: int
    converted: int
    leads_without: int
    converted_without: int

    @property
    def rate_without(self) -> float | None:
        return ratio(self.converted_without, self.leads_without)

    @property
    def lift(self) -> float | None:
        without = self.rate_without
        return self.rate / without if without else None

    def to_json(self) -> dict[str, object]:
        lo, hi = self.ci
        return {"activity": self.activity, "leads": self.leads, "converted": self.converted,
                "opportunity_rate": self.rate, "ci_low": lo, "ci_high": hi,
                "rate_without": self.rate_without, "lift": self.lift}


BEHAVIOUR_GROUPS = q.BEHAVIOUR_GROUPS


def behaviour(con: duckdb.DuckDBPyConnection, by: str = "activity") -> list[Behaviour]:
    """One entry per activity type (as exported, trimmed), or per campaign with ``by="campaign"``
    (``Behaviour.activity`` then holds the campaign), most leads first."""
    return [Behaviour(a, int(n), int(c), int(nw), int(cw)) for a, n, c, nw, cw in rows(con, q.behaviour(by))]


@lru_cache(maxsize=1)
def passive_words() -> tuple[str, ...]:
    """Words of the activity types that are no action of the lead's own choosing (an email
    opened, often by a mail client's preview): ``data/activity.toml``, where each has its
    reason and source."""
    with (DATA_DIR / "activity.toml").open("rb") as fh:
        return tuple(str(p["word"]) for p in tomllib.load(fh)["passive"])


def is_passive(activity: str | None, passive: Sequence[str] | None = None) -> bool:
    """Whether an activity type contains a passive word (case-insensitive); the SQL of the
    hand-off list applies the same test."""
    text = (activity or "").lower()
    return any(w.lower() in text for w in (passive_words() if passive is None else passive))


# -- behaviour-based MQL criteria (MQL page) ------------------------------------------------------
def separating(found: Sequence[Behaviour], min_leads: int | None = None, top: int = 3) -> list[Behaviour]:
    """The actions that most separate converters, for an MQL criterion next to the score
    threshold: a deliberate action (not passive), done by at least ``min_leads`` leads
    (default: the small-sample size), whose 95% interval lies wholly above the rate of the
    leads who did not do it; the highest lift first, at most ``top``."""
    n = int(setting("small_sample_n")) if min_leads is None else int(min_leads)
    ok = [b for b in found if b.activity and not is_passive(b.activity) and b.leads >= n
          and b.lift is not None and b.rate_without is not None and b.ci[0] > b.rate_without]
    return sorted(ok, key=lambda b: (-(b.lift or 0.0), -b.leads, b.activity or ""))[:top]


# -- the lead timeline and the MQL hand-off list -------------------------------------------------


@dataclass(frozen=True)
class Person:
    lead_key: str
    name: str | None
    company: str | None
    email: str | None
    events: int
    opportunities: int


@dataclass(frozen=True)
class Event:
    lead_key: str
    day: dt.date
    activity: str | None
    campaign: str | None
    channel: str | None
    asset: str | None
    counted: bool          # on or before the lead's first opportunity's created day (or no opportunity)


@dataclass(frozen=True)
class OppMark:
    lead_key: str
    deal_name: str | None
    company: str | None
    stage: str | None
    outcome: str | None
    created: dt.date | None
    close: dt.date | None
    amount: float | None


@dataclass(frozen=True)
class Handoff:
    """A current MQL (recorded MQL, no recorded SQL, no opportunity) and its latest actions."""

    lead_key: str
    name: str | None
    company: str | None
    email: str | None
    owner: str | None
    score: float | None
    mql_day: dt.date | None
    actions_total: int                                  # meaningful events of the lead
    last_day: dt.date | None
    actions: tuple[tuple[dt.date, str | None, str | None], ...]   # (day, activity, touch), newest first


def find_people(con: duckdb.DuckDBPyConnection, text: str, limit: int = 50) -> list[Person]:
    """Leads whose name, company or address contains ``text`` (blank: every lead); leads with
    the most events first, at most ``limit``."""
    text = text.strip()
    return [Person(k, n, c, e, int(ev), int(o)) for k, n, c, e, ev, o in rows(con, q.find_people(limit), {"q": text})]


def timeline(con: duckdb.DuckDBPyConnection, lead_keys: Sequence[str]) -> tuple[list[Event], list[OppMark]]:
    """The events (time order) and linked opportunities of ``lead_keys``."""
    keys = list(lead_keys)
    if not keys:
        return [], []
    events = [Event(k, d, a, c, ch, asset, bool(counted))
              for k, d, a, c, ch, asset, counted in rows(con, q.lead_events(), {"keys": keys})]
    opps = [OppMark(k, name, company, stage, outcome, created, close, None if amount is None else float(amount))
            for k, name, company, stage, outcome, created, close, amount
            in rows(con, q.lead_opportunities(), {"keys": keys})]
    return events, opps


def handoff(con: duckdb.DuckDBPyConnection, last_n: int = 3, passive: Sequence[str] | None = None) -> list[Handoff]:
    """Current MQLs with their last ``last_n`` meaningful actions (activity types with no
    passive word, default :func:`passive_words`), most recently active first."""
    passive = passive_words() if passive is None else passive
    params: dict[str, object] = {"n": int(last_n)}
    params.update({f"p{i}": p for i, p in enumerate(passive)})
    out = []
    for k, n, c, e, o, sc, mql, total, last, acts in rows(con, q.handoff(passive), params):
        out.append(Handoff(k, n, c, e, o, sc, mql, int(total), last,
                           tuple((a["day"], a["activity"], a["label"]) for a in acts)))
    return out
