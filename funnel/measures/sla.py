"""SLA and speed: how many days leads take to become opportunities and opportunities take to
close, by source and by owner, the share within an agreed SLA, and the open opportunities
that have been open too long.

Intervals (calendar days between two dates):

- **lead → opportunity**: over converted leads of the lead filter; from the lead's creation
  date (or its MQL date, ``basis="mql"``) to the creation date of its earliest linked
  opportunity (the MA's 商談化日 stands in when none of its opportunities has a creation
  date; how often is counted as ``fallback``). Grouped by lead source and by **lead owner**.
- **opportunity → close**: over won and lost opportunities (all of them: the lead filter does
  not apply); from the opportunity's creation date to its won date (won; its close date when
  there is no won date, counted as ``fallback``) or its close date (lost). Grouped by the
  source of the linked lead (``no_lead`` when none), by **deal owner** and by outcome.

An interval that cannot be measured is never silently dropped: it is counted under the first
reason that applies — no start date, no end date, or negative (the end before the start, e.g.
a person registered in the MA after sales had opened the deal). Negative intervals are left
out of the percentiles rather than clamped to 0: they say nothing about how long a new lead
takes.

**SLA share** = measured intervals of at most N days ÷ measured intervals (N editable).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from funnel.measures.metrics import Filters, prepare_opp_sources, wilson
from funnel.present.paging import PAGE_SIZE, Page, fetch_page, query_csv
from funnel.sql import records, rows, scalar
from funnel.sql import sla as q

#: No filter: every lead (Filters is frozen, so one shared default is safe).
ALL_LEADS = Filters()
QUANTILES = q.QUANTILES
BASES = q.BASES
#: SLA the page opens with: an opportunity within 30 days of the lead (or MQL).
DEFAULT_SLA_DAYS = 30
#: An open opportunity older than this (days since creation) is listed as stuck by default:
#: one quarter, the usual planning horizon of a B2B pipeline review.
DEFAULT_STUCK_DAYS = 90
#: Columns of a stuck-list row, in the order they are shown and downloaded.
#: What a sales manager acts on comes first (who, where, how old, how big); the rest after.
STUCK_COLUMNS: tuple[str, ...] = ("deal_name", "owner", "stage", "age_days", "amount", "close_at", "overdue",
                                  "created_at", "company", "deal_id")


@dataclass(frozen=True)
class Spread:
    """The intervals of one group: how many, which were excluded and why, percentiles, SLA."""

    group: str | None
    total: int                  # rows of the group (converted leads or closed opportunities)
    measured: int               # intervals of 0 days or more
    no_start: int
    no_end: int
    negative: int
    fallback: int               # measured with the stand-in end date (see module doc)
    quantiles: tuple[float | None, ...]   # at QUANTILES, days; None when nothing was measured
    within: int | None = None   # measured intervals <= the SLA days (None: no SLA asked)
    no_lead: bool = False       # the group of opportunities linked to no lead

    @property
    def excluded(self) -> int:
        return self.no_start + self.no_end + self.negative

    def q(self, p: float) -> float | None:
        return self.quantiles[QUANTILES.index(p)]

    @property
    def median(self) -> float | None:
        return self.q(0.5)

    @property
    def within_share(self) -> float | None:
        return None if self.within is None or not self.measured else self.within / self.measured

    @property
    def within_ci(self) -> tuple[float, float] | None:
        return None if self.within is None or not self.measured else wilson(self.within, self.measured)


def _spreads(con: duckdb.DuckDBPyConnection, sql_params: tuple[str, dict[str, Any]]) -> list[Spread]:
    out = []
    for r in records(con, *sql_params):
        qs = r["q"] or [None] * len(QUANTILES)
        out.append(Spread(r["grp"], int(r["total"]), int(r["measured"]), int(r["no_start"]), int(r["no_end"]),
                          int(r["negative"]), int(r["fallback"]), tuple(None if v is None else float(v) for v in qs),
                          None if r["within"] is None else int(r["within"]), bool(r["no_lead_grp"])))
    return out


def lead_to_opp(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS, *, basis: str = "created",
                by: str | None = None, sla_days: int | None = DEFAULT_SLA_DAYS) -> list[Spread]:
    """Days from lead creation (or MQL date) to the first opportunity, overall (one Spread)
    or per ``source`` / ``owner`` (lead owner), most measured first."""
    if by not in (None, "source", "owner"):
        raise ValueError("by must be None, source or owner")
    return _spreads(con, q.lead_spread(f.where(), basis, f.touch, by, sla_days))


def opp_to_close(con: duckdb.DuckDBPyConnection, *, by: str | None = None, touch: str = "first",
                 sla_days: int | None = None) -> list[Spread]:
    """Days from opportunity creation to close (won or lost), overall or per ``source`` (of
    the linked lead), ``owner`` (deal owner) or ``outcome``."""
    if by not in (None, "source", "owner", "outcome"):
        raise ValueError("by must be None, source, owner or outcome")
    prepare_opp_sources(con)
    return _spreads(con, q.close_spread(touch, by, sla_days))


def has_mql_dates(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS) -> bool:
    return bool(scalar(con, *q.mql_dates(f.where())))


def as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The data's latest creation date (lead or opportunity): the default "as of" date of the
    stuck list (today's date would make every deal of an old export look stuck)."""
    latest = scalar(con, q.latest_date())
    return latest.date() if isinstance(latest, dt.datetime) else latest


@dataclass(frozen=True)
class Stuck(Page[dict[str, Any]]):
    """One page of the open opportunities older than ``days`` on ``as_of`` (``total``: the stuck
    ones), and the counts the list cannot include."""

    as_of: dt.date
    days: int
    open: int                   # every open opportunity
    amount: float               # the stuck ones' amount (blank amounts count 0 and are counted below)
    no_amount: int
    no_created: int             # open, no creation date: no age, not listed
    after_as_of: int            # open, created after the as-of date: no age yet, not listed


def stuck(con: duckdb.DuckDBPyConnection, as_of_date: dt.date, days: int, *, page: int = 1,
          page_size: int = PAGE_SIZE) -> Stuck:
    """Page ``page`` (1-based, clamped) of the open opportunities older than ``days`` days
    (days since creation, on ``as_of_date``), oldest first."""
    n_open, total, amount, no_amount, no_created, after = rows(con, *q.stuck_summary(as_of_date, days))[0]
    shown = fetch_page(int(total), page, page_size, lambda limit, offset: [
        {c: r[c] for c in STUCK_COLUMNS} for r in records(con, *q.stuck_page(as_of_date, days, limit, offset))])
    return Stuck(shown.items, shown.total, shown.page, shown.page_size, as_of=as_of_date, days=days,
                 open=int(n_open), amount=float(amount or 0), no_amount=int(no_amount),
                 no_created=int(no_created), after_as_of=int(after or 0))


def stuck_csv(con: duckdb.DuckDBPyConnection, as_of_date: dt.date, days: int, headers: Sequence[str],
              mask: bool = False) -> bytes:
    """Every stuck opportunity as Excel-safe CSV bytes, same columns as the list, for a
    download button (see :func:`funnel.present.paging.query_csv`); ``mask``: personal data masked."""
    return query_csv(con, *q.stuck_page(as_of_date, days, None), STUCK_COLUMNS, headers, mask=mask)
