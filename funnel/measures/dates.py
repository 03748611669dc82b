"""Implausible dates, flagged as a data-quality measure rather than sorted first: a date
before the setting ``date_floor_year`` (1990: no CRM export holds earlier real records; 1900
and 1970 are placeholders) or more than ``date_future_years`` after the data's newest
creation date (a close date typed as 2030 for 2020)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from funnel.config import setting
from funnel.sql import dates as q
from funnel.sql import rows


@dataclass(frozen=True)
class DateCheck:
    """One date column: dated rows, how many are implausible on each side, and the range."""

    table: str                  # leads | opps
    column: str                 # created_at | close_at
    dated: int
    too_old: int
    too_new: int
    newest: dt.datetime | None  # the data's newest creation date (the "as of")
    first: dt.datetime | None
    last: dt.datetime | None

    @property
    def implausible(self) -> int:
        return self.too_old + self.too_new


def implausible_dates(con: duckdb.DuckDBPyConnection, floor_year: int | None = None,
                      future_years: int | None = None) -> list[DateCheck]:
    """The check for every date a page sorts or groups by (lead created, deal created, close)."""
    floor_year = int(setting("date_floor_year")) if floor_year is None else floor_year
    future_years = int(setting("date_future_years")) if future_years is None else future_years
    sql, params = q.implausible(floor_year, future_years)
    found = [DateCheck(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5], r[6], r[7]) for r in rows(con, sql, params)]
    # UNION ALL keeps no order: the fields in the order checked (leads, then deals).
    return sorted(found, key=lambda c: q.CHECKED.index((c.table, c.column)))
