"""Loss-reason charts: the Pareto of categories and the per-group breakdown.

Both builders take aggregated rows from :mod:`funnel.measures.loss` (a handful of categories, at most
a few hundred groups) and put every number the chart shows into its data, computed here in
Python, so a test can read ``chart.to_dict()`` and so labels never depend on Vega transforms.
Each category keeps its colour of ``LOSS_COLORS`` on every chart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import altair as alt

from funnel.measures.loss import BreakdownRow, ParetoRow
from funnel.measures.periods import breakdown_by, grain_for_months
from funnel.model.rules import LOSS_CATEGORIES
from funnel.present.charts import COLORS, LOSS_COLORS, height_for, layer

# Dark text on the light category colours, white on the others (contrast on a projector).
_LIGHT = frozenset({"timing", "blank"})
#: Segments narrower than this share of their bar get no label (it would not fit).
MIN_LABEL_SHARE = 0.06
PARETO_LINE = COLORS["text"]
#: The Pareto reference: the few categories that make up 80% of losses.
REFERENCE = 0.8
# Room above 100% on the cumulative axis for the labels of the last points.
HEADROOM = 1.08


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _scale(categories: Sequence[str], labels: Mapping[str, str] | None = None) -> alt.Scale:
    domain = [labels[c] for c in categories] if labels else list(categories)
    return alt.Scale(domain=domain, range=[LOSS_COLORS[c] for c in categories])


#: Room above the tallest bar for its label (the bars' axis ends here, not at 100%).
BAR_HEADROOM = 1.3


def build_loss_pareto(rows: Sequence[ParetoRow], labels: Mapping[str, str], *, count_title: str,
                      share_title: str, cumulative_title: str, axis_title: str,
                      count_text: Callable[[int], str] = "{:,}".format, height: int = 400) -> alt.LayerChart:
    """Bars of lost deals per category, largest first, with the cumulative share as a line
    and a dashed 80% reference.

    The bars have their own axis (left, share of lost deals, up to the largest share plus room
    for its label), the cumulative line its own (right, 0–100%): on one shared 0–100% axis a
    largest category of 20% would fill the bottom fifth of the chart. Every bar carries its
    count and share.

    Args:
        rows: from :func:`funnel.measures.loss.pareto` (already sorted, cumulative ends at 1.0).
        labels: category id → label shown on the axis.
        count_title, share_title, cumulative_title: tooltip titles; axis_title: the bars' axis
            (the line's axis is titled ``cumulative_title``).
        count_text: a count as the bar label says it ("29件", "1 deal"; the caller's language).
    """
    bar_top = max([r.share for r in rows], default=1.0) * BAR_HEADROOM or 1.0
    values: list[dict[str, Any]] = [{"category": r.category, "label": labels[r.category], "order": i, "count": r.count,
               "share": r.share, "cumulative": r.cumulative,
               "bar_text": f"{count_text(r.count)}\n{_pct(r.share)}",
               # Two lines of text fit inside a bar taller than ~44 px; else they go on top.
               "inside": r.share / bar_top * height >= 44,
               "text_color": COLORS["text"] if r.category in _LIGHT else "#ffffff",
               "cum_text": _pct(r.cumulative)} for i, r in enumerate(rows)]
    x = alt.X("label:N", sort=[v["label"] for v in values], title=None,
              axis=alt.Axis(labelAngle=0, labelFontSize=15, labelLimit=220, labelPadding=8))
    base = alt.Chart(alt.Data(values=values)).encode(x=x)
    bar_scale = alt.Scale(domain=[0, bar_top], nice=False)
    y = alt.Y("share:Q", title=axis_title, scale=bar_scale, axis=alt.Axis(format="%", orient="left", tickCount=6))
    tooltip = [alt.Tooltip("label:N", title=" "), alt.Tooltip("count:Q", title=count_title, format=","),
               alt.Tooltip("share:Q", title=share_title, format=".1%"),
               alt.Tooltip("cumulative:Q", title=cumulative_title, format=".1%")]
    bars = base.mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3, width={"band": 0.72}).encode(
        y=y, color=alt.Color("category:N", scale=_scale([r.category for r in rows]), legend=None),
        tooltip=tooltip)
    line_height = 18
    text: dict[str, Any] = {"lineBreak": "\n", "fontSize": 16, "fontWeight": "bold", "lineHeight": line_height}
    inside = base.transform_filter("datum.inside").mark_text(baseline="top", dy=7, **text).encode(
        y=y, text=alt.Text("bar_text:N"), color=alt.Color("text_color:N", scale=None))
    # Vega anchors a multi-line text at its first line: lift it by the second line too.
    above = base.transform_filter("!datum.inside").mark_text(
        baseline="bottom", dy=-5 - line_height, color=COLORS["text"], **text).encode(y=y, text=alt.Text("bar_text:N"))
    cum_scale = alt.Scale(domain=[0, HEADROOM], nice=False)
    cum_axis = alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0], orient="right", grid=False)
    cum_y = alt.Y("cumulative:Q", title=cumulative_title, scale=cum_scale, axis=cum_axis)
    line = base.mark_line(color=PARETO_LINE, strokeWidth=2.5).encode(y=cum_y)
    points = base.mark_point(color=PARETO_LINE, filled=True, size=70, opacity=1).encode(y=cum_y, tooltip=tooltip)
    # Up and to the left of each point, on a white halo: the line arrives from the lower left
    # and leaves to the upper right, so that corner is free of the line (a bar may be there).
    cum_mark: dict[str, Any] = {"align": "right", "baseline": "bottom", "dx": -7, "dy": -5, "fontSize": 14}
    cum_halo = base.mark_text(**cum_mark, stroke="white", strokeWidth=4, strokeJoin="round").encode(
        y=cum_y, text=alt.Text("cum_text:N"))
    cum_text = base.mark_text(**cum_mark, color=PARETO_LINE).encode(y=cum_y, text=alt.Text("cum_text:N"))
    rule = alt.Chart(alt.Data(values=[{"cumulative": REFERENCE}])).mark_rule(
        color=COLORS["muted"], strokeDash=[6, 4], strokeWidth=1.5).encode(y=cum_y)
    bars_layer = alt.layer(bars, inside, above)
    line_layer = alt.layer(rule, line, points, cum_halo, cum_text)
    return alt.layer(bars_layer, line_layer, height=height).resolve_scale(y="independent")


def build_loss_by_period(rows: Sequence[BreakdownRow], labels: Mapping[str, str], *, normalize: bool,
                         value_title: str, count_title: str, share_title: str, undated_label: str,
                         grain: str | None = None) -> tuple[alt.LayerChart, str]:
    """:func:`build_loss_breakdown` of monthly rows (close month) over any span: the months
    summed into quarters or years so there are at most ``chart_max_bars`` bars; the chart
    and the grain used. Rows without a month are labelled ``undated_label``."""
    dated = [r.group for r in rows if r.kind == "value" and r.group]
    grain = grain or grain_for_months(dated)
    shown = breakdown_by(rows, grain)
    group_labels = [r.group if r.kind == "value" and r.group else undated_label for r in shown]
    return build_loss_breakdown(shown, group_labels, labels, normalize=normalize, value_title=value_title,
                                count_title=count_title, share_title=share_title), grain


def breakdown_values(rows: Sequence[BreakdownRow], group_labels: Sequence[str], labels: Mapping[str, str], *,
                     normalize: bool) -> list[dict[str, Any]]:
    """One record per (group, category present): bar start/end (share or count), label, colour."""
    out = []
    for row, glabel in zip(rows, group_labels, strict=True):
        start = 0.0
        for i, cat in enumerate(LOSS_CATEGORIES):
            n = row.counts.get(cat, 0)
            if not n:
                continue
            share = n / row.total
            width = share if normalize else float(n)
            wide = share >= MIN_LABEL_SHARE if normalize else n / max(r.total for r in rows) >= MIN_LABEL_SHARE
            out.append({"group": glabel, "category": cat, "label": labels[cat], "order": i, "count": n,
                        "share": share, "total": row.total, "start": start, "end": start + width,
                        "mid": start + width / 2,
                        "text": (_pct(share) if normalize else f"{n:,}") if wide else "",
                        "text_color": COLORS["text"] if cat in _LIGHT else "#ffffff"})
            start += width
    return out


def build_loss_breakdown(rows: Sequence[BreakdownRow], group_labels: Sequence[str], labels: Mapping[str, str],
                         *, normalize: bool, value_title: str, count_title: str, share_title: str,
                         group_title: str = "") -> alt.LayerChart:
    """Horizontal stacked bars, one per group in the given order: each category's share of the
    group's lost deals (``normalize``) or its count. Segments carry their % or count when wide
    enough; the tooltip always has both."""
    values = breakdown_values(rows, group_labels, labels, normalize=normalize)
    present = [c for c in LOSS_CATEGORIES if any(v["category"] == c for v in values)]
    y = alt.Y("group:N", sort=list(group_labels), title=group_title or None,
              axis=alt.Axis(labelFontSize=14, labelLimit=280))
    scale = alt.Scale(domain=[0, 1]) if normalize else alt.Scale(nice=True)
    axis = alt.Axis(format="%") if normalize else alt.Axis(format=",d", tickMinStep=1)
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    bars = base.mark_bar(height={"band": 0.72}).encode(
        x=alt.X("start:Q", title=value_title, scale=scale, axis=axis), x2=alt.X2("end:Q"),
        color=alt.Color("label:N", scale=_scale(present, labels),
                        legend=alt.Legend(title=None, orient="top", labelFontSize=14, symbolSize=180)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("group:N", title=group_title or " "), alt.Tooltip("label:N", title=" "),
                 alt.Tooltip("count:Q", title=count_title, format=","),
                 alt.Tooltip("share:Q", title=share_title, format=".1%")])
    text = base.mark_text(fontSize=13, fontWeight="bold").encode(
        x=alt.X("mid:Q", scale=scale), text=alt.Text("text:N"), color=alt.Color("text_color:N", scale=None))
    return layer(bars, text, height=height_for(len(rows), per_row=40))
