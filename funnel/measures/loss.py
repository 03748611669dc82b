"""Loss-reason analysis (失注分析): the data-quality share, the Pareto of categories,
breakdowns, the raw texts behind each category with the keyword that put them there and the
doubts about them, the lost deals for drill-down, and the keyword rules as an editable table.

Categories come from the keyword rules (:class:`funnel.model.rules.LossRules`) applied by
:meth:`funnel.model.workspace.Workspace.apply_loss_rules`; functions that need the rules themselves
(ambiguity, reclassification) take them as an argument, so the page passes the rules it shows.
Counts agree with :func:`funnel.measures.metrics.loss_reasons` by construction: they read the same
``opps`` table.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb

from funnel.config import DATA_DIR, setting
from funnel.errors import FunnelError
from funnel.measures import metrics
from funnel.model.rules import LOSS_CATEGORIES, RULE_CATEGORIES, LossRules
from funnel.present.paging import PAGE_SIZE, Page, fetch_page
from funnel.sql import loss as q
from funnel.sql import records, rows, scalar
from funnel.vocabulary import fold

#: Categories that do not say why a deal was lost; the data-quality share leaves them out.
UNCLASSIFIED: frozenset[str] = frozenset({"other", "blank"})
#: Largest rules file accepted: the default rules are ~3 KB; anything near this is not a rules file.
MAX_RULES_BYTES = 256 * 1024
# Separators a person types between keywords in one cell: ASCII and full-width commas, the
# Japanese 読点, semicolons and line breaks.
_SEPARATORS = re.compile(r"[,、，;；\n]")


class RulesError(FunnelError):
    """A rules table or rules file that cannot be used (the message names the problem)."""

    key = "error.rules.syntax"


# -- headline and Pareto --------------------------------------------------------------------

@dataclass(frozen=True)
class LossQuality:
    """How many lost deals carry a reason that says why (not その他, not 未入力); ``excluded``
    deals (対象外: not real losses) are counted in ``lost`` but left out of the share."""

    lost: int
    classified: int
    other: int
    blank: int
    excluded: int = 0

    @property
    def share(self) -> float | None:
        real = self.lost - self.excluded
        return self.classified / real if real else None


def quality(con: duckdb.DuckDBPyConnection) -> LossQuality:
    """Lost deals, and how many fall in a category that names a cause."""
    counts = {s.category: s.count for s in metrics.loss_reasons(con)}
    lost = sum(counts.values())
    other, blank, excluded = (counts.get(c, 0) for c in ("other", "blank", metrics.EXCLUDED))
    return LossQuality(lost, lost - other - blank - excluded, other, blank, excluded)


@dataclass(frozen=True)
class ParetoRow:
    category: str
    count: int
    share: float
    cumulative: float       # share of this and every larger category (the last row is 1.0)
    amount: float | None    # summed amount of the lost deals (None when no deal has one)


def pareto(con: duckdb.DuckDBPyConnection) -> list[ParetoRow]:
    """Categories by count, largest first (ties in taxonomy order), with the cumulative share;
    ``excluded`` (not a real loss) is not a bar: :func:`quality` counts it."""
    shares = [s for s in metrics.loss_reasons(con) if s.share is not None]
    amounts = {r[0]: r[2] for r in rows(con, q.category_totals())}
    total = sum(s.count for s in shares)
    out, running = [], 0
    for s in shares:
        running += s.count
        # From integer counts, so the last row is exactly 1.0, not 0.9999….
        out.append(ParetoRow(s.category, s.count, s.count / total, running / total,
                             None if amounts.get(s.category) is None else float(amounts[s.category])))
    return out


# -- breakdowns -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BreakdownRow:
    """Lost deals of one group (source, owner or month) per category."""

    group: str | None
    kind: str                           # "value" | "missing" (blank value) | "no_lead" (unlinked)
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.total if self.total else 0.0


def breakdown(con: duckdb.DuckDBPyConnection, by: str, touch: str = "first") -> list[BreakdownRow]:
    """Loss categories per ``source`` (of the linked lead, first/last touch), ``owner`` (deal
    owner) or ``month`` (close month). Sources and owners: most lost deals first, the blank
    and no-lead groups last; months: oldest first, undated last."""
    grouped: dict[tuple[str, str | None], dict[str, int]] = {}
    if by == "source":
        # Own query: metrics.loss_reasons_by counts a linked lead without a source as "no lead".
        metrics.prepare_opp_sources(con)
        for kind, grp, cat, n in rows(con, q.loss_by_source(touch)):
            grouped.setdefault((kind, grp), {})[cat] = int(n)
    else:
        for grp, shares in metrics.loss_reasons_by(con, by, touch).items():
            grouped[("missing" if grp is None else "value", grp)] = {s.category: s.count for s in shares}
    # Deals that were never real sales (excluded) are not part of any group's losses.
    out = [BreakdownRow(grp, kind, {c: 0 for c in LOSS_CATEGORIES if c != metrics.EXCLUDED}
                        | {c: n for c, n in counts.items() if c != metrics.EXCLUDED})
           for (kind, grp), counts in grouped.items()
           if any(n for c, n in counts.items() if c != metrics.EXCLUDED)]
    rank = {"value": 0, "missing": 1, "no_lead": 2}
    if by == "month":
        return sorted(out, key=lambda r: (rank[r.kind], r.group or ""))
    return sorted(out, key=lambda r: (rank[r.kind], -r.total, r.group or ""))


# -- ambiguity (export_formats.md §8.2) -----------------------------------------------------

@dataclass(frozen=True)
class AmbiguityRule:
    """A kind of reason text whose category is a judgement call (``data/loss_ambiguities.toml``)."""

    id: str
    any_of: tuple[str, ...]
    with_any_of: tuple[str, ...] = ()
    unless_any_of: tuple[str, ...] = ()
    alone: bool = False
    readings: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def ambiguity_rules() -> tuple[AmbiguityRule, ...]:
    """The ambiguity rules of ``data/loss_ambiguities.toml`` (static data, read once)."""
    with (DATA_DIR / "loss_ambiguities.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    return tuple(AmbiguityRule(a["id"], tuple(a["any_of"]), tuple(a.get("with_any_of", ())),
                               tuple(a.get("unless_any_of", ())), bool(a.get("alone", False)),
                               tuple(a.get("readings", ()))) for a in raw["ambiguities"])


def _pattern(term: str) -> re.Pattern[str]:
    # The keyword rules' matching (funnel.model.rules): ASCII terms as whole words, others anywhere.
    k = fold(term)
    if k.isascii():
        return re.compile(r"(?<![a-z0-9])" + re.escape(k) + r"(?![a-z0-9])")
    return re.compile(re.escape(k))


class AmbiguityFlagger:
    """Flags reason texts against the ambiguity rules, for one set of keyword rules."""

    def __init__(self, rules: LossRules, table: tuple[AmbiguityRule, ...] | None = None) -> None:
        self._checks = []
        for a in table if table is not None else ambiguity_rules():
            own = {fold(t) for t in a.any_of}
            # "Alone": what the rules would say with this rule's own terms taken out.
            rest = rules.with_categories(tuple((c, tuple(k for k in kws if fold(k) not in own))
                                               for c, kws in rules.categories)) if a.alone else None
            self._checks.append((a.id, [_pattern(t) for t in a.any_of], [_pattern(t) for t in a.with_any_of],
                                 [_pattern(t) for t in a.unless_any_of], rest))

    def flags(self, text: str | None) -> tuple[str, ...]:
        """Ids of the ambiguity rules ``text`` meets (empty for an empty text)."""
        f = fold(text)
        if not f:
            return ()
        out = []
        for aid, any_of, with_any, unless, rest in self._checks:
            if not any(p.search(f) for p in any_of):
                continue
            if with_any and not any(p.search(f) for p in with_any):
                continue
            if any(p.search(f) for p in unless):
                continue
            if rest is not None and rest.classify(text)[1] is not None:
                continue
            out.append(aid)
        return tuple(out)


@dataclass(frozen=True)
class ReasonText:
    """One distinct raw reason text (None = empty) and what the rules made of it."""

    text: str | None
    count: int
    category: str
    keyword: str | None
    ambiguities: tuple[str, ...] = ()


def _texts(con: duckdb.DuckDBPyConnection, flagger: AmbiguityFlagger, sql: q.SqlParams) -> list[ReasonText]:
    return [ReasonText(r[0], int(r[1]), r[2], r[3], flagger.flags(r[0])) for r in rows(con, *sql)]


def all_reason_texts(con: duckdb.DuckDBPyConnection, rules: LossRules,
                     category: str | None = None) -> list[ReasonText]:
    """Every distinct reason text of lost deals (of one category), most frequent first."""
    return _texts(con, AmbiguityFlagger(rules), q.reason_texts(category))


def reason_texts(con: duckdb.DuckDBPyConnection, rules: LossRules, category: str | None = None, *,
                 page: int = 1, page_size: int = PAGE_SIZE, ambiguous_only: bool = False) -> Page[ReasonText]:
    """One page (1-based, clamped) of distinct reason texts with count, matched keyword and
    ambiguity flags."""
    if ambiguous_only:
        # Flags are computed in Python, so filter after reading the (distinct, small) texts.
        flagged = [r for r in all_reason_texts(con, rules, category) if r.ambiguities]
        return fetch_page(len(flagged), page, page_size, lambda limit, offset: flagged[offset:offset + limit])
    total = int(scalar(con, *q.reason_text_count(category)) or 0)
    flagger = AmbiguityFlagger(rules)
    return fetch_page(total, page, page_size, lambda limit, offset: _texts(
        con, flagger, q.reason_texts(category, limit, offset)))


@dataclass(frozen=True)
class AmbiguityCount:
    id: str
    readings: tuple[str, ...]
    opportunities: int
    texts: int
    categories: Mapping[str, int]       # where the current rules put these deals


def ambiguity_summary(con: duckdb.DuckDBPyConnection, rules: LossRules) -> list[AmbiguityCount]:
    """Lost deals per ambiguity rule (a text may meet several), in the data file's order."""
    texts = all_reason_texts(con, rules)
    out = []
    for a in ambiguity_rules():
        hit = [t for t in texts if a.id in t.ambiguities]
        cats: dict[str, int] = {}
        for t in hit:
            cats[t.category] = cats.get(t.category, 0) + t.count
        out.append(AmbiguityCount(a.id, a.readings, sum(t.count for t in hit), len(hit), cats))
    return out


# -- drill-down -----------------------------------------------------------------------------

def lost_opportunities(con: duckdb.DuckDBPyConnection, *, category: str | None = None,
                       contains: str | None = None, touch: str = "first", page: int = 1,
                       page_size: int | None = PAGE_SIZE) -> Page[dict[str, Any]]:
    """One page (1-based, clamped; every row when ``page_size`` is None) of lost deals (newest
    close date first; implausible close dates, ``close_implausible``, last), optionally of one category and/or with a reason or detail containing
    ``contains``; ``lead_source`` is that of the linked lead (None with ``n_leads == 0``: no lead)."""
    total = int(scalar(con, *q.lost_count(category, contains)) or 0)
    metrics.prepare_opp_sources(con)
    floor, future = int(setting("date_floor_year")), int(setting("date_future_years"))
    return fetch_page(total, page, page_size, lambda limit, offset: records(
        con, *q.lost_page(category, contains, touch, limit, offset, floor, future)))


def reclassified(con: duckdb.DuckDBPyConnection, before: LossRules,
                 after: LossRules) -> list[tuple[str, str, int]]:
    """``(from, to, lost deals)`` for every category change between two rule sets, largest first."""
    moved: dict[tuple[str, str], int] = {}
    for text, n, _, _ in rows(con, *q.reason_texts(None)):
        a, b = before.classify(text)[0], after.classify(text)[0]
        if a != b:
            moved[(a, b)] = moved.get((a, b), 0) + int(n)
    return sorted(((a, b, n) for (a, b), n in moved.items()), key=lambda x: (-x[2], x[0], x[1]))


# -- rules as an editable table and as a file ----------------------------------------------

def split_keywords(text: object) -> tuple[str, ...]:
    """Keywords typed in one cell: split on commas (、，,), semicolons or lines; trimmed, blanks
    and repeats (after NFKC + case-folding) dropped, first spelling kept."""
    if text is None:
        return ()
    return _clean(_SEPARATORS.split(str(text)))


def _clean(keywords: Iterable[str]) -> tuple[str, ...]:
    seen, out = set(), []
    for k in keywords:
        k = " ".join(k.split())
        if k and fold(k) not in seen:
            seen.add(fold(k))
            out.append(k)
    return tuple(out)


def rules_to_table(rules: LossRules) -> list[dict[str, str]]:
    """``[{"category", "keywords"}]`` in the rules' order (= precedence); a category the rules
    lack is appended with no keywords so the table always has every category once."""
    have = [c for c, _ in rules.categories]
    out = [{"category": c, "keywords": ", ".join(kws)} for c, kws in rules.categories]
    default_order = [c for c, _ in LossRules.default().categories]
    return out + [{"category": c, "keywords": ""} for c in default_order if c not in have]


def rules_from_table(table: Iterable[Mapping[str, Any]], base: LossRules | None = None) -> LossRules:
    """Rules from table rows ``{"category", "keywords"}`` (keywords as one text), in row order;
    patterns, vendors, neutral phrases and blanks are those of ``base`` (default: the shipped rules).

    Raises:
        RulesError: a row with an unknown or repeated category.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for row in table:
        cat = str(row.get("category") or "").strip()
        if cat not in RULE_CATEGORIES:
            raise RulesError(key="error.rules.unknown_category", category=cat, allowed=", ".join(RULE_CATEGORIES))
        if any(c == cat for c, _ in out):
            raise RulesError(key="error.rules.duplicate_category", category=cat)
        out.append((cat, split_keywords(row.get("keywords"))))
    return (base or LossRules.default()).with_categories(tuple(out))


def parse_rules_toml(data: str | bytes, file: str | None = None) -> LossRules:
    """Rules from a TOML text or file shaped like ``data/loss_reasons.toml``, validated.

    Raises:
        RulesError: too large, not UTF-8, not TOML, no ``[[categories]]``, an unknown or
            repeated category id, or keywords that are not a list of texts.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_RULES_BYTES:
            raise RulesError(file, key="error.rules.too_large", limit_kb=MAX_RULES_BYTES // 1024)
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RulesError(file, key="error.rules.encoding") from exc
    try:
        raw = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(file, key="error.rules.syntax", detail=str(exc)) from exc
    cats = raw.get("categories")
    if not isinstance(cats, list) or not cats or not all(isinstance(c, dict) for c in cats):
        raise RulesError(file, key="error.rules.no_categories")
    seen: list[str] = []
    for c in cats:
        cid = c.get("id")
        if not isinstance(cid, str) or cid not in RULE_CATEGORIES:
            raise RulesError(file, key="error.rules.unknown_category", category=str(cid),
                             allowed=", ".join(RULE_CATEGORIES))
        if cid in seen:
            raise RulesError(file, key="error.rules.duplicate_category", category=cid)
        seen.append(cid)
        kws = c.get("keywords", [])
        if not isinstance(kws, list) or not all(isinstance(k, str) for k in kws):
            raise RulesError(file, key="error.rules.bad_keywords", category=cid)
        c["keywords"] = list(_clean(kws))
        _check_patterns(c.get("patterns", []), cid, file)
    blank = raw.get("blank", {})
    _check_patterns(blank.get("patterns", []) if isinstance(blank, dict) else None, "blank", file)
    for section, key in (("vendors", "names"), ("neutral", "patterns"), ("blank", "values")):
        sec = raw.get(section, {})
        vals = sec.get(key, []) if isinstance(sec, dict) else None
        if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
            raise RulesError(file, key="error.rules.bad_section", section=section)
    try:
        return LossRules.from_dict(raw)
    except re.error as exc:      # a neutral phrase, or a pattern only broken once {vendor} is filled in
        raise RulesError(file, key="error.rules.bad_pattern", category="neutral", name="", detail=str(exc)) from exc


def _check_patterns(pats: object, category: str, file: str | None) -> None:
    """Each pattern a ``{name, regex}`` table whose regex compiles."""
    if not isinstance(pats, list):
        raise RulesError(file, key="error.rules.bad_section", section=f"{category}.patterns")
    for p in pats:
        if not (isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("regex"), str)):
            raise RulesError(file, key="error.rules.bad_section", section=f"{category}.patterns")
        try:
            re.compile(p["regex"].replace("{vendor}", "(?:x)"))
        except re.error as exc:
            raise RulesError(file, key="error.rules.bad_pattern", category=category, name=p["name"],
                             detail=str(exc)) from exc


def rule_warnings(rules: LossRules) -> list[tuple[str, dict[str, Any]]]:
    """``(message key, params)`` for rules that work but probably not as meant: a category
    without keywords, and a keyword that can never decide because an earlier category's
    keyword is found inside it (e.g. 「他社より高い」 under 予算 is taken by 競合's 「他社」)."""
    out: list[tuple[str, dict[str, Any]]] = []
    earlier: list[tuple[str, str, re.Pattern[str]]] = []
    for cat, kws in rules.categories:
        if not kws and cat != "other":
            out.append(("loss.rules.warn_empty", {"category": cat}))
        for k in kws:
            hit = next(((c, e) for c, e, p in earlier if p.search(fold(k))), None)
            if hit is not None:
                out.append(("loss.rules.warn_shadowed",
                            {"keyword": k, "category": cat, "by": hit[1], "by_category": hit[0]}))
        earlier.extend((cat, k, _pattern(k)) for k in kws)
    return out
