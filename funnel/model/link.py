"""Choosing how the two sides link: email by default, else a pair of ID columns.

When an export has no email (a Salesforce lead export often has none; Olist has only
``mql_id``), the engine looks for column pairs whose values overlap and suggests them; the
app lists the suggestions and the CLI uses the best one when it is unambiguous, saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Protocol

import duckdb

from funnel.config import setting
from funnel.errors import MappingError, NoKeyColumnError
from funnel.ingest.reader import LoadedTable, Notice
from funnel.model.mapping import ColumnProfile, Mapping
from funnel.model.rules import parse_flag
from funnel.sql import link as lk
from funnel.vocabulary import normalize_header


class LinkInputs(Protocol):
    """What choosing a link reads of a workspace: its connection, files and column profiles."""

    con: duckdb.DuckDBPyConnection

    @property
    def files(self) -> MappingABC[str, list[LoadedTable]]: ...

    def profiles(self, loaded: LoadedTable) -> dict[str, ColumnProfile]: ...


@dataclass(frozen=True)
class LinkSpec:
    """How leads meet opportunities: ``email``, or ``id`` with one column on each side."""

    kind: str = "email"
    ma_column: str | None = None
    sfa_column: str | None = None
    auto: bool = False          # chosen by the engine (no email), not by the user

    @classmethod
    def parse(cls, text: str) -> LinkSpec:
        """``MA_COLUMN=SFA_COLUMN`` as given to ``--link``."""
        if "=" not in text:
            raise MappingError(key="error.bad_link_arg", arg=text)
        a, b = text.split("=", 1)
        if not a.strip() or not b.strip():
            raise MappingError(key="error.bad_link_arg", arg=text)
        return cls("id", a.strip(), b.strip())


# "id" as a word of the (normalised, CamelCase-split) header: "Lead ID", "mql_id",
# "ConvertedOpportunityId", "顧客ID" — not "Override", "Validated" or "Paid Search".
_ID_HEADER = re.compile(r"(^|\s)(id|ids|key|no|number|code)$|(?<=[^\x00-\x7f])id$|番号|コード")


@dataclass(frozen=True)
class LinkSuggestion:
    ma_column: str
    sfa_column: str
    shared: int          # distinct values found on both sides
    ma_distinct: int
    sfa_distinct: int
    sfa_unique: bool = False   # the SFA column is (nearly) one value per row: a deal's own ID

    @property
    def ma_share(self) -> float:
        """Share of the MA column's values that exist on the SFA side."""
        return self.shared / self.ma_distinct if self.ma_distinct else 0.0

    @property
    def sfa_share(self) -> float:
        return self.shared / self.sfa_distinct if self.sfa_distinct else 0.0

    @property
    def best_share(self) -> float:
        """How fully one column's values are found in the other (1.0: a clean foreign key)."""
        return max(self.ma_share, self.sfa_share)


def _id_like(name: str, sample: tuple[str, ...]) -> bool:
    vals = [v.strip() for v in sample if v and v.strip()]
    if vals and all(parse_flag(v) is not None for v in vals):
        return False  # TRUE/FALSE, 0/1 columns share all their values but link nothing
    if _ID_HEADER.search(normalize_header(name)):
        return True
    if len(vals) < 5:
        return False
    tokens = sum(1 for v in vals if " " not in v and 6 <= len(v) <= 64 and any(ch.isdigit() for ch in v))
    return tokens / len(vals) > 0.9 and len(set(vals)) / len(vals) > 0.5


def suggest_links(ws: LinkInputs, limit: int = 5) -> list[LinkSuggestion]:
    """Pairs of ID-like columns (MA, SFA) whose values overlap, best first."""
    parts: list[tuple[str, str, str, str]] = []
    filled: dict[str, int] = {}
    for side in ("ma", "sfa"):
        for lt in ws.files[side]:
            profiles = ws.profiles(lt)
            for name, raw in zip(lt.columns, lt.raw_columns, strict=True):
                prof = profiles[name]
                if prof.non_empty and _id_like(name, prof.sample):
                    parts.append((side, name, lt.table, raw))
                    if side == "sfa":
                        filled[name] = filled.get(name, 0) + prof.non_empty
    if not parts:
        return []
    lk.create_candidate_values(ws.con, parts, 200_000)
    found = [LinkSuggestion(*r, sfa_unique=r[4] >= 0.95 * max(1, filled.get(r[1], 0)))
             for r in lk.candidate_overlaps(ws.con)]
    minimum = float(setting("id_overlap_min"))
    found = [s for s in found if s.best_share >= minimum]
    # The natural link ends on the deal's own ID (unique per opportunity) and explains most
    # of the MA values: "Converted Opportunity ID" = "Opportunity ID", "mql_id" = "mql_id".
    found.sort(key=lambda s: (-s.sfa_unique, -round(s.best_share, 2), -s.shared, s.ma_column, s.sfa_column))
    return found[:limit]


def resolve_link(ws: LinkInputs, mappings: dict[str, list[Mapping]],
                 link: LinkSpec | None) -> tuple[LinkSpec, list[Notice]]:
    """The link to build with: the user's, else email, else the one clear ID-pair suggestion."""
    if link is not None and link.kind == "id":
        return link, []
    ma_email = next((m.column("email") for m in mappings["ma"] if m.column("email")), None)
    sfa_email = next((m.column("email") for m in mappings["sfa"] if m.column("email")), None)
    if ma_email and sfa_email:
        return LinkSpec("email", ma_email, sfa_email), []
    suggestions = suggest_links(ws)
    if suggestions and suggestions[0].sfa_unique and suggestions[0].best_share >= 0.5:
        best = suggestions[0]
        spec = LinkSpec("id", best.ma_column, best.sfa_column, auto=True)
        return spec, [("notice.link_auto", {"ma": best.ma_column, "sfa": best.sfa_column,
                                            "shared": best.shared})]
    side = "ma" if not ma_email else "sfa"
    file = ws.files[side][0].report.file if ws.files[side] else None
    names = "; ".join(f"{s.ma_column}={s.sfa_column}" for s in suggestions) or None
    if names is None:
        raise NoKeyColumnError(file, key="error.no_email_for_link", suggest="-")
    raise NoKeyColumnError(file, key="error.no_email_for_link", suggest=names)
