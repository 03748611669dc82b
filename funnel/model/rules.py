"""Vocabularies and rules, loaded from the data files: stages, flags, statuses, loss reasons.

These classify *distinct* values (a few dozen stages, a few thousand loss-reason texts) in
Python, where the rules can be read, tested and extended; the results are joined back in
DuckDB as small lookup tables. Per-row parsing of emails, dates and amounts stays in SQL.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

from funnel.vocabulary import Outcome, fold, load_data, vocabulary

LOSS_CATEGORIES: tuple[str, ...] = ("budget", "timing", "competitor", "no_need", "other", "blank")


def classify_stage(text: object) -> Outcome:
    """Outcome of a stage/phase value: won, lost, or open (anything unrecognised)."""
    f = fold(text)
    if not f:
        return "open"
    for outcome, patterns in vocabulary().stage_rules:
        if any(p.search(f) for p in patterns):
            return outcome
    return "open"


def parse_flag(text: object) -> bool | None:
    """A checkbox cell: True, False (blank counts as False), or None when unrecognisable."""
    f = fold(text)
    voc = vocabulary()
    if f == "" or f in voc.flags_false:
        return False
    if f in voc.flags_true:
        return True
    return None


def status_level(text: object) -> int:
    """Furthest funnel step a lead status / lifecycle value proves (0 lead … 4 customer)."""
    f = fold(text)
    if not f:
        return 0
    for level, patterns in vocabulary().status_levels:
        if any(p.search(f) for p in patterns):
            return level
    return 0


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    k = fold(keyword)
    if k.isascii():
        # ASCII words must match whole words: "price" is not in "priceless".
        return re.compile(r"(?<![a-z0-9])" + re.escape(k) + r"(?![a-z0-9])")
    return re.compile(re.escape(k))


@dataclass(frozen=True)
class LossRules:
    """Ordered loss-reason categories with their keywords; the first keyword found wins."""

    categories: tuple[tuple[str, tuple[str, ...]], ...]
    _compiled: tuple[tuple[str, tuple[tuple[str, re.Pattern[str]], ...]], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for cat, _ in self.categories:
            if cat not in LOSS_CATEGORIES or cat == "blank":
                raise ValueError(f"unknown loss-reason category {cat!r}")
        compiled = tuple(
            (cat, tuple((kw, _keyword_pattern(kw)) for kw in kws if fold(kw)))
            for cat, kws in self.categories)
        object.__setattr__(self, "_compiled", compiled)

    @classmethod
    def default(cls) -> LossRules:
        return _default_loss_rules()

    @classmethod
    def from_toml(cls, text: str) -> LossRules:
        """Rules from a TOML text shaped like ``data/loss_reasons.toml``."""
        raw = tomllib.loads(text)
        return cls(tuple((c["id"], tuple(c.get("keywords", []))) for c in raw["categories"]))

    def to_toml(self) -> str:
        """The rules as TOML, to download, edit and load again."""
        out = []
        for cat, kws in self.categories:
            quoted = ", ".join('"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in kws)
            out.append(f'[[categories]]\nid = "{cat}"\nkeywords = [{quoted}]\n')
        return "\n".join(out)

    def classify(self, text: object) -> tuple[str, str | None]:
        """``(category, matched keyword)`` of a loss-reason text; blank → ``("blank", None)``."""
        f = fold(text)
        if not f or f in vocabulary().placeholders:
            return "blank", None
        for cat, patterns in self._compiled:
            for kw, pat in patterns:
                if pat.search(f):
                    return cat, kw
        return "other", None


@lru_cache(maxsize=1)
def _default_loss_rules() -> LossRules:
    raw = load_data("loss_reasons.toml")
    return LossRules(tuple((c["id"], tuple(c["keywords"])) for c in raw["categories"]))
