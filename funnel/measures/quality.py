"""The match report: how well the MA and SFA exports linked, and why some records did not.

- **Match rate** = opportunities linked to at least one lead ÷ opportunities, overall, per
  deal-side (SFA) source and per source of the linked leads.
- **Unlinked opportunities** (sales-sourced deals, or addresses the MA export does not hold)
  and **leads never linked**, each listable page by page.
- **Duplicate people**: leads merged from several MA rows, with the cells as written.
- **Email normalisation**: per side, how many cells each rule of ``contracts/cli.md``
  changed (each rule counted on its own, so one cell can count under several), and the cells
  left without a valid address, by reason.

Every function reads a built workspace's tables; nothing here re-reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from funnel.measures.metrics import ratio
from funnel.model.workspace import Build
from funnel.sql import quality as q
from funnel.sql import rows
from funnel.sql.metrics import source_column

RULES = q.RULES
INVALID_REASONS = q.INVALID_REASONS
UNLINKED_REASONS: tuple[str, ...] = ("no_value", "invalid", "not_found")


@dataclass(frozen=True)
class GroupMatch:
    """Opportunities of one group and how many of them are linked to a lead."""

    group: str | None
    opportunities: int
    linked: int

    @property
    def unlinked(self) -> int:
        return self.opportunities - self.linked

    @property
    def rate(self) -> float | None:
        return ratio(self.linked, self.opportunities)


@dataclass(frozen=True)
class LeadSourceMatch:
    """Leads of one source, how many are linked, and the opportunities attributed to it."""

    source: str | None
    leads: int
    leads_linked: int
    opportunities: int

    @property
    def lead_rate(self) -> float | None:
        return ratio(self.leads_linked, self.leads)


def match_by_deal_source(con: duckdb.DuckDBPyConnection) -> list[GroupMatch]:
    """Match rate per SFA lead-source value (blank is None), most opportunities first."""
    return [GroupMatch(g, int(n), int(k)) for g, n, k in rows(con, q.match_by_deal_source())]


def match_by_lead_source(con: duckdb.DuckDBPyConnection, touch: str = "first") -> list[LeadSourceMatch]:
    """Per MA source (first/last touch): leads, linked leads, opportunities attributed.

    An opportunity linked to leads of several sources counts once, for the smallest source
    value, so the opportunities of all sources add up to the linked opportunities.
    """
    return [LeadSourceMatch(s, int(n), int(k), int(o))
            for s, n, k, o in rows(con, q.match_by_lead_source(source_column(touch)))]


def deal_source_mapped(build: Build) -> bool:
    """True when an SFA file has a lead-source column (the deal-side view needs one)."""
    return any(m.column("source") for m in build.mappings.get("sfa", []))


def email_mapped(build: Build, side: str) -> bool:
    return any(m.column("email") for m in build.mappings.get(side, []))


def _link_column(build: Build) -> str:
    return "email_raw" if build.link.kind == "email" else "link_raw"


def unlinked_opportunities(con: duckdb.DuckDBPyConnection, build: Build, limit: int | None = None,
                           offset: int = 0) -> list[dict[str, Any]]:
    """Opportunities with no lead, newest first, each with ``reason``:
    ``no_value`` (no address / blank ID), ``invalid`` (no valid address), ``not_found``
    (a value the MA export does not hold)."""
    return q.unlinked_opportunities(con, _link_column(build), limit, offset)


def unlinked_reasons(con: duckdb.DuckDBPyConnection, build: Build) -> dict[str, int]:
    """Unlinked opportunities per reason (every reason present, zero when none)."""
    found = q.unlinked_reason_counts(con, _link_column(build))
    return {r: found.get(r, 0) for r in UNLINKED_REASONS}


def unlinked_leads(con: duckdb.DuckDBPyConnection, touch: str = "first", limit: int | None = None,
                   offset: int = 0) -> list[dict[str, Any]]:
    """Leads never linked to an opportunity, oldest first."""
    return q.unlinked_leads(con, source_column(touch), limit, offset)


def count_unlinked_leads(con: duckdb.DuckDBPyConnection) -> int:
    return q.count_unlinked_leads(con)


@dataclass(frozen=True)
class Duplicates:
    leads: int
    duplicated: int       # leads merged from two or more MA rows
    extra_rows: int       # rows beyond the first of each lead
    written_differently: int  # duplicated leads whose cells differ (case, width, spaces …)

    @property
    def share(self) -> float | None:
        return ratio(self.duplicated, self.leads)


def duplicates(con: duckdb.DuckDBPyConnection) -> Duplicates:
    return Duplicates(*q.duplicate_summary(con))


def duplicate_people(con: duckdb.DuckDBPyConnection, touch: str = "first", limit: int | None = None,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Leads merged from several rows, most rows first, with ``variants`` (the email cells as
    written, first seen first) and the ``sources`` of the rows."""
    return q.duplicate_people(con, source_column(touch), limit, offset)


@dataclass(frozen=True)
class EmailRules:
    """What normalisation did to one side's email cells (one cell per data row)."""

    side: str
    cells: int
    blank: int
    valid: int            # cells with at least one valid address
    invalid: int          # non-blank cells without a valid address
    unchanged: int        # valid cells no rule changed
    changed: dict[str, int] = field(default_factory=dict)        # rule → cells
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    partly_invalid: int = 0   # valid cells that also held an invalid part (dropped)
    examples: dict[str, str | None] = field(default_factory=dict)   # rule / reason → a raw cell

    @property
    def without_address(self) -> int:
        return self.blank + self.invalid


def email_rules(con: duckdb.DuckDBPyConnection, side: str) -> EmailRules:
    """Per rule, the cells of ``side`` it changed, and the cells left without an address."""
    r = q.rule_counts(con, side)
    names = [*RULES, *INVALID_REASONS, "partly_invalid"]
    return EmailRules(
        side=side, cells=int(r["cells"]), blank=int(r["blank"]), valid=int(r["valid"]),
        invalid=int(r["invalid"]), unchanged=int(r["unchanged"]),
        changed={k: int(r[k]) for k in RULES},
        invalid_by_reason={k: int(r[k]) for k in INVALID_REASONS},
        partly_invalid=int(r["partly_invalid"]),
        examples={k: r[f"ex_{k}"] for k in names})


def invalid_emails(con: duckdb.DuckDBPyConnection, side: str, limit: int | None = None,
                   offset: int = 0) -> list[tuple[int, int, str, str]]:
    """``(file index, row, cell, reason)`` of non-blank cells without a valid address.

    ``row`` is 1-based within the file's data rows, as in the row accounting.
    """
    return [(int(f), int(r) + 1, str(raw), str(reason)) for f, r, raw, reason in
            q.invalid_cells(con, side, limit, offset)]
