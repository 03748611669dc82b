"""Accounts (企業): the funnel by company, as ``contracts/cli.md`` "Accounts" defines it.

Leads are merged into accounts by what two exports share without a common company ID: the
corporate number (法人番号, check digit verified), the normalised company name and the
corporate email domain. Deals join an account through their linked leads or through their own
company name / corporate number. The lists that decide what a name or a domain is (legal
forms, placeholders, free-mail and carrier domains) are data: ``data/legal_forms.toml`` and
``data/free_mail_domains.toml``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, TypeVar

import duckdb

from funnel.config import DATA_DIR
from funnel.ingest.reader import Source, load_file
from funnel.model.mapping import Mapping
from funnel.sql import account_graph as graph
from funnel.sql import accounts as q
from funnel.sql import drop_table, ident, lock_for, rows

FIELDS = ("company", "corporate_number")
Edits = graph.Edits      # the match report's merges and splits, for the pages
T = TypeVar("T")


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


class AccountRate:
    """The account rate of ``accounts`` of which ``converted`` have a deal: written once for every
    result that carries the pair (a mixin for frozen dataclasses, which declare the two fields, as
    :class:`funnel.measures.metrics.OpportunityRate` is for leads)."""

    accounts: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.accounts if self.accounts else 0.0


@dataclass(frozen=True)
class SourceRow(AccountRate):
    source: str | None
    accounts: int
    converted: int
    won: int


@dataclass(frozen=True)
class Accounts(AccountRate):
    """The contract's account measures of one build and one touch."""

    accounts: int
    converted: int
    won: int
    leads_without_account: int
    opportunities_by_account_only: int
    by_source: list[SourceRow]
    touch: str
    rounds: int

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


def build(con: duckdb.DuckDBPyConnection, mappings: dict[str, list[Mapping]], edits: graph.Edits | None = None,
          token: str = "") -> int:
    """(Re)create the account tables of a built workspace under a user's ``edits`` (the match
    report's merges and splits); returns the union-find rounds. ``token`` names the build of the
    data it was made for (see :func:`ensure`).

    ``mappings`` tell which sides hold which key: a field no file maps gives no key (its
    staged column is all NULL, so this only saves work)."""
    def mapped(side: str, f: str) -> bool:
        return any(m.column(f) for m in mappings.get(side, []))

    p = params(con)
    kinds = tuple(k for k, f in (("n", "corporate_number"), ("c", "company"), ("d", "email")) if mapped("ma", f))
    rounds = graph.create_accounts(con, p, kinds, edits)
    q.create_account_opps(con, p, number=mapped("sfa", "corporate_number"), company=mapped("sfa", "company"))
    q.mark_built(con, _marker(edits, token), rounds)
    return rounds


def _marker(edits: graph.Edits | None, token: str) -> str:
    return json.dumps([token, (edits or graph.Edits()).to_json()], sort_keys=True)


def ensure(con: duckdb.DuckDBPyConnection, mappings: dict[str, list[Mapping]], edits: graph.Edits,
           token: str) -> int:
    """The rounds of the account tables, built under ``edits`` for the build of the data named
    ``token`` unless they already are (the tables say what they were built under: another
    caller, the Excel report say, may have rebuilt them without the edits)."""
    # One build at a time: a rerun of the page (another thread) waits, then finds it made.
    with lock_for(con):
        found = q.built(con)
        if found is not None and found[0] == _marker(edits, token):
            return found[1]
        return build(con, mappings, edits, token)


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
                    _records_as(SourceRow, q.by_source(con, touch)), touch, rounds)


def _records_as(cls: Callable[..., T], found: Sequence[dict[str, Any]]) -> list[T]:
    """Each query record as the dataclass ``cls``, its fields by name; counts (``int`` fields)
    as Python ints (DuckDB may give a HUGEINT sum as another type)."""
    names = [(f.name, f.type in ("int", int)) for f in fields(cls)]  # type: ignore[arg-type]
    return [cls(**{n: int(r[n]) if counted else r[n] for n, counted in names}) for r in found]


# -- the page's measures (views/accounts.py) ----------------------------------------------------
@dataclass(frozen=True)
class MonthRow(AccountRate):
    month: Any          # datetime.date of the month's first day, None: leads without a date
    accounts: int
    converted: int
    won: int


def by_month(con: duckdb.DuckDBPyConnection) -> tuple[MonthRow, ...]:
    """Accounts by the month of their first lead: accounts, converted, won."""
    return tuple(_records_as(MonthRow, q.by_month(con)))


# Depth bands: people of an account engaged before its first deal. 0 happens where every lead
# came after the deal (a deal tied by company, marketing later).
DEPTH_BANDS = ((0, 0), (1, 1), (2, 2), (3, 3), (4, 5), (6, None))


@dataclass(frozen=True)
class DepthRow(AccountRate):
    lo: int
    hi: int | None      # None: and more
    accounts: int
    converted: int
    won: int


def depth(con: duckdb.DuckDBPyConnection) -> tuple[DepthRow, ...]:
    """Buying-group depth: accounts by how many of their people (leads) engaged on or before the
    account's first deal (all of them for an account without a deal), and the account rate of
    each band. Bands without an account are left out."""
    found = q.depths(con)
    out = []
    for lo, hi in DEPTH_BANDS:
        inside = [r for r in found if r["depth"] >= lo and (hi is None or r["depth"] <= hi)]
        if inside:
            out.append(DepthRow(lo, hi, len(inside), sum(1 for r in inside if r["converted"]),
                                sum(1 for r in inside if r["won"])))
    return tuple(out)


def company_only(con: duckdb.DuckDBPyConnection, touch: str = "first") -> list[dict[str, Any]]:
    """The deals that belong to an account only by company (the contract's
    ``opportunities_by_account_only``), with the account they belong to."""
    return q.company_only_opps(con, params(con), touch)


CHECKS = ("names_by_domain", "several_numbers", "placeholder")


@dataclass(frozen=True)
class Match:
    """How one account was formed, and what a user should check about it."""

    company: str | None
    leads: int
    placeholder_leads: int
    numbers: int
    names: int
    domains: int
    number_list: str | None
    name_list: str | None
    domain_list: str | None
    opps: int
    parts: int          # groups of its named leads joined by names and numbers: 2 or more, by a domain only
    key: str | None     # its smallest key (``c:…``, ``n:…``, ``d:…``; None: a lead split off alone)
    account: int

    @property
    def keys(self) -> tuple[str, ...]:
        """Its keys as the engine writes them (``n:…``, ``c:…``, ``d:…``; normalised names and
        domains hold no comma, so the lists split back)."""
        return tuple(f"{kind}:{x}" for kind, listed in (("n", self.number_list), ("c", self.name_list),
                                                        ("d", self.domain_list)) if listed for x in listed.split(", "))

    @property
    def formed(self) -> tuple[str, ...]:
        """The kinds of key the account holds: ``number``, ``name``, ``domain``."""
        return tuple(k for k, n in (("number", self.numbers), ("name", self.names), ("domain", self.domains)) if n)

    @property
    def checks(self) -> tuple[str, ...]:
        """Why a user should check the account: company names (groups of leads joined by names
        and numbers) joined only through a shared email domain (``names_by_domain``), several corporate numbers
        (``several_numbers``), leads whose company is a placeholder such as 個人 or N/A, held
        only by their domain (``placeholder``)."""
        out = []
        if self.parts >= 2:
            out.append("names_by_domain")
        if self.numbers >= 2:
            out.append("several_numbers")
        if self.placeholder_leads:
            out.append("placeholder")
        return tuple(out)


def matches(con: duckdb.DuckDBPyConnection) -> tuple[Match, ...]:
    """Every account of the built tables, most leads first, with how it was formed."""
    return tuple(_records_as(Match, q.matches(con, params(con))))


def members(con: duckdb.DuckDBPyConnection, account: int) -> list[dict[str, Any]]:
    """The leads of one account (``lead_key``, ``email_raw``, ``company``), first created first:
    what a split names."""
    return q.members(con, account)


# -- target-account list (ABM) ------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    target: str
    found_by: str | None     # number, domain, name; None: no account (not engaged)
    company: str | None
    leads: int
    opps: int
    won: int


@dataclass(frozen=True)
class Coverage:
    """How much of a target-account list marketing reached and sales turned into deals."""

    targets: tuple[Target, ...]

    @property
    def engaged(self) -> int:
        return sum(1 for x in self.targets if x.found_by)

    @property
    def converted(self) -> int:
        return sum(1 for x in self.targets if x.opps)

    @property
    def won(self) -> int:
        return sum(1 for x in self.targets if x.won)


def read_targets(con: duckdb.DuckDBPyConnection, name: str, data: bytes, workdir: Any) -> list[str]:
    """The entries of an uploaded target-account list: the non-empty cells of its first column
    (a company name, a corporate number or a domain each), in file order, repeats dropped."""
    table = "raw_target_list"
    loaded = load_file(con, Source.from_bytes(name, data), table, workdir)
    try:
        if not loaded.raw_columns:
            return []
        first = loaded.raw_columns[0]
        found = rows(con, f"SELECT trim(CAST({ident(first)} AS VARCHAR)) FROM {ident(table)}")
    finally:
        drop_table(con, table)
    out: dict[str, None] = {}
    for (v,) in found:
        if v:
            out.setdefault(str(v), None)
    return list(out)


def coverage(con: duckdb.DuckDBPyConnection, name: str, data: bytes, workdir: Any) -> Coverage:
    """The coverage of an uploaded target-account list against the built account tables."""
    values = read_targets(con, name, data, workdir)
    found = q.target_coverage(con, params(con), values) if values else []
    return Coverage(tuple(_records_as(Target, found)))
