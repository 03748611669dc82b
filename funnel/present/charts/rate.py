"""Opportunity-rate charts: rate by lead source (horizontal bars) and by month of lead
creation (cohort columns), each with its 95% Wilson interval, the grey benchmark band and the
orange target line.

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
from funnel.planning.targets import BENCHMARK_BAND
from funnel.present.charts import COLORS, haloed, height_for, layer
from funnel.present.format import num, pct, source_label

KINDS = ("normal", "small", "maturing")
_FILL = {"normal": COLORS["data"], "small": COLORS["data_light"], "maturing": "#cbd5e1"}
SORTS = ("rate", "leads")


def _kind_labels(lang: str, context: str) -> dict[str, str]:
    """Legend words of each kind; what "normal" means depends on the chart."""
    normal = (t("rate.chart.kind.normal_source", lang, n=setting("small_sample_n")) if context == "source"
              else t("rate.chart.kind.normal_month", lang))
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

def _reference_values(band: tuple[float, float], target: float, lang: str) -> tuple[list[dict[str, Any]],
                                                                                   list[dict[str, Any]]]:
    band_v = [{"lo": band[0], "hi": band[1], "mid": (band[0] + band[1]) / 2,
               "text": t("rate.chart.band", lang, lo=pct(band[0], 0), hi=pct(band[1], 0))}]
    target_v = [{"target": target, "text": t("rate.chart.target", lang, target=pct(target, 1))}]
    return band_v, target_v


def source_values(rates: Sequence[Rate], lang: str, small_n: int | None = None) -> list[dict[str, Any]]:
    """One record per source: rate, interval, n, whether the sample is small, the label text."""
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    labels = _kind_labels(lang, "source")
    out = []
    for r in rates:
        lo, hi = r.ci
        kind = "small" if r.leads < small_n else "normal"
        text = t("rate.chart.bar_text", lang, rate=pct(r.rate), n=num(r.leads))
        if kind == "small":
            text += t("rate.chart.small_mark", lang)
        out.append({"label": source_label(r.group, lang), "leads": r.leads, "converted": r.converted,
                    "rate": r.rate, "ci_low": lo, "ci_high": hi, "kind": kind, "kind_label": labels[kind],
                    "text": text})
    return out


def _x_max(values: Sequence[dict[str, Any]], band: tuple[float, float], target: float) -> float:
    """Right end of the rate axis: the widest whisker, band or target, plus room for labels."""
    top = max([band[1], target, *(v["ci_high"] for v in values)])
    return min(1.0, top * 1.3 + 0.02)


def build_rate_by_source(rates: Sequence[Rate], *, target: float, lang: str, sort: str = "rate",
                         band: tuple[float, float] = BENCHMARK_BAND, small_n: int | None = None) -> alt.LayerChart:
    """Horizontal bars of 商談化率 per source with interval whiskers, benchmark band, target line.

    Args:
        rates: from :func:`funnel.measures.metrics.by_source`.
        target: the user's target rate (0–1), drawn as an orange line.
        sort: ``rate`` (highest first) or ``leads`` (most leads first).
        small_n: sources with fewer leads are drawn light and labelled (default: the setting).
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}")
    values = source_values(rates, lang, small_n)
    key = "rate" if sort == "rate" else "leads"
    order = [v["label"] for v in sorted(values, key=lambda v: (-v[key], -v["leads"], v["label"]))]
    x_scale = alt.Scale(domain=[0, _x_max(values, band, target)], nice=False)
    x = alt.X("rate:Q", title=t("term.opportunity_rate", lang), scale=x_scale,
              axis=alt.Axis(format=".0%", tickCount=8))
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=15, labelLimit=260))
    band_v, target_v = _reference_values(band, target, lang)

    band_rect = alt.Chart(alt.Data(values=band_v), description="benchmark-band").mark_rect(
        color=COLORS["benchmark"], opacity=0.22).encode(x=alt.X("lo:Q", scale=x_scale), x2=alt.X2("hi:Q"))
    band_text = alt.Chart(alt.Data(values=band_v)).mark_text(
        color=COLORS["muted"], fontSize=14, baseline="bottom", dy=-2).encode(
        x=alt.X("mid:Q", scale=x_scale), y=alt.YValue(-22), text=alt.Text("text:N"))
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    bars = base.mark_bar(height={"band": 0.62}, strokeWidth=1.5).encode(
        x=x, color=_color([v["kind"] for v in values], lang, "source"),
        stroke=alt.StrokeValue(COLORS["data"], condition={"test": "datum.kind == 'normal'", "value": None}),
        strokeDash=alt.StrokeDashValue([5, 3], condition={"test": "datum.kind == 'normal'", "value": [1, 0]}),
        tooltip=_rate_tooltips(alt.Tooltip("label:N", title=t("term.source", lang)), lang))
    whiskers = base.mark_errorbar(ticks=True, thickness=2, color=COLORS["text"]).encode(
        x=alt.X("ci_low:Q", scale=x_scale, title=t("term.opportunity_rate", lang)), x2=alt.X2("ci_high:Q"))
    labels = haloed(base, {"x": alt.X("ci_high:Q", scale=x_scale), "text": alt.Text("text:N")},
                     align="left", dx=8, fontSize=15, color=COLORS["text"])
    target_rule = alt.Chart(alt.Data(values=target_v), description="target").mark_rule(
        color=COLORS["target"], strokeWidth=3, strokeDash=[8, 4]).encode(x=alt.X("target:Q", scale=x_scale))
    target_text = alt.Chart(alt.Data(values=target_v)).mark_text(
        color=COLORS["target"], fontSize=14, fontWeight="bold", baseline="bottom", dy=-2).encode(
        x=alt.X("target:Q", scale=x_scale), y=alt.YValue(-4), text=alt.Text("text:N"))
    return layer(band_rect, bars, whiskers, target_rule, *labels, band_text, target_text,
                     height=height_for(len(values), per_row=46, minimum=200))


def cohort_values(cohorts: Sequence[Cohort], lang: str, small_n: int | None = None) -> list[dict[str, Any]]:
    """One record per dated month: rate, interval, n, maturing / small flag, label texts."""
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    labels = _kind_labels(lang, "month")
    out = []
    for c in cohorts:
        if c.month is None:         # undated leads have no month to draw; the table lists them
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
    return out


def _side_labels(band: tuple[float, float], target: float, top: float, lang: str) -> list[dict[str, Any]]:
    """Labels of the target and the band beside the plot, at their height; the band's goes to
    its lower edge when the target sits near its upper edge (they would overprint)."""
    near = abs(target - band[1]) < top * 0.06
    return [{"y": target, "text": t("rate.chart.target", lang, target=pct(target, 1)), "what": "target"},
            {"y": band[0] if near else band[1], "what": "band",
             "text": t("rate.chart.band", lang, lo=pct(band[0], 0), hi=pct(band[1], 0))}]


def build_rate_by_month(cohorts: Sequence[Cohort], *, target: float, lang: str,
                        band: tuple[float, float] = BENCHMARK_BAND, small_n: int | None = None) -> alt.LayerChart:
    """Columns of 商談化率 per month of lead creation, oldest left, with interval whiskers, the
    benchmark band and the target; still-maturing months drawn light and labelled.

    Above each whisker: the flag (集計途中 / 少数), the rate, and n, one text layer per line so
    they never overprint. The target and band are named to the right of the plot, where no
    column can be.
    """
    values = cohort_values(cohorts, lang, small_n)
    top = min(1.0, max([band[1], target, *(v["ci_high"] for v in values)]) * 1.35 + 0.02)
    y_scale = alt.Scale(domain=[0, top], nice=False)
    y = alt.Y("rate:Q", title=t("term.opportunity_rate", lang), scale=y_scale, axis=alt.Axis(format=".0%"))
    x = alt.X("month:O", title=t("rate.chart.month_axis", lang), sort=[v["month"] for v in values],
              axis=alt.Axis(labelAngle=0, labelFontSize=13))
    band_v, target_v = _reference_values(band, target, lang)
    band_rect = alt.Chart(alt.Data(values=band_v), description="benchmark-band").mark_rect(
        color=COLORS["benchmark"], opacity=0.22).encode(y=alt.Y("lo:Q", scale=y_scale), y2=alt.Y2("hi:Q"))
    base = alt.Chart(alt.Data(values=values)).encode(x=x)
    bars = base.mark_bar(width={"band": 0.62}, strokeWidth=1.5).encode(
        y=y, color=_color([v["kind"] for v in values], lang, "month"),
        stroke=alt.StrokeValue(COLORS["muted"], condition={"test": "datum.kind == 'normal'", "value": None}),
        strokeDash=alt.StrokeDashValue([5, 3], condition={"test": "datum.kind == 'normal'", "value": [1, 0]}),
        tooltip=_rate_tooltips(alt.Tooltip("month:O", title=t("rate.chart.month_axis", lang)), lang))
    whiskers = base.mark_errorbar(ticks=True, thickness=2, color=COLORS["text"]).encode(
        y=alt.Y("ci_low:Q", scale=y_scale, title=t("term.opportunity_rate", lang)), y2=alt.Y2("ci_high:Q"))
    at_top = alt.Y("ci_high:Q", scale=y_scale)
    n_text = haloed(base, {"y": at_top, "text": alt.Text("n_text:N")}, baseline="bottom", dy=-5, fontSize=12,
                     color=COLORS["muted"])
    rate_text = haloed(base, {"y": at_top, "text": alt.Text("rate_text:N")}, baseline="bottom", dy=-19, fontSize=14,
                        fontWeight="bold", color=COLORS["text"])
    flag_text = haloed(base, {"y": at_top, "text": alt.Text("flag_text:N")}, baseline="bottom", dy=-36, fontSize=12,
                        fontWeight="bold", color=COLORS["warn"])
    target_rule = alt.Chart(alt.Data(values=target_v), description="target").mark_rule(
        color=COLORS["target"], strokeWidth=3, strokeDash=[8, 4]).encode(y=alt.Y("target:Q", scale=y_scale))
    side = alt.Chart(alt.Data(values=_side_labels(band, target, top, lang))).mark_text(
        align="left", baseline="middle", dx=8, fontSize=14, fontWeight="bold").encode(
        y=alt.Y("y:Q", scale=y_scale), x=alt.XValue("width"), text=alt.Text("text:N"),
        color=alt.ColorValue(COLORS["muted"], condition={"test": "datum.what == 'target'", "value": COLORS["target"]}))
    return layer(band_rect, bars, whiskers, target_rule, *n_text, *rate_text, *flag_text, side, height=440)
