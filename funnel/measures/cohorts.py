"""Opportunity rate per month of lead creation (cohorts), with recent months flagged as still
maturing.

A lead created last week has had no time to become an opportunity, so the latest months
always look worse than they will end up. How long is "enough" is measured on the data: the
``MATURITY_QUANTILE`` (80th percentile) of the days from lead creation to the creation of its
first linked opportunity, over converted leads. With fewer than ``MIN_LAGS`` such leads the
percentile is noise and ``FALLBACK_DAYS`` is used instead. A month is still maturing when its
youngest possible lead (created on the month's last day) has had fewer days than that until
the data's latest date (the last lead or opportunity created: the export's "as of" date).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass

import duckdb

from funnel.measures.metrics import Filters, Rate, by_month
from funnel.sql import cohorts as q
from funnel.sql import rows, scalar

#: Share of converted leads that must have had time to convert before a month counts as mature.
MATURITY_QUANTILE = 0.8
#: Days used when the data cannot say (too few converted leads with both dates).
FALLBACK_DAYS = 90
#: Fewest conversion lags for the data-derived rule (an 80th percentile of a handful is noise).
MIN_LAGS = 30
#: No filter: every lead (Filters is frozen, so one shared default is safe).
ALL_LEADS = Filters()


@dataclass(frozen=True)
class Maturity:
    """The rule that decides which months are still maturing, and what it was computed from."""

    days: int                   # a month younger than this (from its last day) is maturing
    basis: str                  # "data" (percentile of observed lags) or "fallback"
    quantile: float
    lags: int                   # converted leads whose lag was measured (negatives excluded)
    negative: int               # converted leads whose opportunity predates the lead
    as_of: dt.date | None       # the data's latest date; None when nothing is dated
    measured_days: float | None = None   # the raw percentile, even when the fallback was used


def maturity(con: duckdb.DuckDBPyConnection, quantile: float = MATURITY_QUANTILE,
             min_lags: int = MIN_LAGS, fallback_days: int = FALLBACK_DAYS) -> Maturity:
    """The maturity rule of this data.

    Measured over all converted leads, not the filtered ones: it describes the sales cycle,
    and a rule that moved with every filter would make the same month mature on one view and
    maturing on the next.
    """
    cached = q.cached_lag(con, quantile)
    if cached is None:
        n, p, negative = rows(con, *q.conversion_lag(quantile))[0]
        latest = scalar(con, q.latest_date())
        q.store_lag(con, quantile, int(n), p, int(negative), latest)
    else:
        n, p, negative, latest = cached
    n, negative = int(n), int(negative)
    as_of = latest.date() if isinstance(latest, dt.datetime) else latest
    measured = None if p is None else float(p)
    if n >= min_lags and measured is not None:
        # Whole days, rounded up: a lag of 31.2 days means the 32nd day is still needed.
        return Maturity(max(1, math.ceil(measured)), "data", quantile, n, negative, as_of, measured)
    return Maturity(fallback_days, "fallback", quantile, n, negative, as_of, measured)


@dataclass(frozen=True)
class Cohort:
    """One month of lead creation: its rate and whether it is still maturing."""

    month: str | None           # "YYYY-MM"; None gathers the leads without a creation date
    rate: Rate
    age_days: int | None        # days from the month's last day to the as-of date
    maturing: bool


def month_end(month: str) -> dt.date:
    """Last day of a ``YYYY-MM`` month."""
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def is_maturing(month: str, rule: Maturity) -> tuple[int | None, bool]:
    """``(age in days, maturing?)`` of a month under ``rule``."""
    if rule.as_of is None:
        return None, False
    age = (rule.as_of - month_end(month)).days
    return age, age < rule.days


def cohorts(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS,
            rule: Maturity | None = None) -> tuple[list[Cohort], Maturity]:
    """Rate per month of lead creation (oldest first, undated last) and the rule applied."""
    rule = rule or maturity(con)
    out = []
    for r in by_month(con, f):
        if r.group is None:
            out.append(Cohort(None, r, None, False))
            continue
        age, maturing = is_maturing(r.group, rule)
        out.append(Cohort(r.group, r, age, maturing))
    return out, rule


def created_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """First and last lead-creation dates (the rate page's default range); None if undated."""
    lo, hi = rows(con, q.created_bounds())[0]
    if lo is None or hi is None:
        return None
    return lo.date(), hi.date()
