"""Rates by lead source as a reader should see them: variants grouped (or sources mapped to
channels), ranked by a rate that accounts for sample size, small sources folded into one row.

Regrouping sums the rates of :func:`funnel.measures.metrics.by_source`: every lead has
exactly one source, so the leads, converted and won of a group are the sums of its members'
(no second query, and the totals stay those of the contract's ``by_source``).

The ranking rate is empirical-Bayes shrinkage toward the overall rate (why not the Wilson
lower bound: the 定義 text ``sources.definition.ranking_rate`` says, with the real numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from funnel.config import setting
from funnel.measures.benchmarks import ad_sources
from funnel.measures.metrics import Rate
from funnel.model.sources import SourceGroup, SourceMap, Suggestion, group_variants, suggest_merges, variant_names

#: The group of a folded "残りのソース" row (never a source name: None is the blank source).
OTHER = "\x00other"


@dataclass(frozen=True)
class SourceRate:
    """A row of a source ranking: the rate of a source, a group of variants or a channel,
    which raw sources it holds, and the rate it is ranked by."""

    rate: Rate
    members: tuple[str | None, ...]     # the raw source values summed into this row
    ranking_rate: float

    @property
    def group(self) -> str | None:
        return self.rate.group

    @property
    def is_other(self) -> bool:
        return self.rate.group == OTHER


def overall_of(rates: Iterable[Rate]) -> float:
    """Converted ÷ leads over all ``rates`` (0 when there are no leads)."""
    items = list(rates)
    n = sum(r.leads for r in items)
    return sum(r.converted for r in items) / n if n else 0.0


def shrunk(converted: int, leads: int, prior: float, strength: float | None = None) -> float:
    """Empirical-Bayes ranking rate: ``(converted + m·prior) / (leads + m)`` with m the setting
    ``rank_prior_leads``. A beta prior centred on the overall rate, worth m leads: a source
    with many leads keeps its own rate, one with a handful is ranked near the overall rate."""
    m = float(setting("rank_prior_leads")) if strength is None else strength
    return (converted + m * prior) / (leads + m) if leads + m > 0 else prior


def _sum(group: str | None, members: Sequence[Rate]) -> Rate:
    return Rate(group, sum(r.leads for r in members), sum(r.converted for r in members),
                sum(r.won for r in members))


def regroup(rates: Sequence[Rate], mapping: SourceMap | None = None, lang: str = "ja",
            prior: float | None = None) -> list[SourceRate]:
    """Rates per displayed source: each raw source under its channel's label where
    ``mapping`` maps it, else under the most frequent spelling of its variants (case, width,
    spacing); the blank source stays its own row. Ordered by ranking rate, then leads."""
    groups = group_variants((r.group, r.leads) for r in rates)
    shown = variant_names(groups)
    members: dict[str | None, list[Rate]] = {}
    for r in rates:
        label = None if r.group is None else (mapping.label(r.group, lang) if mapping else None) or shown[r.group]
        members.setdefault(label, []).append(r)
    p = overall_of(rates) if prior is None else prior
    out = []
    for label, items in members.items():
        total = _sum(label, items)
        out.append(SourceRate(total, tuple(r.group for r in items), shrunk(total.converted, total.leads, p)))
    return ranked(out)


def ranked(items: Iterable[SourceRate]) -> list[SourceRate]:
    """Highest ranking rate first; ties by more leads, then by name; a folded row last."""
    return sorted(items, key=lambda s: (s.is_other, -s.ranking_rate, -s.rate.leads, str(s.group)))


@dataclass(frozen=True)
class Ranking:
    """A ranking ready to show: the rows kept, one 残りのソース row (None when nothing is folded) and
    the rows it holds (listed apart by a page, so nothing is hidden)."""

    kept: list[SourceRate]
    other: SourceRate | None
    folded: list[SourceRate]

    @property
    def rows(self) -> list[SourceRate]:
        return self.kept + ([self.other] if self.other else [])


def fold(items: Sequence[SourceRate], *, min_leads: int | None = None, top: int | None = None,
         prior: float | None = None) -> Ranking:
    """Rows with fewer than ``min_leads`` leads (setting ``source_min_leads``) folded into one
    その他 row, and with ``top`` every row after the ``top`` best-ranked too. The その他
    row's members are all the raw sources it holds; its ranking rate is shrunk like any row."""
    min_leads = int(setting("source_min_leads")) if min_leads is None else min_leads
    order = ranked(items)
    keep = [s for s in order if s.rate.leads >= min_leads]
    folded = [s for s in order if s.rate.leads < min_leads]
    if top is not None and len(keep) > top:
        keep, folded = keep[:top], keep[top:] + folded
    if not folded:
        return Ranking(keep, None, [])
    p = overall_of(s.rate for s in items) if prior is None else prior
    total = _sum(OTHER, [s.rate for s in folded])
    other = SourceRate(total, tuple(m for s in folded for m in s.members), shrunk(total.converted, total.leads, p))
    return Ranking(keep, other, folded)


def ad_rate(rates: Sequence[Rate], mapping: SourceMap | None = None) -> SourceRate:
    """The rate of the advertising sources among ``rates`` summed (what an ad-sourced benchmark
    is compared with): those ``mapping`` maps to an ad channel and, for the sources it does not
    map, those whose name suggests one (:func:`funnel.measures.benchmarks.ad_sources`).
    Zero leads when there are none."""
    ad = set(ad_sources([r.group for r in rates], mapping=mapping))
    items = [r for r in rates if r.group in ad]
    total = _sum("ad", items)
    return SourceRate(total, tuple(r.group for r in items), total.rate)


@dataclass(frozen=True)
class CleanUp:
    """What the clean-up found among a list of sources: the variant groups (those with more
    than one spelling are what was grouped) and the merge suggestions."""

    groups: list[SourceGroup]
    suggestions: list[Suggestion]

    @property
    def grouped(self) -> list[SourceGroup]:
        return [g for g in self.groups if g.grouped]


def clean_up(rates: Sequence[Rate]) -> CleanUp:
    """Variant groups and merge suggestions of the sources of ``rates`` (by leads)."""
    groups = group_variants((r.group, r.leads) for r in rates)
    return CleanUp(groups, suggest_merges(groups))


def mapped_json(rates: Sequence[Rate], mapping: SourceMap, file: str, lang: str = "ja") -> dict[str, object]:
    """``analyze --sources FILE``: the contract's ``by_source`` rows regrouped by the mapping
    (same keys, most leads first, plus ``members``: the raw sources summed), and a
    ``sources`` key saying which file mapped how many sources and which were not in it."""
    rows = sorted(regroup(rates, mapping, lang), key=lambda s: (-s.rate.leads, str(s.group)))
    unmapped = sorted({r.group for r in rates if r.group is not None and mapping.channel_name(r.group) is None})
    return {
        "by_source": [{"source": s.group, "leads": s.rate.leads, "converted": s.rate.converted,
                       "opportunity_rate": s.rate.rate, "ci_low": s.rate.ci[0], "ci_high": s.rate.ci[1],
                       "ranking_rate": s.ranking_rate, "members": list(s.members)} for s in rows],
        "sources": {"file": file, "entries": len(mapping),
                    "mapped": sum(1 for r in rates if r.group is not None and mapping.channel_name(r.group)),
                    "unmapped": unmapped},
    }
