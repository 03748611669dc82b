"""Charts of the cost page: CPA by source against the benchmark band, and return (won amount
÷ cost) by source against the line where the won amount equals the cost.

Every number a chart shows is computed here in Python and put into the chart's inline data,
so a test reads it from ``chart.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.measures.cost import SourceCost
from funnel.present.charts import COLORS, haloed, height_for, layer
from funnel.present.format import money, money_axis


def cpa_values(rows: Sequence[SourceCost], band: tuple[float, float] | None, lang: str,
               currency: str | None = "JPY") -> list[dict[str, Any]]:
    """One record per source with a CPA, highest first; ``state`` says where it stands against
    the band (``below`` is good news for a cost). Amounts in ``currency`` (the export's)."""
    out = []
    for r in sorted((r for r in rows if r.cpa is not None), key=lambda r: -(r.cpa or 0)):
        cpa = float(r.cpa or 0)
        state = "none" if band is None else "above" if cpa > band[1] else "below" if cpa < band[0] else "within"
        out.append({"source": r.source, "cpa": cpa, "state": state, "text": money(cpa, currency),
                    "registrations": r.registrations, "cost": r.cost})
    return out


def build_cpa_chart(rows: Sequence[SourceCost], band: tuple[float, float] | None, lang: str,
                    currency: str | None = "JPY") -> alt.LayerChart:
    """Horizontal bars of CPA per source, the benchmark band as a grey strip behind them;
    bars above the band in red, the others in blue."""
    values = cpa_values(rows, band, lang, currency)
    top = max([v["cpa"] for v in values] + [band[1] if band else 0, 1])
    scale = alt.Scale(domain=[0, top * 1.25], nice=False)
    x = alt.X("cpa:Q", title=t("cost.chart.cpa_axis", lang), scale=scale,
              axis=alt.Axis(labelExpr=money_axis(currency), tickCount=6, labelOverlap="greedy"))
    y = alt.Y("source:N", sort=[v["source"] for v in values], title=None, axis=alt.Axis(labelFontSize=15))
    layers: list[alt.Chart] = []
    if band is not None:
        band_v = [{"lo": band[0], "hi": band[1], "mid": (band[0] + band[1]) / 2,
                   "text": t("cost.chart.band", lang, low=money(band[0], currency), high=money(band[1], currency))}]
        layers.append(alt.Chart(alt.Data(values=band_v), description="benchmark-band").mark_rect(
            color=COLORS["benchmark"], opacity=0.25).encode(x=alt.X("lo:Q", scale=scale), x2=alt.X2("hi:Q")))
        layers.append(alt.Chart(alt.Data(values=band_v)).mark_text(
            color=COLORS["muted"], fontSize=14, baseline="bottom", dy=-2).encode(
            x=alt.X("mid:Q", scale=scale), y=alt.YValue(-4), text=alt.Text("text:N")))
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    color = alt.Color("state:N", legend=None, scale=alt.Scale(
        domain=["above", "within", "below", "none"], range=[COLORS["warn"], COLORS["data"], COLORS["data"], COLORS["data"]]))
    layers.append(base.mark_bar(height={"band": 0.6}).encode(
        x=x, color=color, tooltip=[alt.Tooltip("source:N", title=" "),
                                   alt.Tooltip("text:N", title=t("cost.chart.cpa_axis", lang)),
                                   alt.Tooltip("registrations:Q", title=t("cost.col.registrations", lang), format=",")]))
    layers.append(base.mark_text(align="left", dx=8, fontSize=15, color=COLORS["text"]).encode(
        x=alt.X("cpa:Q", scale=scale), text=alt.Text("text:N")))
    return layer(*layers, height=height_for(len(values), per_row=44, minimum=180))


def return_values(rows: Sequence[SourceCost], lang: str, currency: str | None = "JPY") -> list[dict[str, Any]]:
    """One record per source with a cost, highest return first."""
    out = []
    for r in sorted((r for r in rows if r.return_ratio is not None), key=lambda r: -(r.return_ratio or 0)):
        ratio = float(r.return_ratio or 0)
        out.append({"source": r.source, "ratio": ratio, "good": ratio >= 1,
                    "text": t("cost.chart.return_text", lang, ratio=f"{ratio:.2f}", amount=money(r.won_amount, currency)),
                    "won_amount": r.won_amount, "cost": r.cost})
    return out


def build_return_chart(rows: Sequence[SourceCost], lang: str, currency: str | None = "JPY") -> alt.LayerChart:
    """Horizontal bars of return per source with a dashed line at 1.0 (won amount = cost);
    green at or above it, red below."""
    values = return_values(rows, lang, currency)
    top = max([v["ratio"] for v in values] + [1.0])
    scale = alt.Scale(domain=[0, top * 1.45], nice=False)
    y = alt.Y("source:N", sort=[v["source"] for v in values], title=None, axis=alt.Axis(labelFontSize=15))
    base = alt.Chart(alt.Data(values=values)).encode(y=y)
    bars = base.mark_bar(height={"band": 0.6}).encode(
        x=alt.X("ratio:Q", title=t("cost.chart.return_axis", lang), scale=scale, axis=alt.Axis(format=".1f")),
        color=alt.Color("good:N", legend=None, scale=alt.Scale(domain=[True, False],
                                                               range=[COLORS["good"], COLORS["warn"]])),
        tooltip=[alt.Tooltip("source:N", title=" "), alt.Tooltip("text:N", title=t("cost.chart.return_axis", lang))])
    # A white halo under the label keeps it legible where it crosses the 1.0 line.
    labels = haloed(base, {"x": alt.X("ratio:Q", scale=scale), "text": alt.Text("text:N")},
                    align="left", dx=8, fontSize=14, color=COLORS["text"])
    one = [{"x": 1.0, "text": t("cost.chart.break_even", lang)}]
    rule = alt.Chart(alt.Data(values=one), description="break-even").mark_rule(
        color=COLORS["text"], strokeDash=[6, 4], strokeWidth=2).encode(x=alt.X("x:Q", scale=scale))
    rule_text = alt.Chart(alt.Data(values=one)).mark_text(
        color=COLORS["text"], fontSize=13, baseline="bottom", align="left", dx=4, dy=-2).encode(
        x=alt.X("x:Q", scale=scale), y=alt.YValue(-4), text=alt.Text("text:N"))
    return layer(bars, rule, *labels, rule_text, height=height_for(len(values), per_row=44, minimum=180))
