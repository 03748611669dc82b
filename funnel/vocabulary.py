"""What the data files say about exports, loaded once: the header synonyms of each canonical
field (``data/fields.toml``) and the value vocabularies (``data/vocabulary.toml``: stages,
flags, statuses, placeholders, total/footer/group rows).

Both reading (finding the header row, setting report rows aside) and mapping use them, so
they sit below both in the data path.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from funnel.config import DATA_DIR

Outcome = Literal["won", "lost", "open"]

SIDES: tuple[str, ...] = ("ma", "sfa")
# Activity exports (行動履歴) are a third kind of input: read and mapped like a side, but built
# after the leads and opportunities they attach to (funnel/model/activity.py).
ACTIVITY = "activity"
INPUTS: tuple[str, ...] = (*SIDES, ACTIVITY)
_DATA = DATA_DIR / "fields.toml"

# Object words that may prefix a field label on each side ("商談 所有者", "Lead Owner").
_OBJECT_PREFIXES = {
    "ma": ("lead", "contact", "prospect", "person", "リード", "取引先責任者", "見込み客", "コンタクト",
           "顧客", "個人", "人物"),
    "sfa": ("opportunity", "deal", "商談", "案件", "取引"),
    ACTIVITY: ("member", "activity", "event", "メンバー", "アクティビティ", "行動"),
}
_MAZRICA_SUFFIX = re.compile(r"\s*\(管理番号:\s*\d+\)\s*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


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
                   for name, spec in raw[side].items()} for side in INPUTS}


def fields(side: str) -> dict[str, FieldSpec]:
    """The canonical fields of ``side`` (``ma``, ``sfa`` or ``activity``), in declaration order."""
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
    for side in INPUTS:
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
    return _match_normalised(side, normalize_header(header))


def _match_normalised(side: str, n: str) -> list[tuple[str, float]]:
    """:func:`match_header` of a header already in :func:`normalize_header` form."""
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
    """How many cells of a row are known header names (of any input): finds the header row."""
    return sum(1 for c in cells if c and (_is_header_name(c) if len(c) <= 200 else _header_name(c)))


def _header_name(cell: str) -> bool:
    n = normalize_header(cell)
    return any(_match_normalised(side, n) for side in INPUTS)


# The header scan asks this of every cell of a file's first rows (0.07 s a file when each cell
# was normalised once per input): normalised once, and remembered for short cells, which
# repeat down a column (flags, sources, stages).
_is_header_name = lru_cache(maxsize=16384)(_header_name)


def fold(text: object) -> str:
    """NFKC, trimmed (all Unicode spaces), case-folded, inner whitespace collapsed."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return " ".join(s.split()).casefold()


def load_data(name: str) -> dict:
    """One TOML file of ``funnel/data``."""
    with (DATA_DIR / name).open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Vocabulary:
    stage_rules: tuple[tuple[Outcome, tuple[re.Pattern[str], ...]], ...]
    flags_true: frozenset[str]
    flags_false: frozenset[str]
    status_levels: tuple[tuple[int, tuple[re.Pattern[str], ...]], ...]
    placeholders: frozenset[str]
    total_patterns: tuple[re.Pattern[str], ...]
    footer_patterns: tuple[re.Pattern[str], ...]
    group_patterns: tuple[re.Pattern[str], ...]


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The value vocabularies of ``data/vocabulary.toml``, compiled once."""
    raw = load_data("vocabulary.toml")
    return Vocabulary(
        stage_rules=tuple((r["outcome"], _compile(r["patterns"])) for r in raw["stage_rules"]),
        flags_true=frozenset(fold(v) for v in raw["flags"]["true"]),
        flags_false=frozenset(fold(v) for v in raw["flags"]["false"]),
        status_levels=tuple((int(r["level"]), _compile(r["patterns"])) for r in raw["status_levels"]),
        placeholders=frozenset(fold(v) for v in raw["placeholders"]["values"]),
        total_patterns=_compile(raw["layout"]["total_patterns"]),
        footer_patterns=_compile(raw["layout"]["footer_patterns"]),
        group_patterns=_compile(raw["layout"]["group_patterns"]),
    )


def is_placeholder(text: object) -> bool:
    """True for cells that mean "nothing here" (blank, N/A, #N/A, Select …)."""
    f = fold(text)
    return f == "" or f in vocabulary().placeholders
