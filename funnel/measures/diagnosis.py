"""連携診断 (self-diagnosis): the marketing × sales alignment checklist, answered partly from
the data and partly by the team, with a score, priorities and the position on the roadmap.

- Checklist, roadmap steps, categories and evidence thresholds are data (``data/checklist.toml``).
  An item with a ``rule`` is answered from the exports (the measure of that id, below, against
  the rule's threshold); the team may override the answer, the evidence stays visible.
- **Score** = items answered Yes ÷ all items × 100: わからない and unanswered count as not Yes
  (a team cannot claim what it has not confirmed). The same share per category and per step.
- **Roadmap position** = the first step whose items are not all Yes (None when all are).
- **Priorities** = No first, then わからない, then unanswered; roadmap order, then checklist order.
- Answers are saved to a file and read back by :mod:`funnel.measures.answers`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from funnel.config import DATA_DIR
from funnel.i18n import DEFAULT_LANG, join, normalise_lang, sentences, t
from funnel.measures import loss as losses
from funnel.measures import metrics, quality
from funnel.model.workspace import Build
from funnel.present.format import field_label, num, pct
from funnel.sql import diagnosis as q

ANSWERS: tuple[str, ...] = ("yes", "no", "unknown")


# -- the checklist ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Text:
    """A checklist text in every language (the checklist file holds one entry per language)."""

    texts: Mapping[str, str]

    def __call__(self, lang: str) -> str:   # the text in ``lang`` (the default language's if missing)
        return self.texts.get(normalise_lang(lang)) or self.texts[DEFAULT_LANG]


@dataclass(frozen=True)
class Group:
    """A roadmap step (with its goal) or a category."""

    id: str
    name: Text
    goal: Text | None = None


@dataclass(frozen=True)
class Rule:
    """Evidence from the exports: a measure and the threshold that makes it a Yes."""

    id: str
    unit: str                   # "share" (0–1) | "count"
    compare: str                # "min": Yes when value ≥ threshold | "max": Yes when value ≤ threshold
    threshold: float
    note: Text
    fields: tuple[str, ...] = ()

    def judge(self, value: float | None) -> str | None:
        if value is None:
            return None
        ok = value >= self.threshold if self.compare == "min" else value <= self.threshold
        return "yes" if ok else "no"

    def show(self, value: float | None) -> str:
        """A value of this rule's unit as shown (a whole percentage without a decimal: 70%)."""
        if self.unit != "share" or value is None:
            return num(value)
        return pct(value, 0 if round(value * 100, 6).is_integer() else 1)


@dataclass(frozen=True)
class Item:
    id: str
    category: str
    step: str
    question: Text
    why: Text
    action: Text
    rule: str | None = None


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Group, ...]
    categories: tuple[Group, ...]
    rules: Mapping[str, Rule]
    items: tuple[Item, ...]

    def step(self, step_id: str) -> Group:
        return next(s for s in self.steps if s.id == step_id)

    def category(self, category_id: str) -> Group:
        return next(c for c in self.categories if c.id == category_id)

    def step_number(self, step_id: str) -> int:
        return next(n for n, s in enumerate(self.steps, 1) if s.id == step_id)


def parse_checklist(raw: Mapping[str, Any]) -> Checklist:
    """A checklist from its TOML structure, with every reference checked (ValueError)."""
    steps = tuple(Group(s["id"], Text(s["name"]), Text(s["goal"])) for s in raw["step"])
    cats = tuple(Group(c["id"], Text(c["name"])) for c in raw["category"])
    rules = {r["id"]: Rule(r["id"], r["unit"], r["compare"], float(r["threshold"]), Text(r["note"]),
                           tuple(r.get("fields", ()))) for r in raw.get("rule", [])}
    items = tuple(Item(i["id"], i["category"], i["step"], Text(i["question"]), Text(i["why"]),
                       Text(i["action"]), i.get("rule")) for i in raw["item"])
    ids = [i.id for i in items]
    problems = [f"duplicate item {x}" for x in sorted({x for x in ids if ids.count(x) > 1})]
    problems += [f"{i.id}: unknown step {i.step}" for i in items if i.step not in {s.id for s in steps}]
    problems += [f"{i.id}: unknown category {i.category}" for i in items if i.category not in {c.id for c in cats}]
    problems += [f"{i.id}: unknown rule {i.rule}" for i in items if i.rule and i.rule not in rules]
    problems += [f"rule {r.id}: no measure, or bad unit/compare" for r in rules.values() if r.id not in MEASURES
                 or r.unit not in ("share", "count") or r.compare not in ("min", "max")]
    if problems:
        raise ValueError("checklist: " + "; ".join(problems))
    return Checklist(steps, cats, rules, items)


@lru_cache(maxsize=4)
def load_checklist(path: Path | None = None) -> Checklist:
    """The checklist of ``data/checklist.toml`` (or ``path``)."""
    with (path or DATA_DIR / "checklist.toml").open("rb") as fh:
        return parse_checklist(tomllib.load(fh))


# -- evidence from the data ---------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """What a rule measured: the value, the answer it gives, the numbers behind it."""

    rule: str
    value: float | None
    answer: str | None              # "yes" | "no" | None (the data cannot tell)
    params: Mapping[str, Any] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()  # fields the rule reads that the exports do not have


Measured = tuple[float | None, dict[str, Any], tuple[str, ...]]
Con = duckdb.DuckDBPyConnection


def _unmapped(build: Build, side: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in names if not any(m.column(n) for m in build.mappings.get(side, [])))


def _measure(con: Con, build: Build, rule: Rule) -> Measured:
    """The value of ``rule`` on the built workspace, the numbers behind it, unmapped fields."""
    if rule.id == "match_rate":
        m = metrics.match(con)
        return m.rate, {"linked": m.linked, "opps": m.linked + m.unlinked}, ()
    if rule.id == "key_coverage":
        ma, opps = build.counts["ma"], build.counts["sfa"].keys
        # Leads identified by row position have no key at all: nothing to merge people on.
        ma_keyed = 0 if build.identity == "row" else ma.rows - ma.rows_without_key
        reasons = quality.unlinked_reasons(con, build)
        sfa_keyed = opps - reasons["no_value"] - reasons["invalid"]
        ma_share, sfa_share = metrics.ratio(ma_keyed, ma.rows), metrics.ratio(sfa_keyed, opps)
        p = {"key_kind": build.link.kind, "ma_keyed": ma_keyed, "ma_rows": ma.rows, "sfa_keyed": sfa_keyed, "opps": opps,
             "ma_share": ma_share, "sfa_share": sfa_share}
        shares = [v for v in (ma_share, sfa_share) if v is not None]
        return (min(shares) if shares else None), p, ()
    if rule.id in ("loss_recorded", "loss_classified"):
        lq = losses.quality(con)
        recorded = lq.lost - lq.blank
        p = {"recorded": recorded, "classified": lq.classified, "lost": lq.lost, "other": lq.other,
             "blank": lq.blank}
        k = recorded if rule.id == "loss_recorded" else lq.classified
        return metrics.ratio(k, lq.lost), p, _unmapped(build, "sfa", ("loss_reason",))
    if rule.id == "required_fields":
        total, filled, missing = q.required_fields(con, rule.fields)
        return metrics.ratio(filled, total), {"filled": filled, "opps": total, "missing": missing}, \
            _unmapped(build, "sfa", rule.fields)
    if rule.id == "stages_recorded":
        c = q.stage_evidence(con)
        return (min(c["mql"], c["sql"]) if c["leads"] else None, c,
                () if c["mql"] and c["sql"] else _unmapped(build, "ma", ("mql_date", "sql_date", "status")))
    if rule.id == "overdue_open":
        as_of, dated, overdue = q.overdue_open(con)
        return (metrics.ratio(overdue, dated) if as_of else None,
                {"as_of": as_of.isoformat() if as_of else None, "open": dated, "overdue": overdue},
                _unmapped(build, "sfa", ("close_date",)))
    if rule.id == "duplicate_rate":
        d = quality.duplicates(con)
        return d.share, {"duplicated": d.duplicated, "leads": d.leads}, ()
    if rule.id == "results_in_ma":
        linked, shown = q.results_in_ma(con)
        return metrics.ratio(shown, linked), {"shown": shown, "linked": linked}, ()
    raise ValueError(f"no measure for rule {rule.id}")


MEASURES: frozenset[str] = frozenset({"match_rate", "key_coverage", "loss_recorded", "loss_classified",
                                      "required_fields", "stages_recorded", "overdue_open", "duplicate_rate",
                                      "results_in_ma"})


def evidence(con: Con, build: Build, checklist: Checklist | None = None) -> dict[str, Evidence]:
    """Every rule of the checklist measured on a built workspace, by rule id."""
    checklist = checklist or load_checklist()
    out = {}
    for rule in checklist.rules.values():
        value, params, unmapped = _measure(con, build, rule)
        out[rule.id] = Evidence(rule.id, value, rule.judge(value), params, unmapped)
    return out


def describe(ev: Evidence, rule: Rule, lang: str) -> str:
    """The evidence as one sentence: the numbers, the value, the threshold, missing columns."""
    if ev.value is None:
        text = t(f"diagnosis.ev.{rule.id}.none", lang)
    else:
        shown = {k: (pct(v) if k.endswith("_share") else num(v) if isinstance(v, int | float) else v)
                 for k, v in ev.params.items() if not isinstance(v, Mapping)}
        if rule.id == "key_coverage":
            shown["key_kind"] = t(f"link.{ev.params['key_kind']}", lang)
        if rule.id == "required_fields":
            gaps = [(f, n) for f, n in ev.params["missing"].items() if n]
            shown["gaps"] = join((f"{field_label(f, lang)} {num(n)}" for f, n in gaps), lang) if gaps else "—"
        text = t(f"diagnosis.ev.{rule.id}", lang, value=rule.show(ev.value), **shown)
    text = sentences(text, t(f"diagnosis.threshold.{rule.compare}", lang, threshold=rule.show(rule.threshold)), lang)
    if ev.unmapped:
        text = sentences(text, t("diagnosis.ev.unmapped", lang,
                                 fields=join((field_label(f, lang) for f in ev.unmapped), lang)), lang)
    return text


# -- answers, score, roadmap ----------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    item: Item
    value: str | None           # yes | no | unknown | None (not answered)
    source: str                 # data | user | override (a user answer over the data's) | none
    evidence: Evidence | None = None


def resolve(checklist: Checklist, found: Mapping[str, Evidence], user: Mapping[str, str | None]) -> list[Answer]:
    """Each item's answer: the user's when given, else the data's, else none."""
    out = []
    for item in checklist.items:
        ev, mine = found.get(item.rule) if item.rule else None, user.get(item.id)
        data = ev.answer if ev is not None else None
        if mine in ANSWERS:
            out.append(Answer(item, mine, "override" if data else "user", ev))
        else:
            out.append(Answer(item, data, "data" if data else "none", ev))
    return out


@dataclass(frozen=True)
class Tally:
    """Answers of a group of items (a step, a category, or all)."""

    id: str | None
    yes: int = 0
    no: int = 0
    unknown: int = 0
    unanswered: int = 0

    @property
    def total(self) -> int:
        return self.yes + self.no + self.unknown + self.unanswered

    @property
    def done(self) -> bool:
        return self.total > 0 and self.yes == self.total


def tally(answers: list[Answer], group: str | None = None) -> Tally:
    values = [a.value for a in answers]
    return Tally(group, *(values.count(v) for v in (*ANSWERS, None)))


@dataclass(frozen=True)
class Diagnosis:
    answers: list[Answer]
    overall: Tally
    by_step: list[Tally]
    by_category: list[Tally]
    current_step: str | None        # the first step not all Yes; None when all are

    @property
    def points(self) -> int:
        """The score: Yes ÷ all items × 100, rounded half up."""
        return math.floor(100 * self.overall.yes / self.overall.total + 0.5) if self.overall.total else 0

    def priorities(self) -> list[Answer]:
        """Items not answered Yes: No first, then わからない, then unanswered; roadmap order within."""
        steps = [s.id for s in self.by_step]
        rank = {"no": 0, "unknown": 1, None: 2}
        todo = [(rank[a.value], steps.index(a.item.step), i, a) for i, a in enumerate(self.answers) if a.value != "yes"]
        return [a for *_, a in sorted(todo, key=lambda x: x[:3])]

    def next_actions(self) -> list[Answer]:
        """The items of the current step that are not Yes, in checklist order."""
        return [a for a in self.answers if a.item.step == self.current_step and a.value != "yes"]


def diagnose(checklist: Checklist, found: Mapping[str, Evidence], user: Mapping[str, str | None]) -> Diagnosis:
    answers = resolve(checklist, found, user)
    steps = [tally([a for a in answers if a.item.step == s.id], s.id) for s in checklist.steps]
    cats = [tally([a for a in answers if a.item.category == c.id], c.id) for c in checklist.categories]
    current = next((s.id for s in steps if not s.done), None)
    return Diagnosis(answers, tally(answers), steps, cats, current)
