"""Map export columns onto the canonical fields of each side.

Headers are localised to the exporting user's UI language and drift over time
(export_formats.md §1.4), so matching is tolerant: NFKC, case, spaces, CamelCase API names,
object prefixes (``商談 所有者``). A header that names a field but holds nothing usable is
passed over (a real Salesforce lead export has an all-blank ``Secondary Email``), and an
email column with no recognisable header is found by its content (HubSpot's
``Associated Contact`` = ``Name (email);Name (email)``). Every choice can be overridden.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field

from funnel.config import setting
from funnel.errors import MappingError
from funnel.vocabulary import fields, match_header, normalize_header

_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\];,:\"'@]+@[^\s<>()\[\];,:\"'@]+\.[^\s<>()\[\];,:\"'@]+")


def emails_in(text: str) -> list[str]:
    """Email-looking tokens in a cell (content detection only; SQL does the real parsing)."""
    return _EMAIL_IN_TEXT.findall(unicodedata.normalize("NFKC", text)) if "@" in text or "＠" in text else []


@dataclass(frozen=True)
class ColumnProfile:
    """What a column holds: its non-empty count over the whole table and a sample of values."""

    non_empty: int
    sample: tuple[str, ...] = ()

    @property
    def email_share(self) -> float:
        vals = [v for v in self.sample if v and v.strip()]
        if not vals:
            return 0.0
        return sum(1 for v in vals if emails_in(v)) / len(vals)


@dataclass(frozen=True)
class Choice:
    """How one field got its column: ``header``, ``content``, ``user``, or ``none``."""

    field: str
    column: str | None
    how: str
    passed_over: tuple[str, ...] = ()   # matching headers skipped because they hold nothing


@dataclass(frozen=True)
class Mapping:
    side: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> dict[str, str]:
        """field → column for every mapped field."""
        return {c.field: c.column for c in self.choices if c.column is not None}

    def column(self, name: str) -> str | None:
        return self.columns.get(name)


def _usable(kind: str, prof: ColumnProfile | None) -> bool:
    if prof is None or prof.non_empty == 0:
        return False
    if kind == "email":
        return prof.email_share > 0
    return True


def detect_mapping(side: str, columns: list[str], profiles: MappingABC[str, ColumnProfile],
                   overrides: MappingABC[str, str | None] | None = None) -> Mapping:
    """Choose a column for each field of ``side``.

    Args:
        columns: the table's header names, in order.
        profiles: per column, its non-empty count and a sample (see :class:`ColumnProfile`).
        overrides: field → column (or None to leave the field unmapped) chosen by the user.
    Raises:
        MappingError: an override names an unknown field or a column the table lacks.
    """
    specs = fields(side)
    overrides = dict(overrides or {})
    for fname, col in overrides.items():
        if fname not in specs:
            raise MappingError(key="error.unknown_field", side=side, field=fname,
                               fields=", ".join(specs))
        if col is not None and col not in columns:
            raise MappingError(key="error.unknown_column", side=side, column=col,
                               columns=", ".join(columns[:40]))
    taken = {c for c in overrides.values() if c}
    candidates: list[tuple[float, int, str, str]] = []
    for pos, col in enumerate(columns):
        for fname, score in match_header(side, col):
            candidates.append((score, -pos, fname, col))
    candidates.sort(reverse=True)
    chosen: dict[str, Choice] = {f: Choice(f, c, "user") for f, c in overrides.items()}
    passed: dict[str, list[str]] = {}
    for pass_ in ("usable", "any"):
        for _score, _pos, fname, col in candidates:
            if fname in chosen or col in taken:
                continue
            spec = specs[fname]
            ok = _usable(spec.kind, profiles.get(col))
            if pass_ == "usable" and not ok:
                if col not in passed.setdefault(fname, []):
                    passed[fname].append(col)
                continue
            if pass_ == "any" and spec.kind in ("email", "id"):
                continue  # an empty identity column is worse than none: fall back instead
            chosen[fname] = Choice(fname, col, "header", tuple(passed.get(fname, ())))
            taken.add(col)
    if "email" not in chosen:
        found = _email_by_content(columns, profiles, taken)
        if found:
            chosen["email"] = Choice("email", found, "content", tuple(passed.get("email", ())))
    ordered = tuple(chosen.get(f) or Choice(f, None, "none", tuple(passed.get(f, ()))) for f in specs)
    return Mapping(side, ordered)


def _email_by_content(columns: list[str], profiles: MappingABC[str, ColumnProfile],
                      taken: set[str]) -> str | None:
    best, best_share = None, float(setting("email_content_share"))
    for col in columns:
        prof = profiles.get(col)
        if col in taken or prof is None or prof.non_empty == 0:
            continue
        share = prof.email_share
        if share >= best_share and (best is None or share > best_share):
            best, best_share = col, share
    return best


def resolve_column(columns: list[str], wanted: str) -> str | None:
    """The table column a user meant: exact name first, then the same normalised header."""
    if wanted in columns:
        return wanted
    n = normalize_header(wanted)
    for col in columns:
        if normalize_header(col) == n:
            return col
    return None
