"""Activity exports (行動履歴) turned into events attached to the leads (contracts/cli.md,
"Behaviour history").

An activity file is read like an MA or SFA export and mapped onto the fields of the
``activity`` input (``data/fields.toml``): a person key (email, or a record ID the MA export
also has), a date, an activity type, and where present a campaign, a channel and an asset.
It is built after the leads and opportunities, because an event only means something once it
is attached to a lead: :func:`build_activity` stages every row (``activity_rows``), keeps the
usable ones as ``events`` (one per row with a key and a date, linked to a lead or not) and
counts every row, so none is dropped unseen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from funnel.errors import MappingError
from funnel.ingest.reader import LoadedTable
from funnel.model.mapping import Mapping
from funnel.sql import activity as q
from funnel.sql.normalize import best_date_format, detect_date_order
from funnel.vocabulary import ACTIVITY


@dataclass(frozen=True)
class ActivityCounts:
    """Every activity row accounted for: ``rows`` = ``events`` + ``rows_without_key``."""

    rows: int
    events: int
    rows_without_key: int
    events_unlinked: int
    leads_with_events: int


def plan_file(con: duckdb.DuckDBPyConnection, index: int, lt: LoadedTable, m: Mapping) -> q.ActivityPlan:
    """How one activity file feeds ``activity_rows``: its columns, its date column and order.

    A file with a response-date column is a campaign-member list: its event date is the
    response date even where another date column is filled (a member who never responded is
    no event), so ``responded_at`` takes precedence over ``occurred_at``.
    """
    if not (m.column("email") or m.column("person_id")):
        raise MappingError(lt.report.file, key="error.activity_no_key", columns=", ".join(lt.columns[:40]))
    date_field = "responded_at" if m.column("responded_at") else "occurred_at"
    if not m.column(date_field):
        raise MappingError(lt.report.file, key="error.activity_no_date", columns=", ".join(lt.columns[:40]))
    raw = dict(zip(lt.columns, lt.raw_columns, strict=True))
    cols = {f: raw[c] for f, c in m.columns.items()}
    date_col = cols[date_field]
    order, _ambiguous = detect_date_order(con, lt.table, date_col)
    formats = best_date_format(con, lt.table, date_col, order)
    fields = {f: cols.get(f) for f in ("email", "person_id", "activity_type", "campaign", "channel", "asset")}
    return q.ActivityPlan(index, lt.table, fields, date_col, order, tuple(formats))


def build_activity(con: duckdb.DuckDBPyConnection, files: Sequence[LoadedTable],
                   mappings: Sequence[Mapping]) -> ActivityCounts:
    """Stage, link and count the activity files (stacked in the order given) against the
    ``ma_rows``/``leads`` of the current build; creates ``events``."""
    plans = [plan_file(con, i, lt, m) for i, (lt, m) in enumerate(zip(files, mappings, strict=True))]
    q.create_activity_rows(con, plans)
    q.create_events(con)
    rows_, events, unlinked, leads = q.activity_counts(con)
    return ActivityCounts(rows_, events, rows_ - events, unlinked, leads)


__all__ = ["ACTIVITY", "ActivityCounts", "build_activity", "plan_file"]
