"""Row accounting: where every input row went, and the rows themselves to show or download.

For each side: rows in the files = rows set aside (titles excluded: footers, totals, …) + data
rows; data rows = rows merged into leads/opportunities + rows without a key. Nothing is lost
silently, and every group can be listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from funnel.model.workspace import Workspace
from funnel.sql import activity as aq
from funnel.sql import ingest
from funnel.sql import staging as st


@dataclass(frozen=True)
class SideAccount:
    side: str
    file_rows: int        # rows below the header in the files (data + set aside)
    set_aside: int        # footers, totals, repeated headers, blank and malformed rows
    data_rows: int
    keyed_rows: int       # data rows merged into leads / opportunities
    without_key: int
    keys: int             # leads / opportunities

    @property
    def balanced(self) -> bool:
        return (self.file_rows == self.set_aside + self.data_rows
                and self.data_rows == self.keyed_rows + self.without_key)


def account(ws: Workspace, side: str) -> SideAccount:
    """The row accounting of one side of a built workspace."""
    if ws.build_result is None:
        raise RuntimeError("build the workspace first")
    c = ws.build_result.counts[side]
    set_aside = sum(lt.report.rows_dropped for lt in ws.files[side])
    read = sum(lt.report.rows_read for lt in ws.files[side])
    return SideAccount(side, read + set_aside, set_aside, c.rows, c.rows - c.rows_without_key,
                       c.rows_without_key, c.keys)


@dataclass(frozen=True)
class ActivityAccount:
    """Where the activity rows went: file rows = set aside + data rows; data rows = events +
    rows without a key or date; events = attached to a lead + of no lead."""

    file_rows: int
    set_aside: int
    data_rows: int
    events: int
    rows_without_key: int
    events_unlinked: int
    leads_with_events: int

    @property
    def balanced(self) -> bool:
        return (self.file_rows == self.set_aside + self.data_rows
                and self.data_rows == self.events + self.rows_without_key
                and 0 <= self.events_unlinked <= self.events)


def activity_account(ws: Workspace) -> ActivityAccount | None:
    """The row accounting of the activity files of a built workspace (None: none loaded)."""
    b = ws.build_result
    if b is None:
        raise RuntimeError("build the workspace first")
    a = b.activity
    if a is None:
        return None
    set_aside = sum(lt.report.rows_dropped for lt in ws.files["activity"])
    read = sum(lt.report.rows_read for lt in ws.files["activity"])
    return ActivityAccount(read + set_aside, set_aside, a.rows, a.events, a.rows_without_key, a.events_unlinked,
                           a.leads_with_events)


def set_aside_rows(ws: Workspace, side: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Every row set aside while reading ``side``'s files, with the reason, in file order."""
    out: list[dict[str, Any]] = []
    for lt in ws.files[side]:
        for src, pos, reason, text in ingest.dropped_rows(ws.con, lt.table, lt.raw_columns, limit):
            out.append({"file": lt.report.file, "where": ("line" if src else "row"), "position": int(pos),
                        "reason": reason, "text": text})
    return out[:limit] if limit else out


def rows_without_key(ws: Workspace, side: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Data rows that have no key (no valid email, or a blank ID), with what they held."""
    b = ws.build_result
    if b is None:
        raise RuntimeError("build the workspace first")
    if side == "activity":
        return [{"file": ws.files[side][int(f)].report.file, "row": int(r) + 1, "value": value, "reason": reason}
                for f, r, value, reason in aq.rows_without_key(ws.con, limit)]
    email_link = b.link.kind == "email"
    out = []
    for f, r, email_raw in st.unkeyed_rows(ws.con, side, limit):
        lt = ws.files[side][int(f)]
        if side == "ma" and email_link:
            reason = "email_blank" if not (email_raw or "").strip() else "email_invalid"
        else:
            reason = "id_blank"
        out.append({"file": lt.report.file, "row": int(r) + 1, "value": email_raw, "reason": reason})
    return out


def preview(ws: Workspace, side: str, index: int = 0, limit: int = 20) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Header names and the first data rows of one file, as read."""
    lt = ws.files[side][index]
    return lt.columns, ingest.head_rows(ws.con, lt.table, lt.raw_columns, limit)
