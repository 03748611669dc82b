"""Charts of the comparison between two loads: the new leads of each source (with how many
already have an opportunity) and 商談化率 per source before and now.

Every number a chart shows is computed here and put into its inline data, so a test reads it
from ``chart.to_dict()``. Colours keep their meaning: this month's data in blue, the previous
load in grey; a rise in green, a fall in red, and the sign is always written too (colour alone
does not survive a washed-out projector).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.measures.diff import RateMove
from funnel.measures.metrics import Rate
from funnel.present.charts import COLORS, height_for, layer
from funnel.present.format import num, pct, source_label


def points_text(points: float | None) -> str:
    """``+1.2pt`` / ``-0.4pt`` / ``±0.0pt``; ``—`` when one side is missing."""
    if points is None:
        return "—"
    if round(points, 1) == 0:
        return "±0.0pt"
    return f"{points:+.1f}pt"


def new_leads_values(rows: Sequence[Rate], lang: str) -> list[dict[str, Any]]:
    """Two segments per source (with / without an opportunity) and the label at the bar's end."""
    out = []
    conv, rest = t("diff.chart.converted", lang), t("diff.chart.not_converted", lang)
    for r in rows:
        label = source_label(r.group, lang)
        text = t("diff.chart.bar_text", lang, n=num(r.leads), rate=pct(r.rate))
        common = {"label": label, "leads": r.leads, "converted": r.converted, "rate": r.rate, "text": text}
        out.append({**common, "part": conv, "order": 0, "start": 0, "end": r.converted})
        out.append({**common, "part": rest, "order": 1, "start": r.converted, "end": r.leads})
    return out


def build_new_leads(rows: Sequence[Rate], lang: str) -> alt.LayerChart:
    """Horizontal bars of new leads per source, most first: the part that already has an
    opportunity in dark blue, the rest light; at the end of each bar, the count and the new
    cohort's 商談化率.

    Args:
        rows: :attr:`funnel.measures.diff.Diff.new_leads_by_source`.
    """
    values = new_leads_values(rows, lang)
    order = [source_label(r.group, lang) for r in rows]
    top = max([r.leads for r in rows] or [1])
    scale = alt.Scale(domain=[0, top * 1.35], nice=False)
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=15, labelLimit=260))
    conv, rest = t("diff.chart.converted", lang), t("diff.chart.not_converted", lang)
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    bars = base.mark_bar(height={"band": 0.62}).encode(
        x=alt.X("start:Q", title=t("diff.chart.new_leads_axis", lang), scale=scale,
                axis=alt.Axis(format=",d", tickMinStep=1)),
        x2=alt.X2("end:Q"),
        color=alt.Color("part:N", scale=alt.Scale(domain=[conv, rest], range=[COLORS["data"], COLORS["data_light"]]),
                        legend=alt.Legend(title=None, orient="bottom", labelFontSize=14, symbolSize=200)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("label:N", title=t("term.source", lang)),
                 alt.Tooltip("leads:Q", title=t("diff.col.new_leads", lang), format=","),
                 alt.Tooltip("converted:Q", title=t("diff.col.converted", lang), format=","),
                 alt.Tooltip("rate:Q", title=t("term.opportunity_rate", lang), format=".1%")])
    text = base.transform_filter("datum.order == 1").mark_text(
        align="left", dx=8, fontSize=15, color=COLORS["text"]).encode(
        x=alt.X("end:Q", scale=scale), text=alt.Text("text:N"))
    return layer(bars, text, height=height_for(len(rows), per_row=46, minimum=160))


_TREND = {"up": COLORS["good"], "down": COLORS["warn"], "flat": COLORS["muted"]}


def rate_move_values(moves: Sequence[RateMove], lang: str) -> list[dict[str, Any]]:
    """One record per source present in both loads: rate before and now, change, colour."""
    out = []
    for m in moves:
        if m.before is None or m.after is None:
            continue
        change = m.change_points or 0.0
        trend = "up" if round(change, 1) > 0 else "down" if round(change, 1) < 0 else "flat"
        out.append({"label": source_label(m.group, lang), "before": m.before.rate, "after": m.after.rate,
                    "lo": min(m.before.rate, m.after.rate), "hi": max(m.before.rate, m.after.rate),
                    "leads_before": m.before.leads, "leads_after": m.after.leads,
                    "change": change, "trend": trend, "line_color": _TREND[trend],
                    "text": f"{pct(m.after.rate)} ({points_text(change)})"})
    return out


def build_rate_moves(moves: Sequence[RateMove], lang: str) -> alt.LayerChart:
    """商談化率 per source before (grey dot) and now (blue dot), joined by a line coloured by
    the direction of the change; the new rate and the change in points on the right.

    Sources present in only one of the loads have no pair to draw (the table lists them).
    """
    values = rate_move_values(moves, lang)
    order = [v["label"] for v in values]
    top = min(1.0, max([v["hi"] for v in values] or [0.1]) * 1.45 + 0.02)
    scale = alt.Scale(domain=[0, top], nice=False)
    x_axis = alt.Axis(format=".0%", tickCount=8)
    before_t, after_t = t("diff.chart.before", lang), t("diff.chart.after", lang)
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=15, labelLimit=260))
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    tooltip = [alt.Tooltip("label:N", title=t("term.source", lang)),
               alt.Tooltip("before:Q", title=before_t, format=".1%"),
               alt.Tooltip("after:Q", title=after_t, format=".1%"),
               alt.Tooltip("leads_before:Q", title=t("diff.col.leads_before", lang), format=","),
               alt.Tooltip("leads_after:Q", title=t("diff.col.leads_after", lang), format=",")]
    line = base.mark_rule(strokeWidth=4).encode(
        x=alt.X("lo:Q", scale=scale, title=t("term.opportunity_rate", lang), axis=x_axis), x2=alt.X2("hi:Q"),
        color=alt.Color("line_color:N", scale=None))      # its own colours: not in the legend
    # Before as a grey ring under now as a blue dot: both stay visible when they overlap. One
    # colour scale on both layers carries the legend.
    color = alt.Color("which:N", scale=alt.Scale(domain=[before_t, after_t],
                                                 range=[COLORS["benchmark"], COLORS["data"]]),
                      legend=alt.Legend(title=None, orient="bottom", labelFontSize=14, symbolSize=200))
    dots = [alt.Chart(alt.Data(values=[{"label": v["label"], "which": which, "rate": v[key]} for v in values]))
            .mark_point(filled=filled, size=size, strokeWidth=3, opacity=1)
            .encode(y=y, x=alt.X("rate:Q", scale=scale), color=color)
            for which, key, filled, size in ((before_t, "before", False, 210), (after_t, "after", True, 150))]
    hover = base.mark_point(opacity=0, size=400).encode(x=alt.X("after:Q", scale=scale), tooltip=tooltip)
    text = base.mark_text(align="left", dx=12, fontSize=15, color=COLORS["text"]).encode(
        x=alt.X("hi:Q", scale=scale), text=alt.Text("text:N"))
    return layer(line, *dots, hover, text, height=height_for(len(values), per_row=44, minimum=160))
