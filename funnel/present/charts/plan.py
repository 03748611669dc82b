"""Charts of the reverse plan: the plan's steps (leads → opportunities → deals), the plan per
month, and leads needed per source of the mix.

Every number a chart shows is computed here in Python and put into the chart's inline data,
so a test reads it from ``chart.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.model.money import currencies
from funnel.planning.plan import MixPlan, MonthPlan, Plan
from funnel.present.charts import COLORS, height_for, layer
from funnel.present.format import money, money_axis, num, pct, source_label


def step_values(plan: Plan, opp_rate: Fraction, win_rate: Fraction, lang: str) -> list[dict[str, Any]]:
    """Leads, opportunities and deals of a plan, with the rate that links each to the next."""
    return [
        {"step": t("plan.chart.step.leads", lang), "count": plan.leads,
         "text": t("plan.chart.count", lang, n=num(plan.leads))},
        {"step": t("plan.chart.step.opportunities", lang, rate=pct(float(opp_rate), 2)), "count": plan.opportunities,
         "text": t("plan.chart.count", lang, n=num(plan.opportunities))},
        {"step": t("plan.chart.step.deals", lang, rate=pct(float(win_rate), 2)), "count": plan.deals,
         "text": t("plan.chart.count", lang, n=num(plan.deals))},
    ]


def build_plan_steps(plan: Plan, opp_rate: Fraction, win_rate: Fraction, lang: str) -> alt.LayerChart:
    """Horizontal bars: leads needed, then opportunities, then deals, each labelled with its
    count; the axis names the rate applied at each step."""
    values = step_values(plan, opp_rate, win_rate, lang)
    top = max(v["count"] for v in values) or 1
    x = alt.X("count:Q", title=t("plan.chart.count_axis", lang), scale=alt.Scale(domain=[0, top * 1.18], nice=False),
              axis=alt.Axis(format=",d", tickCount=6))
    y = alt.Y("step:N", sort=[v["step"] for v in values], title=None, axis=alt.Axis(labelFontSize=15, labelLimit=320))
    base = alt.Chart(alt.Data(values=values)).encode(y=y, x=x)
    bars = base.mark_bar(height={"band": 0.6}, color=COLORS["data"]).encode(
        tooltip=[alt.Tooltip("step:N", title=" "), alt.Tooltip("count:Q", title=t("plan.chart.count_axis", lang),
                                                                format=",")])
    text = base.mark_text(align="left", dx=8, fontSize=16, fontWeight="bold", color=COLORS["text"]).encode(
        text=alt.Text("text:N"))
    return layer(bars, text, height=height_for(3, per_row=64))


def compact_yen(value: float, lang: str, currency: str | None = "JPY") -> str:
    """A short money label for a column top: ``833万`` / ``¥8.3M`` (a full ``¥8,333,333`` per
    month does not fit twelve columns side by side); another currency in its own sign, in
    thousands and millions (``$8.3M``; 万 is a yen habit)."""
    if currency != "JPY":
        found = currencies().get(currency or "")
        steps = [step.split(maxsplit=2) for step in t("lang.compact_yen", "en").replace(
            "¥", found.symbol if found else "").split(";")]
    else:
        steps = [step.split(maxsplit=2) for step in t("lang.compact_yen", lang).split(";")]
    threshold, divisor, shape = next((s for s in steps if value >= float(s[0])), steps[-1])
    return shape.format(v=value / float(divisor))


def month_values(months: Sequence[MonthPlan], what: str, lang: str,
                 currency: str | None = "JPY") -> list[dict[str, Any]]:
    """One record per month: the revenue target (by booking month) or the leads needed (by the
    month they are needed, ``lead_month``)."""
    out = []
    for m in months:
        if what == "revenue":
            out.append({"month": f"{m.month:%Y-%m}", "value": float(m.revenue), "text": compact_yen(float(m.revenue), lang, currency),
                         "full": money(float(m.revenue), currency)})
        elif what == "leads":
            out.append({"month": f"{m.lead_month:%Y-%m}", "value": m.leads, "text": num(m.leads), "full": num(m.leads)})
        else:
            raise ValueError("what must be revenue or leads")
    return out


def build_monthly_plan(months: Sequence[MonthPlan], what: str, lang: str,
                       currency: str | None = "JPY") -> alt.LayerChart:
    """Columns per month of the revenue target (``what="revenue"``) or of the leads needed
    (``"leads"``, drawn at the month they are needed), each labelled."""
    values = month_values(months, what, lang, currency)
    top = max([v["value"] for v in values] + [1])
    title = t(f"plan.chart.month.{what}", lang)
    fmt: dict[str, Any] = {"labelExpr": money_axis(currency)} if what == "revenue" else {"format": ",d"}
    y = alt.Y("value:Q", title=title, scale=alt.Scale(domain=[0, top * 1.2], nice=False),
              axis=alt.Axis(tickCount=5, **fmt))
    x = alt.X("month:O", sort=[v["month"] for v in values], title=t(f"plan.chart.month_axis.{what}", lang),
              axis=alt.Axis(labelAngle=-45 if len(values) > 12 else 0, labelFontSize=13))
    base = alt.Chart(alt.Data(values=values)).encode(x=x, y=y)
    color = COLORS["target"] if what == "revenue" else COLORS["data"]
    bars = base.mark_bar(width={"band": 0.7}, color=color).encode(
        tooltip=[alt.Tooltip("month:O", title=" "), alt.Tooltip("full:N", title=title)])
    small = len(values) > 12
    text = base.mark_text(baseline="bottom", dy=-4, fontSize=11 if small else 13, color=COLORS["text"],
                          angle=270 if small else 0, align="left" if small else "center").encode(
        text=alt.Text("text:N"))
    return layer(bars, text, height=260)


def mix_values(mix: MixPlan, lang: str) -> list[dict[str, Any]]:
    return [{"source": source_label(r.source, lang), "leads": r.leads,
             "text": t("plan.chart.mix_text", lang, n=num(r.leads), share=pct(float(r.share)),
                       opps=num(float(r.opportunities), 1))} for r in mix.rows]


def build_mix_chart(mix: MixPlan, lang: str) -> alt.LayerChart:
    """Horizontal bars of leads needed per source (most first), labelled with the source's
    share of the mix and the opportunities expected from it."""
    values = sorted(mix_values(mix, lang), key=lambda v: -v["leads"])
    top = max([v["leads"] for v in values] + [1])
    x = alt.X("leads:Q", title=t("plan.chart.mix_axis", lang), scale=alt.Scale(domain=[0, top * 1.6], nice=False),
              axis=alt.Axis(format=",d", tickCount=6))
    y = alt.Y("source:N", sort=[v["source"] for v in values], title=None, axis=alt.Axis(labelFontSize=15))
    base = alt.Chart(alt.Data(values=values)).encode(y=y, x=x)
    bars = base.mark_bar(height={"band": 0.62}, color=COLORS["data"]).encode(
        tooltip=[alt.Tooltip("source:N", title=" "), alt.Tooltip("text:N", title=t("plan.chart.mix_axis", lang))])
    text = base.mark_text(align="left", dx=8, fontSize=14, color=COLORS["text"]).encode(text=alt.Text("text:N"))
    return layer(bars, text, height=height_for(len(values), per_row=40))
