"""MQL definition check: does the MA lead score separate the leads that become opportunities,
and which score threshold should marketing hand over to sales?

A threshold ``t`` passes every lead whose score is ``>= t``. At each candidate threshold:

- **precision** (適合率) = passed leads that converted ÷ passed leads;
- **recall** (再現率) = passed leads that converted ÷ all converted scored leads;
- **volume** (引き渡し件数) = passed leads, as a count, a share of scored leads and per month.

"Converted" is the engine's definition (a lead linked to at least one opportunity). Leads
without a score cannot be passed by a score rule; they are left out of every number here and
counted (``ScoreSummary.unscored``), with their own rate shown beside the bands.

The recommended threshold maximises one criterion — F1 (the harmonic mean of precision and
recall) or Youden's J (recall − false-positive rate) — among the thresholds that meet the
user's constraints (a minimum precision, a maximum volume per month). Ties go to the higher
threshold: the same separation for fewer leads handed over.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from funnel.measures.metrics import Filters, OpportunityRate, ratio
from funnel.sql import mql as q
from funnel.sql import rows

#: Candidate thresholds at most; more distinct scores are grouped into round-number steps.
MAX_THRESHOLDS = 250
#: Bands the automatic round-number width aims for (between 5 and about 12 are drawn).
TARGET_BANDS = 10
#: Decile cut points.
DECILES: tuple[float, ...] = tuple(i / 10 for i in range(1, 10))
#: No filter: every lead (Filters is frozen, so one shared default is safe).
ALL_LEADS = Filters()
CRITERIA = ("f1", "youden")
BAND_MODES = ("width", "decile")


@dataclass(frozen=True)
class ScoreSummary:
    """The filtered leads and what their scores look like."""

    leads: int
    scored: int
    converted: int              # all converted leads of the filter (scored or not)
    converted_scored: int
    lo: float | None
    hi: float | None
    distinct: int
    integral: bool              # every score a whole number (labels "0–19" rather than "0–<20")
    first_created: dt.date | None
    last_created: dt.date | None

    @property
    def unscored(self) -> int:
        return self.leads - self.scored

    @property
    def unscored_converted(self) -> int:
        return self.converted - self.converted_scored

    @property
    def has_scores(self) -> bool:
        return self.scored > 0

    @property
    def months(self) -> int | None:
        """Calendar months spanned by the scored leads' creation dates (first and last month
        count whole): the divisor of the volume per month. None when undated."""
        if self.first_created is None or self.last_created is None:
            return None
        a, b = self.first_created, self.last_created
        return (b.year - a.year) * 12 + b.month - a.month + 1


def _date(value: object) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value if isinstance(value, dt.date) else None


def summary(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS) -> ScoreSummary:
    n, scored, conv, conv_scored, lo, hi, distinct, integral, first, last = rows(con, *q.summary(f.where()))[0]
    return ScoreSummary(int(n), int(scored), int(conv), int(conv_scored), None if lo is None else float(lo),
                        None if hi is None else float(hi), int(distinct), bool(integral), _date(first), _date(last))


def nice_step(span: float, target: int) -> float:
    """A round step (1, 2, 2.5 or 5 × 10^k) that cuts ``span`` into about ``target`` parts."""
    if span <= 0 or target <= 0:
        return 1.0
    raw = span / target
    base = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * base >= raw:
            return m * base
    return 10 * base


@dataclass(frozen=True)
class Cut:
    """The leads a threshold passes (score >= threshold) and how well they separate."""

    threshold: float
    passed: int
    passed_converted: int
    scored: int                 # every scored lead (the volume share's denominator)
    converted: int              # every converted scored lead (recall's denominator)
    months: int | None = None

    @property
    def precision(self) -> float | None:
        return ratio(self.passed_converted, self.passed)

    @property
    def recall(self) -> float | None:
        return ratio(self.passed_converted, self.converted)

    @property
    def share(self) -> float | None:
        return ratio(self.passed, self.scored)

    @property
    def per_month(self) -> float | None:
        return ratio(self.passed, self.months)

    @property
    def false_positive_rate(self) -> float | None:
        negatives = self.scored - self.converted
        return ratio(self.passed - self.passed_converted, negatives)

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    @property
    def youden(self) -> float | None:
        r, fpr = self.recall, self.false_positive_rate
        return None if r is None or fpr is None else r - fpr

    def score(self, criterion: str) -> float | None:
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}")
        return self.f1 if criterion == "f1" else self.youden


def threshold_step(s: ScoreSummary, max_thresholds: int = MAX_THRESHOLDS) -> float | None:
    """None when every distinct score can be a candidate; else the round step of the buckets."""
    if s.distinct <= max_thresholds or s.lo is None or s.hi is None:
        return None
    # span / step <= target, and flooring to the step adds at most two buckets at the ends.
    return nice_step(s.hi - s.lo, max(1, max_thresholds - 2))


def thresholds(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS, s: ScoreSummary | None = None,
               max_thresholds: int = MAX_THRESHOLDS) -> list[Cut]:
    """Every candidate threshold, lowest first (the lowest passes every scored lead)."""
    s = s or summary(con, f)
    if not s.has_scores:
        return []
    found = rows(con, *q.threshold_counts(f.where(), threshold_step(s, max_thresholds)))
    return [Cut(float(t), int(passed), int(k), s.scored, s.converted_scored, s.months)
            for t, _n, _k, passed, k in found]


def best(cuts: Sequence[Cut], criterion: str = "f1", *, min_precision: float | None = None,
         max_per_month: float | None = None, max_passed: int | None = None) -> Cut | None:
    """The threshold that maximises ``criterion`` among those meeting the constraints.

    ``max_per_month`` applies when the leads are dated (volume per month is known);
    ``max_passed`` caps the total count. None when no converted lead exists (nothing to
    separate) or no threshold meets the constraints.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}")
    ok = []
    for c in cuts:
        value = c.score(criterion)
        if value is None:
            continue
        if min_precision is not None and (c.precision or 0.0) < min_precision:
            continue
        if max_per_month is not None and c.per_month is not None and c.per_month > max_per_month:
            continue
        if max_passed is not None and c.passed > max_passed:
            continue
        ok.append((value, c.threshold, c))
    if not ok:
        return None
    return max(ok, key=lambda x: (round(x[0], 12), x[1]))[2]


def at(cuts: Sequence[Cut], threshold: float) -> Cut | None:
    """The candidate equal to ``threshold`` (else the highest one below it)."""
    below = [c for c in cuts if c.threshold <= threshold + 1e-9]
    return below[-1] if below else None


@dataclass(frozen=True)
class Band(OpportunityRate):
    """Scored leads in ``[lo, hi)`` (``hi`` None: the top band is closed at ``smax``)."""

    lo: float
    hi: float | None
    leads: int
    converted: int
    smin: float                 # lowest and highest score actually in the band
    smax: float


def bands(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS, mode: str = "width",
          width: float | None = None, s: ScoreSummary | None = None) -> list[Band]:
    """The scored leads in bands, lowest first.

    ``width``: round-number bands ``[k*w, (k+1)*w)`` (``w`` defaults to :func:`auto_width`).
    ``decile``: ten bands of about equal size cut at the deciles of the score; ties at a cut
    stay together, so a score with few distinct values gives fewer, uneven bands.
    """
    s = s or summary(con, f)
    if not s.has_scores:
        return []
    where = f.where()
    if mode == "width":
        w = width or auto_width(s)
        found = rows(con, *q.width_bands(where, w))
        return [Band(float(lo), float(lo) + w, int(n), int(k), float(a), float(b)) for lo, n, k, a, b in found]
    if mode != "decile":
        raise ValueError(f"mode must be one of {BAND_MODES}")
    raw = rows(con, *q.quantile_cuts(where, DECILES))[0][0] or []
    # The lowest score never starts a band of its own: a cut there would leave band 0 empty.
    cuts = sorted({float(c) for c in raw if c is not None and float(c) > (s.lo or 0.0)})
    found = rows(con, *q.cut_bands(where, cuts))
    edges = [s.lo or 0.0, *cuts]
    return [Band(edges[int(i)], cuts[int(i)] if int(i) < len(cuts) else None, int(n), int(k), float(a), float(b))
            for i, n, k, a, b in found]


def auto_width(s: ScoreSummary) -> float:
    """A round band width giving about :data:`TARGET_BANDS` bands over the score range."""
    if s.lo is None or s.hi is None:
        return 1.0
    w = nice_step(s.hi - s.lo, TARGET_BANDS)
    return max(w, 1.0) if s.integral else w


def current_mql(con: duckdb.DuckDBPyConnection, f: Filters = ALL_LEADS, s: ScoreSummary | None = None) -> Cut | None:
    """The MA's own MQL marking (MQL date or status MQL or beyond) as if it were a threshold,
    over the scored leads; None when the export holds no MQL information."""
    s = s or summary(con, f)
    passed, k, _with_date = rows(con, *q.current_mql(f.where()))[0]
    if not s.has_scores or not passed:
        return None
    return Cut(float("nan"), int(passed), int(k), s.scored, s.converted_scored, s.months)
