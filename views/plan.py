"""KPI逆算: from a revenue target back to deals, opportunities, leads and the lead budget, with
defaults from the data and the benchmarks one click away; the plan per month and per lead-source
mix, and the forward view (monthly ad spend → revenue)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.errors import FunnelError
from funnel.measures.benchmarks import source_text
from funnel.planning import plan as pl
from funnel.planning.inputs import BENCHMARK_METRIC, plan_defaults
from funnel.present.charts.plan import build_mix_chart, build_monthly_plan, build_plan_steps
from funnel.present.format import num, pct, source_label
from ui import state
from ui.state import keep, lang, session_benchmarks, t
from ui.widgets import (
    definition,
    download_frame,
    money_format,
    money_in,
    percent_column,
    require_current,
    show_chart,
    show_table,
)

st.title(t("plan.title"))
st.caption(t("plan.intro"))
cur = require_current()
CUR = cur.build.currency          # amounts in the export's currency (None: several)
cash = money_in(cur.build)
UNIT = t("plan.unit.yen") if CUR == "JPY" else (CUR or "—")
con, session = cur.ws.con, cur.state
cost = state.session_cost()
bench = session_benchmarks(CUR)
DEFAULTS = plan_defaults(con, bench, cost, currency=CUR)
act = DEFAULTS.actuals


def table(frame: pd.DataFrame, key: str, *, percent: tuple[str, ...] = (), integer: tuple[str, ...] = (),
          money: tuple[str, ...] = (), tenths: tuple[str, ...] = ()) -> None:
    """A read-only table with percent, count and yen formats, "—" where there is no value, every
    row shown (a month plan's total row must not hide below a scroll); ``tenths``: expected
    counts, all to one decimal (``12.0`` beside ``1,248.5``)."""
    config: dict[str, Any] = {c: percent_column(c) for c in percent}
    config |= {c: st.column_config.NumberColumn(c, format="%.1f") for c in tenths}
    config |= {c: st.column_config.NumberColumn(c, format="localized") for c in integer}
    config |= {c: st.column_config.NumberColumn(c, format=money_format(CUR)) for c in money}
    show_table(frame, column_config=config, placeholder="—", key=key, height=35 * (len(frame) + 1) + 3)


# Inputs whose defaults came from data (or cost data) no longer shown are dropped.
if state.changed("plan_data_sig", "data"):
    state.forget_kept("plan_deal_size", "plan_win_rate", "plan_opp_rate", "plan_cpa", "plan_spend", "plan_start")
    session.set_plan_mix(None)
if state.changed("plan_cost_sig", "cost"):
    state.forget_kept("plan_cpa", "plan_spend")
    session.set_plan_mix(None)

# -- the assumptions: actual, benchmark, or typed -----------------------------------------------
def in_unit(name: str, value: Fraction) -> float:
    """An assumption in its input's unit (rates in percent)."""
    return float(value * 100) if name in ("win_rate", "opp_rate") else float(value)


ACTUAL: dict[str, float | None] = {
    name: in_unit(name, value) if DEFAULTS.origins[name] == "actual" and value is not None else None
    for name, value in DEFAULTS.values.items()}
ACTUAL_TEXT = {
    "deal_size": t("plan.actual.deal_size", value=cash(act.deal_size), n=num(act.won_with_amount),
                   missing=num(act.won - act.won_with_amount)),
    "win_rate": t("plan.actual.win_rate", value=pct(None if act.win_rate is None else float(act.win_rate), 2),
                  won=num(act.won), closed=num(act.won + act.lost)),
    "opp_rate": t("plan.actual.opp_rate", value=pct(None if act.opp_rate is None else float(act.opp_rate), 2),
                  converted=num(act.converted), leads=num(act.leads)),
    "cpa": (t("plan.actual.cpa", value=cash(act.cpa), cost=cash(act.cost), regs=num(act.registrations))
            if act.cpa is not None else t("plan.actual.no_cpa") if CUR == "JPY" else t("plan.actual.no_cpa_blank")),
}


def shown(name: str, value: float | None) -> str:
    return cash(value) if name in ("revenue", "deal_size", "cpa") else pct(None if value is None else value / 100, 2)


def bench_options(name: str) -> list[tuple[str, float]]:
    """(label, value in the input's unit) of each benchmark of the input's metric."""
    out = []
    for b in (b for b in bench if b.metric == BENCHMARK_METRIC.get(name)):
        v = pl.benchmark_value(b)
        v = v * 100 if b.unit == "percent" else round(v)
        how = t("plan.bench.target" if b.target is not None else "plan.bench.single" if b.low == b.high
                else "plan.bench.mid")
        out.append((t("plan.bench.use", value=shown(name, v), how=how, source=source_text(b.source, lang())), v))
    return out


def default(name: str) -> float:
    return in_unit(name, DEFAULTS.input_value(name))


def apply(key: str, value: float) -> None:
    state.set_widget(key, float(value))


def assumption(col: Any, name: str) -> float:
    """One input with its actual value, what it means, and the benchmarks one click away."""
    key = f"plan_{name}"
    with col:
        if name in ("win_rate", "opp_rate"):
            value = st.number_input(t(f"plan.in.{name}", unit=UNIT), min_value=0.01, max_value=100.0, step=0.1, format="%.2f",
                                    value=float(keep(key, default(name))), key=key, help=t(f"plan.in.{name}_help"))
        else:
            step = 1_000_000.0 if name == "revenue" else 100_000.0 if name == "deal_size" else 500.0
            value = st.number_input(t(f"plan.in.{name}", unit=UNIT), min_value=0.0 if name == "cpa" else 1.0, step=step,
                                    format="%.0f", value=float(keep(key, default(name))), key=key,
                                    help=t(f"plan.in.{name}_help") + ("\n\n" + t("glossary.deal_size.def")
                                                                        if name == "deal_size" else ""))
            st.caption(t("plan.no_cpa") if name == "cpa" and not value else cash(value))   # 0: no CPA, not $0
        if name == "revenue":
            st.caption(t("plan.actual.revenue", value=cash(act.year_revenue), n=num(act.year_won))
                       if act.year_revenue else t("plan.actual.revenue_example"))
            return value
        st.caption(ACTUAL_TEXT[name] if ACTUAL[name] is not None or name == "cpa"
                   else t("plan.actual.missing", value=shown(name, default(name))))
        with st.popover(t("plan.bench.popover"), icon="🎯", width="stretch"):
            st.button(t("plan.bench.use_actual", value=shown(name, ACTUAL[name])), key=f"{key}_actual",
                      disabled=ACTUAL[name] is None, on_click=apply, args=(key, ACTUAL[name] or 0))
            for i, (label, v) in enumerate(bench_options(name)):
                st.button(label, key=f"{key}_bench_{i}", on_click=apply, args=(key, v))
            if not bench_options(name):
                st.caption(t("plan.bench.none"))
    return value


st.header(t("plan.inputs.title"))
cols = st.columns(5)
raw = {name: assumption(col, name) for col, name in zip(cols, ("revenue", "deal_size", "win_rate", "opp_rate", "cpa"),
                                                        strict=True)}
revenue, deal = pl.exact(raw["revenue"]), pl.exact(raw["deal_size"])
win, rate = pl.from_percent(raw["win_rate"]), pl.from_percent(raw["opp_rate"])
cpa = pl.exact(raw["cpa"]) if raw["cpa"] > 0 else None
plan = pl.plan_backward(revenue, deal, win, rate, cpa)

# -- the plan ------------------------------------------------------------------------------------
st.header(t("plan.result.title"))
k = st.columns(4)
k[0].metric(t("plan.kpi.deals"), t("plan.count", n=num(plan.deals)), border=True)
k[1].metric(t("plan.kpi.opportunities"), t("plan.count", n=num(plan.opportunities)), border=True)
k[2].metric(t("plan.kpi.leads"), t("plan.count", n=num(plan.leads)), border=True)
k[3].metric(t("plan.kpi.budget"), cash(plan.budget) if plan.budget is not None else t("plan.no_cpa"), border=True)
formula = {
    "deals": t("plan.formula.deals", revenue=cash(raw["revenue"]), deal=cash(raw["deal_size"])),
    "opportunities": t("plan.formula.opportunities", deals=num(plan.deals), win=pct(float(win), 2)),
    "leads": t("plan.formula.leads", opps=num(plan.opportunities), rate=pct(float(rate), 2)),
    "budget": t("plan.formula.budget", leads=num(plan.leads), cpa=cash(raw["cpa"])) if cpa else t("plan.no_cpa"),
}
definition("plan.def.plan", **{f"f_{k}": v for k, v in formula.items()}, deals=num(plan.deals),
           opps=num(plan.opportunities), leads=num(plan.leads), budget=cash(plan.budget))
show_chart(build_plan_steps(plan, rate, win, lang()))
PC = {c: t(f"plan.col.{c}") for c in ("item", "value", "unit", "formula")}
plan_table = pd.DataFrame([
    {PC["item"]: t("plan.kpi.revenue"), PC["value"]: raw["revenue"], PC["unit"]: UNIT,
     PC["formula"]: t("plan.formula.input")},
    *[{PC["item"]: t(f"plan.kpi.{s}"), PC["value"]: getattr(plan, s), PC["unit"]: t("plan.unit.count"),
       PC["formula"]: formula[s]} for s in ("deals", "opportunities", "leads")],
    {PC["item"]: t("plan.kpi.budget"), PC["value"]: plan.budget, PC["unit"]: UNIT,
     PC["formula"]: formula["budget"]}], columns=list(PC.values()))
table(plan_table, "plan_table", integer=(PC["value"],))
download_frame(plan_table, "kpi_plan.csv", "dl_plan")

# -- per month -----------------------------------------------------------------------------------
st.header(t("plan.month.title"))
st.caption(t("plan.month.caption"))
first = DEFAULTS.start
options = [pl.add_months(first, i) for i in range(-12, 25)]
kept_start = keep("plan_start", first)
c1, c2, c3 = st.columns(3)
start = c1.selectbox(t("plan.month.start"), options, index=options.index(kept_start) if kept_start in options else 12,
                     key="plan_start", format_func=lambda d: f"{d:%Y-%m}", placeholder=t("app.choose"))
n_months = int(c2.number_input(t("plan.month.months"), min_value=1, max_value=36, step=1,
                               value=int(keep("plan_months", 12)), key="plan_months"))
lead_time = int(c3.number_input(t("plan.month.lead_time"), min_value=0, max_value=24, step=1,
                                value=int(keep("plan_lead_time", 0)), key="plan_lead_time",
                                help=t("plan.month.lead_time_help")))
months = [pl.add_months(start, i) for i in range(n_months)]
weights: dict[str, float] = dict(session.plan_weights)


def equal_weights() -> None:
    session.set_plan_weights({})
    state.next_generation("plan_weights")


MW = {"month": t("plan.col.month"), "weight": t("plan.col.weight")}
wkey = f"plan_weights_{start:%Y%m}_{n_months}_{state.generation('plan_weights')}"
with st.expander(t("plan.month.weights"), icon="📅"):
    st.caption(t("plan.month.weights_caption"))
    base = pd.DataFrame([{MW["month"]: f"{m:%Y-%m}", MW["weight"]: float(weights.get(f"{m:%Y-%m}", 1.0))}
                         for m in months])
    edited = st.data_editor(base, key=wkey, hide_index=True, num_rows="fixed", width="stretch", column_config={
        MW["month"]: st.column_config.TextColumn(MW["month"], disabled=True),
        MW["weight"]: st.column_config.NumberColumn(MW["weight"], min_value=0.0, step=0.1, format="%.2f")})
    st.button(t("plan.month.equal"), key="plan_weights_equal", on_click=equal_weights, icon="↩️")
month_weights = [pl.exact(0 if pd.isna(w) else float(w)) for w in edited[MW["weight"]]]
for m, w in zip(months, month_weights, strict=True):
    weights[f"{m:%Y-%m}"] = float(w)
session.set_plan_weights(weights)
try:
    by_month = pl.plan_by_month(plan, revenue, months, month_weights, cpa, lead_time)
except FunnelError as exc:
    st.error(exc.render(lang()), icon="⛔")
    by_month = []
if by_month:
    show_chart(build_monthly_plan(by_month, "revenue", lang(), CUR))
    show_chart(build_monthly_plan(by_month, "leads", lang()))
    MC = {c: t(f"plan.col.{c}") for c in ("month", "share", "revenue", "deals", "opportunities", "leads", "lead_month",
                                          "budget")}
    rows = [{MC["month"]: f"{m.month:%Y-%m}", MC["share"]: float(m.share), MC["revenue"]: round(float(m.revenue)),
             MC["deals"]: m.deals, MC["opportunities"]: m.opportunities, MC["leads"]: m.leads,
             MC["lead_month"]: f"{m.lead_month:%Y-%m}", MC["budget"]: None if m.budget is None else float(m.budget)}
            for m in by_month]
    rows.append({MC["month"]: t("plan.total"), MC["share"]: 1.0, MC["revenue"]: float(revenue), MC["deals"]: plan.deals,
                 MC["opportunities"]: plan.opportunities, MC["leads"]: plan.leads, MC["lead_month"]: "",
                 MC["budget"]: plan.budget})
    month_table = pd.DataFrame(rows, columns=list(MC.values()))
    if lead_time == 0:
        month_table = month_table.drop(columns=[MC["lead_month"]])
    table(month_table, "plan_month_table", percent=(MC["share"],),
          integer=tuple(MC[c] for c in ("deals", "opportunities", "leads")), money=(MC["revenue"], MC["budget"]))
    definition("plan.def.month", lead_time=lead_time)
    download_frame(month_table, "kpi_plan_by_month.csv", "dl_plan_month")

# -- per source mix ------------------------------------------------------------------------------
st.header(t("plan.mix.title"))
st.caption(t("plan.mix.caption", opps=num(plan.opportunities)))
XC = {c: t(f"plan.col.{c}", unit=UNIT) for c in ("source", "actual_leads", "actual_share", "actual_rate", "share", "rate", "cpa")}


def mix_rows() -> list[dict[str, Any]]:
    """The mix as the data has it: each source's share of leads, its 商談化率 and CPA."""
    out = []
    for r in act.by_source:
        share = r.leads / act.leads * 100 if act.leads else 0.0
        rate_pct = float(r.rate * 100) if r.rate is not None else 0.0
        src_cpa = act.source_cpa.get(r.source) if r.source is not None else None
        out.append({XC["source"]: source_label(r.source, lang()), XC["actual_leads"]: r.leads,
                    XC["actual_share"]: share, XC["actual_rate"]: rate_pct, XC["share"]: share,
                    XC["rate"]: rate_pct, XC["cpa"]: None if src_cpa is None else float(round(src_cpa))})
    return out


def reset_mix() -> None:
    session.set_plan_mix(None)
    state.drop_widget("plan_mix")


# The editor's input stays fixed while it lives (edits are deltas against it); a language
# switch or leaving the page starts again from the last edited rows.
if session.plan_mix is None or session.plan_mix_lang != lang():
    session.set_plan_mix(mix_rows(), lang())
    state.drop_widget("plan_mix")
if not state.has_widget("plan_mix"):
    state.set_page_value("plan_mix_base", session.plan_mix)
mix_in = st.data_editor(
    pd.DataFrame(state.page_value("plan_mix_base"), columns=list(XC.values())), key="plan_mix", num_rows="dynamic",
    hide_index=True, width="stretch", placeholder="—", column_config={
        XC["source"]: st.column_config.TextColumn(XC["source"], required=True),
        XC["actual_leads"]: st.column_config.NumberColumn(XC["actual_leads"], disabled=True, format="localized"),
        XC["actual_share"]: st.column_config.NumberColumn(XC["actual_share"], disabled=True, format="%.2f"),
        XC["actual_rate"]: st.column_config.NumberColumn(XC["actual_rate"], disabled=True, format="%.2f"),
        # No step: a step cuts the shown value down to its precision (9.489 would show as 9.48).
        XC["share"]: st.column_config.NumberColumn(XC["share"], min_value=0.0, format="%.2f"),
        XC["rate"]: st.column_config.NumberColumn(XC["rate"], min_value=0.0, max_value=100.0, format="%.2f"),
        XC["cpa"]: st.column_config.NumberColumn(XC["cpa"], min_value=0.0, format=money_format(CUR))})
session.set_plan_mix(mix_in.astype(object).where(mix_in.notna(), None).to_dict("records"), lang())
st.button(t("plan.mix.reset"), key="plan_mix_reset", on_click=reset_mix, icon="↩️")
inputs = [pl.MixInput(str(r[XC["source"]] or "—"), pl.exact(r[XC["share"]] or 0), pl.from_percent(r[XC["rate"]] or 0),
                      pl.exact(r[XC["cpa"]]) if r[XC["cpa"]] else None)
          for r in session.plan_mix or [] if r[XC["source"]] is not None or r[XC["share"]]]
try:
    mix = pl.plan_mix(plan.opportunities, inputs)
except FunnelError as exc:
    st.error(exc.render(lang()), icon="⛔")
    mix = None
if mix is not None:
    m1, m2, m3 = st.columns(3)
    m1.metric(t("plan.mix.blended"), pct(float(mix.blended_rate), 2), border=True)
    m2.metric(t("plan.mix.leads"), t("plan.count", n=num(mix.leads)), border=True)
    # A source without a CPA costs an unknown amount, not nothing: no total then.
    m3.metric(t("plan.mix.budget"), cash(float(mix.budget)) if mix.budget is not None else t("plan.mix.budget_unknown"),
              border=True)
    definition("plan.def.mix", opps=num(plan.opportunities), blended=pct(float(mix.blended_rate), 2),
               leads=num(mix.leads), overall=pct(float(rate), 2), overall_leads=num(plan.leads))
    if mix.unpriced:
        st.info(t("plan.mix.unpriced", sources=i18n.join((str(s) for s in mix.unpriced), lang()),
                  priced=cash(float(mix.priced_budget))) if mix.priced_budget else t("plan.mix.unpriced_all"),
                icon="ℹ️")
    show_chart(build_mix_chart(mix, lang()))
    YC = {c: t(f"plan.col.{c}") for c in ("source", "share", "rate", "leads", "expected_opps", "cpa", "budget")}
    mix_table = pd.DataFrame([{YC["source"]: r.source, YC["share"]: float(r.share), YC["rate"]: float(r.rate),
                               YC["leads"]: r.leads, YC["expected_opps"]: round(float(r.opportunities), 1),
                               YC["cpa"]: None if r.cpa is None else float(r.cpa),
                               YC["budget"]: None if r.budget is None else float(r.budget)} for r in mix.rows],
                             columns=list(YC.values()))
    table(mix_table, "plan_mix_table", percent=(YC["share"], YC["rate"]), integer=(YC["leads"],),
          tenths=(YC["expected_opps"],), money=(YC["cpa"], YC["budget"]))
    download_frame(mix_table, "kpi_plan_by_source.csv", "dl_plan_mix")

# -- the forward view ----------------------------------------------------------------------------
st.header(t("plan.forward.title"))
st.caption(t("plan.forward.caption"))
cost_months = len({m for m, _ in cost.amounts}) if cost is not None and cost.amounts else 0
if cost_months:
    spend_default, spend_text = round(cost.total / cost_months), t("plan.forward.spend_actual", months=cost_months)
else:
    spend_default = round(float(plan.budget) / n_months) if plan.budget else 1_000_000
    spend_text = t("plan.forward.spend_plan")
f1, _ = st.columns([1, 2])
spend = f1.number_input(t("plan.forward.spend", unit=UNIT), min_value=0.0, step=100_000.0, format="%.0f", key="plan_spend",
                        value=float(keep("plan_spend", spend_default)))
f1.caption(f"{cash(spend)} — {spend_text}")
if cpa is None:
    st.info(t("plan.forward.need_cpa"), icon="ℹ️")
else:
    one = pl.plan_forward(pl.exact(spend), cpa, rate, win, deal)
    period = one.times(n_months)
    need_monthly = Fraction(plan.budget or 0) / n_months
    w1, w2, w3 = st.columns(3)
    w1.metric(t("plan.forward.revenue", n=n_months), cash(float(period.revenue)), border=True)
    w2.metric(t("plan.forward.vs_target"), pct(float(period.revenue / revenue)), border=True)
    w3.metric(t("plan.forward.needed_spend"), cash(float(need_monthly)), border=True)
    definition("plan.def.forward", spend=cash(spend), cpa=cash(raw["cpa"]), rate=pct(float(rate), 2),
               win=pct(float(win), 2), deal=cash(raw["deal_size"]), n=n_months)
    FC = {c: t(f"plan.forward.item.{c}") for c in ("spend", "leads", "opportunities", "deals", "revenue")}
    RC = {"row": t("plan.col.basis")}

    def forward_row(label: str, values: tuple[Any, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {RC["row"]: label}
        for (name, col), v in zip(FC.items(), values, strict=True):
            out[col] = None if v is None else round(float(v), 0 if name in ("spend", "revenue") else 1)
        return out

    forward_table = pd.DataFrame([
        forward_row(t("plan.forward.row.month"), (one.spend, one.leads, one.opportunities, one.deals, one.revenue)),
        forward_row(t("plan.forward.row.period", n=n_months),
                    (period.spend, period.leads, period.opportunities, period.deals, period.revenue)),
        forward_row(t("plan.forward.row.needed", n=n_months),
                    (plan.budget, plan.leads, plan.opportunities, plan.deals, revenue))],
        columns=[RC["row"], *FC.values()])
    table(forward_table, "plan_forward_table", integer=(FC["leads"], FC["opportunities"], FC["deals"]),
          money=(FC["spend"], FC["revenue"]))
    download_frame(forward_table, "kpi_forward.csv", "dl_plan_forward")
