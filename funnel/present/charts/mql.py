"""MQL-threshold charts: 商談化率 by score band (columns with 95% intervals, coloured by which
side of the chosen threshold they fall on, the overall rate as a reference line) and the
precision / recall / volume curve over every candidate threshold with the chosen (and the
recommended) threshold marked.

Every number a chart shows is computed here and put into its inline data, so a test reads it
from ``chart.to_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.config import setting
from funnel.i18n import t
from funnel.measures.mql import Band, Cut
from funnel.present.charts import COLORS, haloed, layer
from funnel.present.format import num, pct

#: Band colours: wholly at or above the threshold (handed to sales), straddling it, below it.
BAND_KINDS = ("passed", "partial", "below")
_BAND_FILL = {"passed": COLORS["data"], "partial": COLORS["data_light"], "below": "#cbd5e1"}
#: Curve colours: precision, recall, volume share, and the criterion (dashed).
CURVES = ("precision", "recall", "share")
_CURVE_COLOR = {"precision": COLORS["data"], "recall": COLORS["good"], "share": COLORS["muted"],
                "f1": "#7c3aed", "youden": "#7c3aed"}


def score_text(x: float | None) -> str:
    """A score as people write it: ``107``, ``2.5``, ``1,250``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def band_label(b: Band, integral: bool, lang: str) -> str:
    """``0–19`` for whole-number scores, ``0.5–<1`` otherwise; the open top decile is labelled
    by the highest score in it."""
    if b.hi is None:
        return f"{score_text(b.lo)}–{score_text(b.smax)}"
    if integral and float(b.lo).is_integer() and float(b.hi).is_integer():
        top = b.hi - 1
        return score_text(b.lo) if top <= b.lo else f"{score_text(b.lo)}–{score_text(top)}"
    return t("mql.band.half_open", lang, lo=score_text(b.lo), hi=score_text(b.hi))


def band_kind(b: Band, threshold: float | None) -> str:
    """Which side of the threshold a band lies on (``passed`` when no threshold is given)."""
    if threshold is None or b.smin >= threshold:
        return "passed"
    return "below" if b.smax < threshold else "partial"


def band_values(bands: Sequence[Band], *, integral: bool, threshold: float | None, lang: str,
                small_n: int | None = None) -> list[dict[str, Any]]:
    """One record per band: label, n, rate, interval, side of the threshold, label texts."""
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    names = {k: t(f"mql.chart.kind.{k}", lang, threshold=score_text(threshold)) for k in BAND_KINDS}
    out = []
    for b in bands:
        lo, hi = b.ci
        kind = band_kind(b, threshold)
        small = b.leads < small_n
        out.append({"band": band_label(b, integral, lang), "leads": b.leads, "converted": b.converted,
                    "rate": b.rate, "ci_low": lo, "ci_high": hi, "kind": kind, "kind_label": names[kind],
                    "small": small, "rate_text": pct(b.rate),
                    "n_text": f"n={num(b.leads)}" + (t("mql.chart.small_mark", lang) if small else "")})
    return out


def build_band_rates(bands: Sequence[Band], *, integral: bool, overall_rate: float, threshold: float | None,
                     lang: str, small_n: int | None = None) -> alt.LayerChart:
    """Columns of 商談化率 per score band (lowest band left) with Wilson whiskers, rate and n
    above each, the overall rate as a grey dashed line, bands coloured by the threshold."""
    values = band_values(bands, integral=integral, threshold=threshold, lang=lang, small_n=small_n)
    top = min(1.0, max([overall_rate, *(v["ci_high"] for v in values), 0.05]) * 1.25 + 0.04)
    y_scale = alt.Scale(domain=[0, top], nice=False)
    order = [v["band"] for v in values]
    x = alt.X("band:N", sort=order, title=t("mql.chart.band_axis", lang),
              axis=alt.Axis(labelAngle=0 if len(values) <= 10 else -35, labelFontSize=13))
    shown = [k for k in BAND_KINDS if any(v["kind"] == k for v in values)]
    names = {k: t(f"mql.chart.kind.{k}", lang, threshold=score_text(threshold)) for k in BAND_KINDS}
    legend = alt.Legend(title=None, orient="bottom", labelFontSize=14, symbolSize=200, labelLimit=520) \
        if threshold is not None else None
    color = alt.Color("kind_label:N", scale=alt.Scale(domain=[names[k] for k in shown],
                                                      range=[_BAND_FILL[k] for k in shown]), legend=legend)
    base = alt.Chart(alt.Data(values=values)).encode(x=x)
    bars = base.mark_bar(width={"band": 0.7}).encode(
        y=alt.Y("rate:Q", title=t("term.opportunity_rate", lang), scale=y_scale, axis=alt.Axis(format=".0%")),
        color=color,
        tooltip=[alt.Tooltip("band:N", title=t("mql.col.band", lang)),
                 alt.Tooltip("leads:Q", title=t("mql.col.leads", lang), format=","),
                 alt.Tooltip("converted:Q", title=t("mql.col.converted", lang), format=","),
                 alt.Tooltip("rate:Q", title=t("term.opportunity_rate", lang), format=".1%"),
                 alt.Tooltip("ci_low:Q", title=t("mql.col.ci_low", lang), format=".1%"),
                 alt.Tooltip("ci_high:Q", title=t("mql.col.ci_high", lang), format=".1%")])
    whiskers = base.mark_errorbar(ticks=True, thickness=2, color=COLORS["text"]).encode(
        y=alt.Y("ci_low:Q", scale=y_scale, title=t("term.opportunity_rate", lang)), y2=alt.Y2("ci_high:Q"))
    at_top = alt.Y("ci_high:Q", scale=y_scale)
    layers: list[alt.Chart] = []
    for field, dy, size, weight, colour in (("n_text", -5, 12, "normal", COLORS["muted"]),
                                            ("rate_text", -19, 14, "bold", COLORS["text"])):
        layers += haloed(base, {"y": at_top, "text": alt.Text(f"{field}:N")},
                         baseline="bottom", dy=dy, fontSize=size, fontWeight=weight, color=colour)
    ref = [{"rate": overall_rate, "text": t("mql.chart.overall", lang, rate=pct(overall_rate))}]
    rule = alt.Chart(alt.Data(values=ref), description="overall").mark_rule(
        color=COLORS["muted"], strokeWidth=2, strokeDash=[6, 4]).encode(y=alt.Y("rate:Q", scale=y_scale))
    # Named to the right of the plot, where no column or its labels can be.
    ref_text = alt.Chart(alt.Data(values=ref)).mark_text(
        align="left", baseline="middle", dx=8, fontSize=14, fontWeight="bold", color=COLORS["muted"]).encode(
        y=alt.Y("rate:Q", scale=y_scale), x=alt.XValue("width"), text=alt.Text("text:N"))
    return layer(bars, whiskers, rule, *layers, ref_text, height=420)


def curve_values(cuts: Sequence[Cut], criterion: str, lang: str) -> list[dict[str, Any]]:
    """Long-format records (threshold, metric, value) of the curves, criterion included."""
    out = []
    for c in cuts:
        for metric in (*CURVES, criterion):
            value = c.score(criterion) if metric == criterion else getattr(c, metric)
            if value is None:
                continue
            out.append({"threshold": c.threshold, "metric": metric, "label": t(f"mql.curve.{metric}", lang),
                        "value": value, "passed": c.passed, "per_month": c.per_month,
                        "score": score_text(c.threshold)})
    return out


def _marker(c: Cut, what: str, lang: str) -> dict[str, Any]:
    return {"threshold": c.threshold, "what": what,
            "text": t(f"mql.chart.{what}", lang, threshold=score_text(c.threshold))}


#: Least gap between two value labels of the chosen threshold, in axis units (about one line
#: of 14 px text on the 420 px, 0–108% axis).
_LABEL_GAP = 0.05


def _label_heights(points: list[dict[str, Any]]) -> None:
    """``label_y`` of each point: its value, moved down where a higher label is less than a
    line above (equal precision and recall wrote one label over the other)."""
    above: float | None = None
    for p in sorted(points, key=lambda p: -p["value"]):
        p["label_y"] = p["value"] if above is None else min(p["value"], above - _LABEL_GAP)
        above = p["label_y"]


def build_threshold_curve(cuts: Sequence[Cut], *, criterion: str, chosen: Cut | None, recommended: Cut | None,
                          lang: str) -> alt.LayerChart:
    """Precision, recall and the share of scored leads passed, over every threshold (x), the
    criterion dashed; the chosen threshold an orange rule with its three values written on
    the curves, the recommended one a grey dashed rule when it differs."""
    values = curve_values(cuts, criterion, lang)
    metrics = [*CURVES, criterion]
    labels = [t(f"mql.curve.{m}", lang) for m in metrics]
    lo = min((c.threshold for c in cuts), default=0.0)
    hi = max((c.threshold for c in cuts), default=1.0)
    x_scale = alt.Scale(domain=[lo, hi if hi > lo else lo + 1], nice=False)
    y_scale = alt.Scale(domain=[0, 1.08], nice=False)
    x = alt.X("threshold:Q", title=t("mql.chart.threshold_axis", lang), scale=x_scale)
    colour = alt.Color("label:N", scale=alt.Scale(domain=labels, range=[_CURVE_COLOR[m] for m in metrics]),
                       legend=alt.Legend(title=None, orient="bottom", labelFontSize=14, symbolStrokeWidth=4,
                                         labelLimit=420))
    lines = alt.Chart(alt.Data(values=values)).mark_line(strokeWidth=3, interpolate="step-after").encode(
        x=x, y=alt.Y("value:Q", title=t("mql.chart.value_axis", lang), scale=y_scale,
                     axis=alt.Axis(format=".0%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0])),
        color=colour,
        strokeDash=alt.StrokeDashValue([1, 0], condition={"test": f"datum.metric == '{criterion}'", "value": [6, 4]}),
        tooltip=[alt.Tooltip("score:N", title=t("mql.col.threshold", lang)),
                 alt.Tooltip("label:N", title=" "), alt.Tooltip("value:Q", format=".1%", title="%"),
                 alt.Tooltip("passed:Q", format=",", title=t("mql.col.passed", lang))])
    layers: list[Any] = [lines]
    markers = []
    if recommended is not None and (chosen is None or recommended.threshold != chosen.threshold):
        markers.append(_marker(recommended, "recommended", lang))
    if chosen is not None:
        markers.append(_marker(chosen, "chosen", lang))
    if markers:
        rules = alt.Chart(alt.Data(values=markers), description="thresholds").mark_rule(strokeWidth=3).encode(
            x=alt.X("threshold:Q", scale=x_scale),
            color=alt.ColorValue(COLORS["muted"],
                                 condition={"test": "datum.what == 'chosen'", "value": COLORS["target"]}),
            strokeDash=alt.StrokeDashValue([6, 4], condition={"test": "datum.what == 'chosen'", "value": [1, 0]}))
        # One text layer per marker: the recommended label sits a line lower, clear of the chosen one.
        texts = [alt.Chart(alt.Data(values=[m])).mark_text(
            align="left", dx=6, fontSize=14, fontWeight="bold", baseline="top",
            color=COLORS["target"] if m["what"] == "chosen" else COLORS["muted"]).encode(
            x=alt.X("threshold:Q", scale=x_scale), y=alt.YValue(2 if m["what"] == "chosen" else 22),
            text=alt.Text("text:N"))
            for m in markers]
        layers += [rules, *texts]
    if chosen is not None:
        points = [{"threshold": chosen.threshold, "value": v, "metric": m,
                   "text": f"{t(f'mql.curve.{m}.short', lang)} {pct(v, 0)}"}
                  for m in CURVES if (v := getattr(chosen, m)) is not None]
        _label_heights(points)
        base = alt.Chart(alt.Data(values=points), description="chosen-values")
        dots = base.mark_point(filled=True, size=110, color=COLORS["target"]).encode(
            x=alt.X("threshold:Q", scale=x_scale), y=alt.Y("value:Q", scale=y_scale))
        # Right of the rule by default; left when the rule is in the right third.
        right = chosen.threshold <= lo + (hi - lo) * 0.66
        enc = {"x": alt.X("threshold:Q", scale=x_scale), "y": alt.Y("label_y:Q", scale=y_scale),
               "text": alt.Text("text:N")}
        # Above its curve (a step line runs flat through the dot: "商談化 25%" sat on it).
        layers += [dots, *haloed(base, enc, align="left" if right else "right", dx=9 if right else -9, dy=-5,
                                 fontSize=14, fontWeight="bold", baseline="bottom", color=COLORS["text"])]
    return layer(*layers, height=420)
