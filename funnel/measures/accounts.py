"""Accounts (企業): the funnel by company, as ``contracts/cli.md`` "Accounts" defines it.

Leads are merged into accounts by what two exports share without a common company ID: the
corporate number (法人番号, check digit verified), the normalised company name and the
corporate email domain. Deals join an account through their linked leads or through their own
company name / corporate number. The lists that decide what a name or a domain is (legal
forms, placeholders, free-mail and carrier domains) are data: ``data/legal_forms.toml`` and
``data/free_mail_domains.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import duckdb

from funnel.config import DATA_DIR
from funnel.model.mapping import Mapping
from funnel.sql import accounts as q

FIELDS = ("company", "corporate_number")


@dataclass(frozen=True)
class Lists:
    """The data lists of accounts, as read from the data files."""

    japanese_forms: tuple[str, ...]
    latin_forms: tuple[str, ...]
    placeholders: tuple[str, ...]
    free_mail: tuple[str, ...]


@lru_cache(maxsize=1)
def lists() -> Lists:
    with (DATA_DIR / "legal_forms.toml").open("rb") as fh:
        forms = tomllib.load(fh)
    with (DATA_DIR / "free_mail_domains.toml").open("rb") as fh:
        mail = tomllib.load(fh)
    domains = sorted({d.strip().lower() for group in mail.values() for d in group})
    return Lists(tuple(forms["japanese"]), tuple(forms["latin"]), tuple(forms["placeholders"]), tuple(domains))


@dataclass(frozen=True)
class SourceRow:
    source: str | None
    accounts: int
    converted: int
    won: int

    @property
    def rate(self) -> float:
        return self.converted / self.accounts if self.accounts else 0.0


@dataclass(frozen=True)
class Accounts:
    """The contract's account measures of one build and one touch."""

    accounts: int
    converted: int
    won: int
    leads_without_account: int
    opportunities_by_account_only: int
    by_source: list[SourceRow]
    touch: str
    rounds: int

    @property
    def rate(self) -> float:
        return self.converted / self.accounts if self.accounts else 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``accounts`` object of the ``--json`` output, exactly the contract's keys."""
        return {"accounts": self.accounts, "converted": self.converted, "won": self.won,
                "account_rate": self.rate, "leads_without_account": self.leads_without_account,
                "opportunities_by_account_only": self.opportunities_by_account_only,
                "by_source": [{"source": r.source, "accounts": r.accounts, "converted": r.converted,
                               "account_rate": r.rate} for r in self.by_source]}


def applies(mappings: dict[str, list[Mapping]]) -> bool:
    """Whether either side has a company or corporate-number column (the contract's condition
    for the ``accounts`` key)."""
    return any(m.column(f) for side in mappings.values() for m in side for f in FIELDS)


def params(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The bound values of the account SQL: the data lists in the form the SQL wants."""
    ls = lists()
    jp = "|".join(re.escape(f) for f in sorted(ls.japanese_forms, key=len, reverse=True))
    out: dict[str, Any] = {"jp_forms": jp, "latin_forms": list(ls.latin_forms), "free_mail": list(ls.free_mail)}
    out["placeholders"] = q.placeholder_cores(con, list(ls.placeholders), out)
    return out


def build(con: duckdb.DuckDBPyConnection, mappings: dict[str, list[Mapping]]) -> int:
    """(Re)create the account tables of a built workspace; returns the propagation rounds.

    ``mappings`` tell which sides hold which key: a field no file maps gives no key (its
    staged column is all NULL, so this only saves work)."""
    def mapped(side: str, f: str) -> bool:
        return any(m.column(f) for m in mappings.get(side, []))

    p = params(con)
    q.create_lead_keys(con, p, number=mapped("ma", "corporate_number"), company=mapped("ma", "company"),
                       email=mapped("ma", "email"))
    rounds = q.create_accounts(con)
    q.create_account_opps(con, p, number=mapped("sfa", "corporate_number"), company=mapped("sfa", "company"))
    return rounds


def measure(con: duckdb.DuckDBPyConnection, mappings: dict[str, list[Mapping]], touch: str = "first",
            rounds: int | None = None) -> Accounts:
    """Build the account tables (unless ``rounds`` says they are built) and measure them."""
    if rounds is None:
        rounds = build(con, mappings)
    return summarise(con, touch, rounds)


def summarise(con: duckdb.DuckDBPyConnection, touch: str = "first", rounds: int = 0) -> Accounts:
    """The measures of the account tables already built, for ``touch``."""
    tot = q.totals(con)
    return Accounts(int(tot["accounts"]), int(tot["converted"]), int(tot["won"]),
                    int(tot["leads_without_account"]), int(tot["opportunities_by_account_only"]),
                    _source_rows(q.by_source(con, touch)), touch, rounds)


def _source_rows(found: Sequence[dict[str, Any]]) -> list[SourceRow]:
    return [SourceRow(r["source"] if r["source"] is None else str(r["source"]), int(r["accounts"]),
                      int(r["converted"]), int(r["won"])) for r in found]
