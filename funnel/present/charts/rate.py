"""Opportunity-rate charts: rate by lead source (horizontal bars) and by month of lead
creation (cohort columns, by month, quarter or year), each with its 95% Wilson interval, the
grey benchmark band and the orange target line (both named in the legend).

Every number a chart shows is computed here in Python and put into the chart's inline data,
so a test reads it from ``chart.to_dict()`` and labels never depend on Vega transforms.
Small samples and still-maturing months are drawn lighter, with a dashed outline, and say so
in their label: colour alone does not survive a washed-out projector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.config import setting
from funnel.i18n import t
from funnel.measures.cohorts import Cohort
from funnel.measures.metrics import Rate
from funnel.measures.periods import cohorts_by, grain_for_months, grain_of, label_every
from funnel.measures.sources import fold, regroup
from funnel.model.sources import SourceMap
from funnel.planning.targets import BENCHMARK_BAND
from funnel.present.charts import COLORS, haloed, height_for
from funnel.present.format import num, pct, source_label

KINDS = ("normal", "small", "maturing")
_FILL = {"normal": COLORS["data"], "small": COLORS["data_light"], "maturing": "#cbd5e1"}
SORTS = ("rate", "leads")


def _kind_labels(lang: str, context: str) -> dict[str, str]:
    """Legend words of each kind; what "normal" means depends on the chart."""
    normal = (t("rate.chart.kind.normal_source", lang, n=setting("small_sample_n")) if context == "source"
              else t(f"rate.chart.kind.normal_{context}", lang))   # month / quarter / year
    return {"normal": normal,
            "small": t("rate.chart.kind.small", lang, n=setting("small_sample_n")),
            "maturing": t("rate.chart.kind.maturing", lang)}


def _color(kinds_present: Sequence[str], lang: str, context: str) -> alt.Color:
    labels = _kind_labels(lang, context)
    shown = [k for k in KINDS if k in kinds_present]
    # One kind needs no legend; two or more do (light bars must say what they are).
    legend = (alt.Legend(title=None, orient="bottom", labelFontSize=14, symbolSize=200, labelLimit=480)
              if len(shown) > 1 else None)
    return alt.Color("kind_label:N", scale=alt.Scale(domain=[labels[k] for k in shown],
                                                     range=[_FILL[k] for k in shown]), legend=legend)



def _rate_tooltips(group: alt.Tooltip, lang: str) -> list[alt.Tooltip]:
    """The tooltip of a rate bar: its group (source or month), then the numbers of the table."""
    return [group,
            alt.Tooltip("leads:Q", title=t("rate.col.leads", lang), format=","),
            alt.Tooltip("converted:Q", title=t("rate.col.converted", lang), format=","),
            alt.Tooltip("rate:Q", title=t("term.opportunity_rate", lang), format=".1%"),
            alt.Tooltip("ci_low:Q", title=t("rate.col.ci_low", lang), format=".1%"),
            alt.Tooltip("ci_high:Q", title=t("rate.col.ci_high", lang), format=".1%")]

def _reference_layers(band: tuple[float, float], target: float, lang: str, scope: str, axis: str,
                      scale: alt.Scale) -> tuple[alt.Chart, alt.Chart]:
    """The benchmark band (a rect) and the target (a dashed rule) across the rate axis ``axis``
    (``"x"`` for bars, ``"y"`` for columns), with one colour encoding that names both in a
    legend (never as text over the bars). The band says what it measures (``scope``: overall,
    ad-sourced or per channel: ``benchmarks.toml``)."""
    band_text = t("rate.chart.band_scoped", lang, scope=t(f"bench.scope.{scope}", lang),
                  lo=pct(band[0], 0), hi=pct(band[1], 0))
    target_text = t("rate.chart.target", lang, target=pct(target, 1))
    color = alt.Color("ref:N", scale=alt.Scale(domain=[band_text, target_text],
                                               range=[COLORS["benchmark"], COLORS["target"]]),
                      legend=alt.Legend(title=None, orient="top", labelFontSize=14, symbolSize=220,
                                        labelLimit=520, symbolStrokeWidth=3))
    at, to = (alt.X, alt.X2) if axis == "x" else (alt.Y, alt.Y2)
    band_rect = alt.Chart(alt.Data(values=[{"lo": band[0], "hi": band[1], "ref": band_text}]),
                          description="benchmark-band").mark_rect(opacity=0.22).encode(
        at("lo:Q", scale=scale), to("hi:Q"), color=color)
    # The rule's colour is a stroke, which Vega-Lite would list again in a second legend: the
    # rect's legend already names both.
    target_rule = alt.Chart(alt.Data(values=[{"target": target, "ref": target_text}]),
                            description="target").mark_rule(strokeWidth=3, strokeDash=[8, 4]).encode(
        at("target:Q", scale=scale), color=color.legend(None))
    return band_rect, target_rule


def _flagged_outline(stroke: str) -> dict[str, Any]:
    """Small samples and maturing periods: a dashed outline in ``stroke`` (colour alone does
    not survive a washed-out projector); normal bars have none."""
    normal = "datum.kind == 'normal'"
    return {"stroke": alt.StrokeValue(stroke, condition={"test": normal, "value": None}),
            "strokeDash": alt.StrokeDashValue([5, 3], condition={"test": normal, "value": [1, 0]})}


def _ranking(rates: Sequence[Rate], sort: str, lang: str, min_leads: int | None,
             top: int | None, mapping: SourceMap | None) -> list[tuple[str, Rate, bool]]:
    """(label, rate, is 残りのソース) per bar, in drawing order: variants grouped (or sources mapped
    to channels), small and beyond-top sources in one 残りのソース bar, drawn last."""
    top = int(setting("chart_top_sources")) if top is None else top
    ranking = fold(regroup(rates, mapping, lang), min_leads=min_leads, top=top)
    kept = ranking.kept if sort == "rate" else sorted(ranking.kept, key=lambda s: (-s.rate.leads, str(s.group)))
    out = [(source_label(s.group, lang), s.rate, False) for s in kept]
    if ranking.other is not None:
        out.append((t("sources.other_top", lang, count=len(ranking.folded)), ranking.other.rate, True))
    return out


def source_values(rates: Sequence[Rate], lang: str, small_n: int | None = None, *, sort: str = "rate",
                  min_leads: int | None = None, top: int | None = None,
                  mapping: SourceMap | None = None) -> list[dict[str, Any]]:
    """One record per bar: rate, interval, n, whether the sample is small, the label text,
    and ``lane``: where the value labels stand, right of every whisker (a label never sits on
    an interval's cap)."""
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    labels = _kind_labels(lang, "source")
    out: list[dict[str, Any]] = []
    for i, (label, r, other) in enumerate(_ranking(rates, sort, lang, min_leads, top, mapping)):
        lo, hi = r.ci
        kind = "small" if r.leads < small_n else "normal"
        text = t("rate.chart.bar_text", lang, rate=pct(r.rate), n=num(r.leads))
        if kind == "small":
            text += t("rate.chart.small_mark", lang)
        out.append({"label": label, "order": i, "other": other, "leads": r.leads, "converted": r.converted,
                    "rate": r.rate, "ci_low": lo, "ci_high": hi, "kind": kind, "kind_label": labels[kind],
                    "text": text})
    lane = max((v["ci_high"] for v in out), default=0.0)
    for v in out:
        v["lane"] = lane
    return out


def _x_max(values: Sequence[dict[str, Any]], band: tuple[float, float], target: float) -> float:
    """Right end of the rate axis: the label lane (right of the widest whisker), the band or
    the target, plus room for the labels after the lane."""
    lane = max((v["lane"] for v in values), default=0.0)
    return min(1.0, max(lane * 1.45 + 0.03, band[1] * 1.1, target * 1.1))


def build_rate_by_source(rates: Sequence[Rate], *, target: float, lang: str, sort: str = "rate",
                         band: tuple[float, float] = BENCHMARK_BAND, small_n: int | None = None,
                         min_leads: int | None = None, top: int | None = None, band_scope: str = "ad",
                         mapping: SourceMap | None = None) -> alt.LayerChart:
    """Horizontal bars of 商談化率 per source with interval whiskers, benchmark band, target line.

    Sources are grouped as :func:`funnel.measures.sources.regroup` says (spelling variants,
    or channels with ``mapping``). ``sort="rate"`` ranks by the ranking rate, which shrinks
    small samples toward the overall rate, so a 1-of-1 source never leads; ``leads``: most
    leads first. Sources under ``min_leads`` (setting ``source_min_leads``) and beyond the
    ``top`` (setting ``chart_top_sources``) make one 残りのソース bar, last. Value labels stand in
    one column right of every whisker; the band and the target are named in the legend.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}")
    values = source_values(rates, lang, small_n, sort=sort, min_leads=min_leads, top=top, mapping=mapping)
    order = [v["label"] for v in values]
    x_scale = alt.Scale(domain=[0, _x_max(values, band, target)], nice=False)
    x = alt.X("rate:Q", title=t("term.opportunity_rate", lang), scale=x_scale,
              axis=alt.Axis(format=".0%", tickCount=8))
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=15, labelLimit=260))
    band_rect, target_rule = _reference_layers(band, target, lang, band_scope, "x", x_scale)
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    bars = base.mark_bar(height={"band": 0.62}, strokeWidth=1.5).encode(
        x=x, color=_color([v["kind"] for v in values], lang, "source"), **_flagged_outline(COLORS["data"]),
        tooltip=_rate_tooltips(alt.Tooltip("label:N", title=t("term.source", lang)), lang))
    whiskers = base.mark_errorbar(ticks=True, thickness=2, color=COLORS["text"]).encode(
        x=alt.X("ci_low:Q", scale=x_scale, title=t("term.opportunity_rate", lang)), x2=alt.X2("ci_high:Q"))
    labels = haloed(base, {"x": alt.X("lane:Q", scale=x_scale), "text": alt.Text("text:N")},
                     align="left", dx=10, fontSize=15, color=COLORS["text"])
    return alt.layer(band_rect, bars, whiskers, target_rule, *labels,
                     height=height_for(len(values), per_row=46, minimum=200)).resolve_scale(color="independent")


def cohort_values(cohorts: Sequence[Cohort], lang: str, small_n: int | None = None,
                  grain: str = "month") -> list[dict[str, Any]]:
    """One record per dated period: rate, interval, n, maturing / small flag, label texts,
    and ``lane``: the height of the value labels, above every whisker but those of small
    periods (``ci_high_shown``: their whisker cut at the lane, the full interval in the
    tooltip and the table), so one lead of 2018 does not squash every other column."""
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    labels = _kind_labels(lang, grain)
    out: list[dict[str, Any]] = []
    for c in cohorts:
        if c.month is None:         # undated leads have no period to draw; the table lists them
            continue
        r = c.rate
        lo, hi = r.ci
        kind = "maturing" if c.maturing else ("small" if r.leads < small_n else "normal")
        # Colour shows one kind (maturing wins); the words show both when both apply.
        flags = [t("rate.chart.maturing_mark", lang)] if c.maturing else []
        if r.leads < small_n:
            flags.append(t("rate.chart.small_mark_short", lang))
        flag = " ".join(flags)
        out.append({"month": c.month, "leads": r.leads, "converted": r.converted, "rate": r.rate,
                    "ci_low": lo, "ci_high": hi, "kind": kind, "kind_label": labels[kind],
                    "rate_text": pct(r.rate), "n_text": f"n={num(r.leads)}", "flag_text": flag})
    sized = [v for v in out if v["leads"] >= small_n] or out
    lane = max((v["ci_high"] for v in sized), default=0.0)
    lane = max([lane, *(v["rate"] for v in out)])        # every bar itself is always whole
    for v in out:
        v["lane"] = lane
        v["ci_high_shown"] = min(v["ci_high"], lane)
    return out


#: Pixels above the label lane that the three label lines take (flag, rate, n).
_LABEL_PX = 58
_MONTH_HEIGHT = 440


def periods_of(cohorts: Sequence[Cohort], grain: str | None = None) -> tuple[list[Cohort], str]:
    """The cohorts in the period a chart draws them in: ``grain``, or the finest period that
    keeps the bars within ``chart_max_bars`` (monthly cohorts summed; see
    :mod:`funnel.measures.periods`)."""
    dated = [c.month for c in cohorts if c.month is not None]
    given = grain_of(dated[0]) if dated else "month"
    if given != "month":
        return list(cohorts), given
    grain = grain or grain_for_months(dated)
    return cohorts_by(cohorts, grain), grain


def _y_top(lane: float, room: float, band: tuple[float, float], target: float) -> float:
    """Top of the rate axis: room above the label lane, the band and the target."""
    return min(1.0, max(lane * room, band[1] * 1.08, target * 1.08) + 0.01)


def build_rate_by_month(cohorts: Sequence[Cohort], *, target: float, lang: str,
                        band: tuple[float, float] = BENCHMARK_BAND, small_n: int | None = None,
                        grain: str | None = None, band_scope: str = "ad") -> alt.LayerChart:
    """Columns of 商談化率 per period of lead creation, oldest left, with interval whiskers,
    the benchmark band and the target; still-maturing periods drawn light and labelled.

    Monthly cohorts over a long span are summed into quarters or years (``grain``, else
    chosen so there are at most ``chart_max_bars`` columns). Up to ``chart_max_value_labels``
    columns carry their flag, rate and n, in one lane above every whisker (never on a cap);
    with more, the tooltip and the table carry them. At most ``chart_max_axis_labels``
    period labels. The band and target are named in the legend.
    """
    shown, grain = periods_of(cohorts, grain)
    values = cohort_values(shown, lang, small_n, grain)
    lane = max((v["lane"] for v in values), default=0.0)
    labelled = len(values) <= int(setting("chart_max_value_labels"))
    # Room above the lane for the label lines (when drawn), and for the band and the target.
    room = 1 / (1 - _LABEL_PX / _MONTH_HEIGHT) if labelled else 1.08
    top = _y_top(lane, room, band, target)
    if labelled and lane - 0.002 <= target <= lane + top * _LABEL_PX / _MONTH_HEIGHT:
        # The target rule would cross the label block: the labels stand just above it instead.
        lane = target + top * 4 / _MONTH_HEIGHT
        top = _y_top(lane, room, band, target)
        for v in values:
            v["lane"] = lane
    y_scale = alt.Scale(domain=[0, top], nice=False)
    y = alt.Y("rate:Q", title=t("term.opportunity_rate", lang), scale=y_scale, axis=alt.Axis(format=".0%"))
    every = label_every(len(values))
    ticks = [v["month"] for i, v in enumerate(values) if i % every == 0]
    x = alt.X("month:O", title=t(f"rate.chart.axis.{grain}", lang), sort=[v["month"] for v in values],
              axis=alt.Axis(labelAngle=0, labelFontSize=13, values=ticks, labelOverlap=True))
    band_rect, target_rule = _reference_layers(band, target, lang, band_scope, "y", y_scale)
    base = alt.Chart(alt.Data(values=values)).encode(x=x)
    bars = base.mark_bar(width={"band": 0.62}, strokeWidth=1.5).encode(
        # The legend words are the period's (year, quarter, month): a word outside the colour
        # domain would get no fill at all (Pardot's mature years were drawn as bare whiskers).
        y=y, color=_color([v["kind"] for v in values], lang, grain), **_flagged_outline(COLORS["muted"]),
        tooltip=_rate_tooltips(alt.Tooltip("month:O", title=t(f"rate.chart.axis.{grain}", lang)), lang))
    whiskers = base.mark_errorbar(ticks=True, thickness=2, color=COLORS["text"]).encode(
        y=alt.Y("ci_low:Q", scale=y_scale, title=t("term.opportunity_rate", lang)), y2=alt.Y2("ci_high_shown:Q"))
    texts: list[alt.Chart] = []
    if labelled:
        at_lane = alt.Y("lane:Q", scale=y_scale)
        texts += haloed(base, {"y": at_lane, "text": alt.Text("n_text:N")}, baseline="bottom", dy=-6,
                         fontSize=12, color=COLORS["muted"])
        texts += haloed(base, {"y": at_lane, "text": alt.Text("rate_text:N")}, baseline="bottom", dy=-20,
                         fontSize=14, fontWeight="bold", color=COLORS["text"])
        texts += haloed(base, {"y": at_lane, "text": alt.Text("flag_text:N")}, baseline="bottom", dy=-37,
                         fontSize=12, fontWeight="bold", color=COLORS["warn"])
    return alt.layer(band_rect, bars, whiskers, target_rule, *texts,
                     height=_MONTH_HEIGHT).resolve_scale(color="independent")
