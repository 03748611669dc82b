"""The period of a time axis — month, quarter or year — chosen from the data's span so that no
chart has more than ``chart_max_bars`` bars (setting), and monthly results summed into it.

A real export runs for years (the Salesforce + Pardot org: leads 2013–2021, close dates to
2030): 100 monthly columns cannot be read. Measures are kept monthly (the SQL groups by month
once); a coarser period is the sum of its months, which is exact for counts and rates built
from counts (leads, converted, lost deals per category).

Period labels: ``2021-07`` (month), ``2021-Q3`` (quarter), ``2021`` (year).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence

from funnel.config import setting
from funnel.measures.cohorts import Cohort
from funnel.measures.loss import BreakdownRow
from funnel.measures.metrics import Rate

GRAINS: tuple[str, ...] = ("month", "quarter", "year")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def months_spanned(first: dt.date, last: dt.date) -> int:
    """Calendar months from ``first``'s month to ``last``'s, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def bars(first: dt.date, last: dt.date, grain: str) -> int:
    """How many periods of ``grain`` the span covers."""
    if grain == "month":
        return months_spanned(first, last)
    if grain == "quarter":
        return (last.year - first.year) * 4 + (last.month - 1) // 3 - (first.month - 1) // 3 + 1
    return last.year - first.year + 1


def choose_grain(first: dt.date | None, last: dt.date | None, max_bars: int | None = None) -> str:
    """The finest period whose bars over ``first``..``last`` fit in ``max_bars`` (setting
    ``chart_max_bars``); year when even years do not fit, month when there are no dates."""
    if first is None or last is None:
        return "month"
    first, last = min(first, last), max(first, last)
    limit = int(setting("chart_max_bars")) if max_bars is None else max_bars
    return next((g for g in GRAINS if bars(first, last, g) <= limit), "year")


def grain_of(label: str) -> str:
    """The grain a period label is written in (ValueError for anything else)."""
    for grain, pattern in (("month", _MONTH), ("quarter", _QUARTER), ("year", _YEAR)):
        if pattern.match(label):
            return grain
    raise ValueError(f"not a period label: {label!r}")


def period_of(month: str, grain: str) -> str:
    """The label of the ``grain`` period holding the ``YYYY-MM`` month."""
    found = _MONTH.match(month)
    if found is None:
        raise ValueError(f"not a month: {month!r}")
    year, mon = int(found.group(1)), int(found.group(2))
    if grain == "month":
        return month
    if grain == "quarter":
        return f"{year}-Q{(mon - 1) // 3 + 1}"
    if grain == "year":
        return str(year)
    raise ValueError(f"grain must be one of {GRAINS}")


def period_end(label: str) -> dt.date:
    """Last day of a period."""
    if found := _MONTH.match(label):
        year, mon = int(found.group(1)), int(found.group(2))
    elif found := _QUARTER.match(label):
        year, mon = int(found.group(1)), int(found.group(2)) * 3
    elif found := _YEAR.match(label):
        year, mon = int(found.group(1)), 12
    else:
        raise ValueError(f"not a period label: {label!r}")
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def month_bounds(months: Iterable[str | None]) -> tuple[dt.date, dt.date] | None:
    """First and last day covered by ``YYYY-MM`` labels (None: no dated month)."""
    dated = sorted(m for m in months if m)
    if not dated:
        return None
    first = dt.date(int(dated[0][:4]), int(dated[0][5:7]), 1)
    return first, period_end(dated[-1])


def grain_for_months(months: Iterable[str | None], max_bars: int | None = None) -> str:
    """:func:`choose_grain` for the span of some ``YYYY-MM`` labels."""
    span = month_bounds(months)
    return choose_grain(*span, max_bars=max_bars) if span else "month"


def cohorts_by(cohorts: Sequence[Cohort], grain: str) -> list[Cohort]:
    """Monthly cohorts summed into ``grain`` periods, oldest first, undated last.

    A period is still maturing when any of its months is (its youngest month is the one that
    decides, as for a month); its age is its youngest month's.
    """
    if grain == "month":
        return list(cohorts)
    grouped: dict[str, list[Cohort]] = {}
    undated = [c for c in cohorts if c.month is None]
    for c in cohorts:
        if c.month is not None:
            grouped.setdefault(period_of(c.month, grain), []).append(c)
    out = []
    for label in sorted(grouped):
        items = grouped[label]
        rate = Rate(label, sum(c.rate.leads for c in items), sum(c.rate.converted for c in items),
                    sum(c.rate.won for c in items))
        ages = [c.age_days for c in items if c.age_days is not None]
        out.append(Cohort(label, rate, min(ages) if ages else None, any(c.maturing for c in items)))
    return out + undated


def breakdown_by(rows: Sequence[BreakdownRow], grain: str) -> list[BreakdownRow]:
    """Monthly loss breakdown rows (group ``YYYY-MM``) summed into ``grain`` periods, oldest
    first; rows without a month (undated) kept last as they are."""
    if grain == "month":
        return list(rows)
    grouped: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.kind != "value" or r.group is None:
            continue
        counts = grouped.setdefault(period_of(r.group, grain), {})
        for cat, n in r.counts.items():
            counts[cat] = counts.get(cat, 0) + n
    dated = [BreakdownRow(label, "value", grouped[label]) for label in sorted(grouped)]
    return dated + [r for r in rows if r.kind != "value" or r.group is None]


def sum_by(values: Mapping[str, float], grain: str) -> dict[str, float]:
    """A monthly series (``YYYY-MM`` → number) summed into ``grain`` periods, oldest first."""
    out: dict[str, float] = {}
    for month in sorted(values):
        label = period_of(month, grain)
        out[label] = out.get(label, 0) + values[month]
    return out


def label_every(n_bars: int, max_labels: int | None = None) -> int:
    """Label every k-th bar of a time axis so at most ``max_labels`` (setting
    ``chart_max_axis_labels``) labels show."""
    limit = int(setting("chart_max_axis_labels")) if max_labels is None else max_labels
    return max(1, math.ceil(n_bars / limit))
