"""Where a measured rate stands against a reference: the benchmark band of 商談化率 and the
user's target, judged with the 95% interval rather than the point estimate alone (a rate of
10% on 40 leads is not "below 11%" in any useful sense)."""

from __future__ import annotations

from collections.abc import Sequence

from funnel.measures import benchmarks as bm

_FALLBACK_TARGET = 0.15


def band_and_target(items: Sequence[bm.Benchmark] | None = None) -> tuple[tuple[float, float], float]:
    """The 商談化率 band and target the rate page compares with.

    They are the ad-sourced 商談化率 benchmark of the benchmark set (``data/benchmarks.toml``,
    or the user's edited set), so the two pages never disagree; the overall 商談化率
    benchmark stands in when the set has no ad-sourced entry.
    """
    pool = list(items) if items is not None else list(bm.defaults().benchmarks)
    for metric in ("opportunity_rate_ad", "opportunity_rate"):
        found = next((b for b in pool if b.metric == metric), None)
        if found is not None:
            low, high = found.scaled(found.low), found.scaled(found.high)
            assert low is not None and high is not None
            target = found.scaled(found.target)
            return (low, high), target if target is not None else (low + high) / 2
    return (0.0, 0.0), _FALLBACK_TARGET


#: The bundled band (11–20% ad-sourced 商談化率).
BENCHMARK_BAND = band_and_target()[0]


def against_band(ci: tuple[float, float], band: tuple[float, float] = BENCHMARK_BAND) -> str:
    """``below`` / ``above`` when the whole interval lies outside the band, else ``overlaps``."""
    lo, hi = ci
    if hi < band[0]:
        return "below"
    if lo > band[1]:
        return "above"
    return "overlaps"


def against_target(ci: tuple[float, float], target: float) -> str:
    """``below`` / ``above`` when the whole interval lies on one side of the target, else
    ``undecided`` (the data cannot tell the rate from the target)."""
    lo, hi = ci
    if hi < target:
        return "below"
    if lo > target:
        return "above"
    return "undecided"


def band_scope(items: Sequence[bm.Benchmark] | None = None) -> str:
    """What the band of :func:`band_and_target` measures (``overall`` / ``ad`` / ``channel``):
    the scope of the entry it was taken from."""
    pool = list(items) if items is not None else list(bm.defaults().benchmarks)
    for metric in ("opportunity_rate_ad", "opportunity_rate"):
        found = next((b for b in pool if b.metric == metric), None)
        if found is not None:
            return found.measured_scope
    return "overall"
