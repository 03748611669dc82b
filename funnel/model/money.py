"""Which currency an export's amounts are in, per file, from the amount cells themselves.

An amount cell is read as a number by :func:`funnel.sql.normalize.amount_value` whatever its
currency sign; this module says which sign it was, so that a US export's ``$923.00`` is shown
as dollars (not yen) and two files in different currencies are never summed silently.
Markers are data (``data/currencies.toml``). Markers that are codes (``USD``, ``EUR``) match
as whole words; symbols anywhere in the cell. ``US$`` / ``CA$`` / ``A$`` are checked before a
bare ``$``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from funnel.vocabulary import load_data


@dataclass(frozen=True)
class Currency:
    code: str
    symbol: str
    decimals: int
    markers: tuple[str, ...]


@lru_cache(maxsize=1)
def currencies() -> dict[str, Currency]:
    return {c["code"]: Currency(c["code"], c["symbol"], int(c.get("decimals", 0)), tuple(c["markers"]))
            for c in load_data("currencies.toml")["currency"]}


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    """(code, pattern) with longer markers first, so ``US$`` wins over ``$``."""
    found = []
    for c in currencies().values():
        for m in c.markers:
            word = m.isascii() and m.replace(".", "").isalpha()
            found.append((len(m), c.code, re.compile(rf"(?<![A-Za-z]){re.escape(m)}(?![A-Za-z])" if word
                                                     else re.escape(m))))
    return [(code, p) for _, code, p in sorted(found, key=lambda x: -x[0])]


def currency_of_cell(cell: str | None) -> str | None:
    """The currency a money cell names, or None when it names none."""
    if not cell:
        return None
    for code, pattern in _patterns():
        if pattern.search(cell):
            return code
    return None


@dataclass(frozen=True)
class FileCurrency:
    """The currencies found in one file's amount column: cells per currency code."""

    file: str
    counts: dict[str, int]

    @property
    def currency(self) -> str | None:
        """The file's currency: the one most of its marked cells carry (None: no marker)."""
        return max(self.counts, key=lambda c: (self.counts[c], c)) if self.counts else None

    @property
    def mixed(self) -> bool:
        return len(self.counts) > 1


def detect(file: str, cells: Iterable[str | None]) -> FileCurrency:
    """Count the currencies of a file's amount cells (a sample is enough)."""
    counts = Counter(c for c in (currency_of_cell(x) for x in cells) if c)
    return FileCurrency(file, dict(counts))
