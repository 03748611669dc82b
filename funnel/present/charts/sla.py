"""SLA / speed charts: the spread of days per group (a box from the 25th to the 75th
percentile, whiskers from the 10th to the 90th, the median marked and written) with the SLA
as an orange line, and the share of intervals within the SLA per group (bars with 95%
intervals).

The boxes are drawn from percentiles computed in DuckDB, never from the individual
intervals, so a million leads cost the chart nothing; every number is in the inline data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.config import setting
from funnel.i18n import t
from funnel.measures.sla import Spread
from funnel.present.charts import COLORS, haloed, height_for, layer
from funnel.present.format import num, owner_label, pct, source_label

GROUPS = ("source", "owner", "outcome")


def group_label(s: Spread, by: str, lang: str) -> str:
    """A group's name as the tables and charts show it (blank ones named, never dropped)."""
    if by == "source":
        return t("sla.no_lead", lang) if s.no_lead else source_label(s.group, lang)
    if by == "owner":
        return owner_label(s.group, lang)
    if by == "outcome":
        return t(f"term.{s.group}", lang) if s.group in ("won", "lost") else str(s.group)
    raise ValueError(f"by must be one of {GROUPS}")


#: Measured days (percentiles, so often fractional) shown to this many decimals everywhere:
#: headline, chart text and tooltips, and the tables' "%.1f" columns alike.
DAY_DIGITS = 1


def days_text(days: float | None, lang: str) -> str:
    return "—" if days is None else t("sla.days", lang, days=num(days, DAY_DIGITS))


def spread_values(spreads: Sequence[Spread], by: str, lang: str) -> list[dict[str, Any]]:
    """One record per group with at least one measured interval: percentiles and texts."""
    out = []
    for s in spreads:
        if not s.measured:
            continue
        p10, p25, p50, p75, p90 = s.quantiles
        out.append({"label": group_label(s, by, lang), "n": s.measured, "p10": p10, "p25": p25, "p50": p50,
                    "p75": p75, "p90": p90,
                    "text": t("sla.chart.median_text", lang, days=num(p50, DAY_DIGITS), n=num(s.measured))})
    return out


def build_spread(spreads: Sequence[Spread], *, by: str, lang: str, sla_days: int | None = None,
                 axis_title: str | None = None) -> alt.LayerChart:
    """Horizontal boxes of days per group, in the order given; the SLA an orange line."""
    values = spread_values(spreads, by, lang)
    order = [v["label"] for v in values]
    top = max([*(v["p90"] for v in values), sla_days or 0, 1])
    x_scale = alt.Scale(domain=[0, top * 1.32 + 2], nice=False)
    x_title = axis_title or t("sla.chart.days_axis", lang)
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=15, labelLimit=260))
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    tooltip = [alt.Tooltip("label:N", title=t(f"sla.col.{by}", lang)),
               alt.Tooltip("n:Q", title=t("sla.col.measured", lang), format=","),
               *(alt.Tooltip(f"{p}:Q", title=t(f"sla.col.{p}", lang), format=".1f")
                 for p in ("p10", "p25", "p50", "p75", "p90"))]
    whisker = base.mark_rule(strokeWidth=2, color=COLORS["text"]).encode(
        x=alt.X("p10:Q", scale=x_scale, title=x_title), x2=alt.X2("p90:Q"))
    box = base.mark_bar(height={"band": 0.6}, color=COLORS["data_light"], stroke=COLORS["data"],
                        strokeWidth=1.5).encode(x=alt.X("p25:Q", scale=x_scale), x2=alt.X2("p75:Q"), tooltip=tooltip)
    median = base.mark_tick(thickness=4, size=30, color=COLORS["data"]).encode(
        x=alt.X("p50:Q", scale=x_scale), tooltip=tooltip)
    layers: list[Any] = [whisker, box, median,
                         *haloed(base, {"x": alt.X("p90:Q", scale=x_scale), "text": alt.Text("text:N")},
                                 align="left", dx=8, fontSize=14, baseline="middle", color=COLORS["text"])]
    if sla_days is not None:
        ref = [{"days": sla_days, "text": t("sla.chart.sla", lang, days=num(sla_days))}]
        layers.append(alt.Chart(alt.Data(values=ref), description="sla").mark_rule(
            color=COLORS["target"], strokeWidth=3, strokeDash=[8, 4]).encode(x=alt.X("days:Q", scale=x_scale)))
        layers.append(alt.Chart(alt.Data(values=ref)).mark_text(
            color=COLORS["target"], fontSize=14, fontWeight="bold", baseline="bottom", dy=-2).encode(
            x=alt.X("days:Q", scale=x_scale), y=alt.YValue(-4), text=alt.Text("text:N")))
    return layer(*layers, height=height_for(len(values), per_row=46, minimum=160))


def within_values(spreads: Sequence[Spread], by: str, lang: str, small_n: int | None = None) -> list[dict[str, Any]]:
    """One record per group with measured intervals: share within the SLA and its interval."""
    small_n = int(setting("small_sample_n")) if small_n is None else small_n
    out = []
    for s in spreads:
        share, ci = s.within_share, s.within_ci
        if share is None or ci is None:
            continue
        small = s.measured < small_n
        out.append({"label": group_label(s, by, lang), "n": s.measured, "within": s.within, "share": share,
                    "ci_low": ci[0], "ci_high": ci[1], "small": small,
                    "text": t("sla.chart.share_text", lang, share=pct(share, 0), n=num(s.measured))
                    + (t("sla.chart.small_mark", lang) if small else "")})
    return out


def build_within(spreads: Sequence[Spread], *, by: str, sla_days: int, lang: str,
                 small_n: int | None = None) -> alt.LayerChart:
    """Horizontal bars of the share within the SLA per group (highest first), with 95%
    Wilson whiskers; small groups drawn light and marked."""
    values = within_values(spreads, by, lang, small_n)
    order = [v["label"] for v in sorted(values, key=lambda v: (-v["share"], -v["n"], v["label"]))]
    x_scale = alt.Scale(domain=[0, 1.3], nice=False)
    title = t("sla.chart.within_axis", lang, days=num(sla_days))
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=15, labelLimit=260))
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    bars = base.mark_bar(height={"band": 0.62}).encode(
        x=alt.X("share:Q", scale=x_scale, title=title,
                axis=alt.Axis(format=".0%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0])),
        color=alt.ColorValue(COLORS["data"], condition={"test": "datum.small", "value": COLORS["data_light"]}),
        tooltip=[alt.Tooltip("label:N", title=t(f"sla.col.{by}", lang)),
                 alt.Tooltip("n:Q", title=t("sla.col.measured", lang), format=","),
                 alt.Tooltip("within:Q", title=t("sla.col.within", lang), format=","),
                 alt.Tooltip("share:Q", title=t("sla.col.within_share", lang), format=".1%")])
    whiskers = base.mark_errorbar(ticks=True, thickness=2, color=COLORS["text"]).encode(
        x=alt.X("ci_low:Q", scale=x_scale, title=title), x2=alt.X2("ci_high:Q"))
    labels = haloed(base, {"x": alt.X("ci_high:Q", scale=x_scale), "text": alt.Text("text:N")},
                    align="left", dx=8, fontSize=15, baseline="middle", color=COLORS["text"])
    return layer(bars, whiskers, *labels,
                     height=height_for(len(values), per_row=46, minimum=160))
