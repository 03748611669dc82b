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
import tomllib
import unicodedata
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from funnel.config import setting
from funnel.errors import MappingError

SIDES: tuple[str, ...] = ("ma", "sfa")
_DATA = Path(__file__).parent / "data" / "fields.toml"

# Object words that may prefix a field label on each side ("商談 所有者", "Lead Owner").
_OBJECT_PREFIXES = {
    "ma": ("lead", "contact", "prospect", "person", "リード", "取引先責任者", "見込み客", "コンタクト",
           "顧客", "個人", "人物"),
    "sfa": ("opportunity", "deal", "商談", "案件", "取引"),
}
_MAZRICA_SUFFIX = re.compile(r"\s*\(管理番号:\s*\d+\)\s*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\];,:\"'@]+@[^\s<>()\[\];,:\"'@]+\.[^\s<>()\[\];,:\"'@]+")


@dataclass(frozen=True)
class FieldSpec:
    side: str
    name: str
    kind: str
    synonyms: tuple[str, ...]
    prefix: bool = True


@lru_cache(maxsize=1)
def _specs() -> dict[str, dict[str, FieldSpec]]:
    with _DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    return {side: {name: FieldSpec(side, name, spec["kind"], tuple(spec["synonyms"]),
                                   bool(spec.get("prefix", True)))
                   for name, spec in raw[side].items()} for side in SIDES}


def fields(side: str) -> dict[str, FieldSpec]:
    """The canonical fields of ``side`` (``ma`` or ``sfa``), in declaration order."""
    return _specs()[side]


def normalize_header(header: str) -> str:
    """The comparable form of a header: NFKC, case-folded, words separated by one space."""
    h = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "").strip().strip("'\"`")
    h = _MAZRICA_SUFFIX.sub("", h)
    h = re.sub(r"__c$", "", h)
    if " " not in h and re.search(r"[a-z][A-Z]", h):
        h = _CAMEL.sub(" ", h)
    h = h.replace("_", " ")
    return " ".join(h.split()).casefold()


@lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, list[tuple[str, int]]]]:
    """side -> normalised synonym (and its space-free form) -> [(field, rank)]."""
    out: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for side in SIDES:
        idx: dict[str, list[tuple[str, int]]] = {}
        for spec in fields(side).values():
            for rank, syn in enumerate(spec.synonyms):
                n = normalize_header(syn)
                for key in {n, n.replace(" ", "")}:
                    idx.setdefault(key, []).append((spec.name, rank))
        out[side] = idx
    return out


def match_header(side: str, header: str) -> list[tuple[str, float]]:
    """Fields a header may name on ``side``, best first, with a score (higher is better)."""
    n = normalize_header(header)
    if not n:
        return []
    idx = _index()[side]
    specs = fields(side)
    scored: dict[str, float] = {}

    def add(key: str, base: float, via_prefix: bool = False) -> None:
        for name, rank in idx.get(key, ()):
            if via_prefix and not specs[name].prefix:
                continue
            score = base - rank * 0.1
            if score > scored.get(name, -1):
                scored[name] = score

    add(n, 100)
    add(n.replace(" ", ""), 95)
    for rest in _without_prefix(side, n):
        add(rest, 80, via_prefix=True)
        add(rest.replace(" ", ""), 78, via_prefix=True)
    for name, base in _families(n).get(side, []):
        scored.setdefault(name, base)
    return sorted(scored.items(), key=lambda kv: -kv[1])


def _without_prefix(side: str, n: str) -> list[str]:
    out = []
    if ":" in n:
        out.append(n.split(":", 1)[1].strip())
    for p in _OBJECT_PREFIXES[side]:
        if n.startswith(p) and len(n) > len(p):
            rest = n[len(p):].strip()
            if rest and (n[len(p)] == " " or not p.isascii()):
                out.append(rest)
    return out


_DATE_ENTERED = re.compile(r"^date entered [\"'“”]?(.+?)[\"'“”]?$")
_BECAME = re.compile(r"^became an? (.+) date$")


def _families(n: str) -> dict[str, list[tuple[str, float]]]:
    """Regex families: HubSpot ``Date entered "MQL (…)"``, ``Became a … Date`` (§7 rule 4)."""
    m = _DATE_ENTERED.match(n) or _BECAME.match(n)
    if not m:
        return {}
    stage = m.group(1)
    if "marketing qualified" in stage or stage.startswith("mql"):
        return {"ma": [("mql_date", 70)]}
    if "sales qualified" in stage or stage.startswith("sql"):
        return {"ma": [("sql_date", 70)]}
    if stage.startswith("opportunity"):
        return {"ma": [("opp_date", 70)]}
    return {}


def header_hits(cells: list[str]) -> int:
    """How many cells of a row are known header names (of either side): finds the header row."""
    return sum(1 for c in cells if c and (match_header("ma", c) or match_header("sfa", c)))


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
