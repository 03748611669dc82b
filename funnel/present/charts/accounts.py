"""Account (企業) charts: the account funnel (engaged → with an opportunity → won) as
horizontal bars, the account rate by month, and the account rate by buying-group depth.
All numbers are computed by the engine and put into the inline data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from funnel.i18n import t
from funnel.measures.accounts import DepthRow, MonthRow
from funnel.present.charts import COLORS, layer
from funnel.present.format import num, pct

STEPS = ("accounts", "converted", "won")


def depth_label(r: DepthRow, lang: str) -> str:
    """``1人``, ``4–5人``, ``6人以上``."""
    if r.hi is None:
        return t("accounts.depth.band_more", lang, n=r.lo)
    if r.hi == r.lo:
        return t("accounts.depth.band_one", lang, n=r.lo)
    return t("accounts.depth.band_range", lang, lo=r.lo, hi=r.hi)


def month_label(r: MonthRow, lang: str) -> str:
    return t("accounts.month.none", lang) if r.month is None else r.month.strftime("%Y-%m")


def funnel_values(accounts: int, converted: int, won: int, lang: str) -> list[dict[str, Any]]:
    counts = {"accounts": accounts, "converted": converted, "won": won}
    out = []
    for i, step in enumerate(STEPS):
        n = counts[step]
        prev = counts[STEPS[i - 1]] if i else n
        text = num(n) if i == 0 else t("accounts.chart.step_text", lang, count=num(n),
                                      of_first=pct(n / accounts if accounts else 0.0),
                                      of_previous=pct(n / prev if prev else 0.0))
        out.append({"step": step, "label": t(f"accounts.kpi.{step}", lang), "count": n, "text": text})
    return out


def build_account_funnel(accounts: int, converted: int, won: int, *, lang: str) -> alt.LayerChart:
    """One bar per step, top to bottom, labelled with the count, % of accounts and % of the
    previous step."""
    values = funnel_values(accounts, converted, won, lang)
    order = [v["label"] for v in values]
    x_scale = alt.Scale(domain=[0, max(accounts, 1) * 1.6], nice=False)
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=17, labelFontWeight="bold",
                                                                labelLimit=260))
    bars = alt.Chart(alt.Data(values=values)).mark_bar(height={"band": 0.7}, color=COLORS["data"]).encode(
        y=y, x=alt.X("count:Q", scale=x_scale, title=t("accounts.chart.x_axis", lang),
                     axis=alt.Axis(format=",d", grid=False, tickCount=6)),
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("count:Q", format=",")])
    labels = alt.Chart(alt.Data(values=values)).mark_text(align="left", dx=10, fontSize=16,
                                                          color=COLORS["text"]).encode(
        y=y, x=alt.X("count:Q", scale=x_scale), text=alt.Text("text:N"))
    return layer(bars, labels, height=230)


def _rate_bars(values: list[dict[str, Any]], order: list[str], axis_title: str, overall: float,
               lang: str) -> alt.LayerChart:
    top = max([v["rate"] for v in values] + [overall, 0.01])
    y_scale = alt.Scale(domain=[0, min(1.0, top * 1.25)], nice=False)
    x = alt.X("label:N", sort=order, title=axis_title, axis=alt.Axis(labelAngle=0, labelFontSize=14))
    bars = alt.Chart(alt.Data(values=values)).mark_bar(color=COLORS["data"]).encode(
        x=x, y=alt.Y("rate:Q", scale=y_scale, title=t("accounts.kpi.rate", lang), axis=alt.Axis(format=".0%")),
        tooltip=[alt.Tooltip("label:N", title=axis_title), alt.Tooltip("accounts:Q", title=t("accounts.kpi.accounts", lang), format=","),
                 alt.Tooltip("converted:Q", title=t("accounts.kpi.converted", lang), format=","),
                 alt.Tooltip("rate:Q", title=t("accounts.kpi.rate", lang), format=".1%")])
    text = alt.Chart(alt.Data(values=values)).mark_text(dy=-8, fontSize=14, color=COLORS["text"]).encode(
        x=x, y=alt.Y("rate:Q", scale=y_scale), text=alt.Text("text:N"))
    rule = alt.Chart(alt.Data(values=[{"rate": overall, "label": t("accounts.chart.overall", lang, rate=pct(overall))}])
                     ).mark_rule(color=COLORS["target"], strokeDash=[6, 4], strokeWidth=2).encode(
        y=alt.Y("rate:Q", scale=y_scale), tooltip=[alt.Tooltip("label:N", title=" ")])
    return layer(bars, text, rule, height=300)


def build_depth_rates(rows: Sequence[DepthRow], overall: float, *, lang: str) -> alt.LayerChart:
    """The account rate of each buying-group depth band, the overall account rate as a line."""
    values = [{"label": depth_label(r, lang), "rate": r.rate, "accounts": r.accounts, "converted": r.converted,
               "text": f"{pct(r.rate)}（{num(r.accounts)}）"} for r in rows]
    return _rate_bars(values, [str(v["label"]) for v in values], t("accounts.depth.axis", lang), overall, lang)


def build_month_rates(rows: Sequence[MonthRow], overall: float, *, lang: str) -> alt.LayerChart:
    """The account rate of the accounts first engaged in each month."""
    values = [{"label": month_label(r, lang), "rate": r.rate, "accounts": r.accounts, "converted": r.converted,
               "text": pct(r.rate)} for r in rows]
    return _rate_bars(values, [str(v["label"]) for v in values], t("accounts.month.axis", lang), overall, lang)
