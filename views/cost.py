"""コスト・CPA: the marketing cost by source and month (an uploaded file or an editable table,
shared with the benchmark and plan pages), and per source what it bought — registrations and
CPA, leads, opportunities, won deals, won amount — against the CPA benchmark."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.measures import benchmarks as bm
from funnel.measures import cost as costs
from funnel.present.charts.cost import build_cpa_chart, build_return_chart
from funnel.present.format import num
from ui import state
from ui.state import lang, session_benchmarks, t
from ui.widgets import definition, download_frame, money_format, money_in, require_current, show_chart, show_table

EDITOR = "cost_editor"


def table(frame: pd.DataFrame, key: str, *, integer: tuple[str, ...] = (), money: tuple[str, ...] = (),
          pin: str | None = None) -> None:
    """A read-only table with count and yen formats, "—" where there is no value (no won deal:
    no cost per won deal), every row shown; ``pin`` stays in view when the table scrolls."""
    config: dict[str, Any] = {c: st.column_config.NumberColumn(c, format="localized") for c in integer}
    config |= {c: st.column_config.NumberColumn(c, format=money_format(CUR)) for c in money}
    if pin:
        config[pin] = st.column_config.TextColumn(pin, pinned=True)
    show_table(frame, column_config=config, placeholder="—", key=key, height=35 * (len(frame) + 1) + 3)


st.title(t("cost.title"))
st.caption(t("cost.intro"))
cur = require_current()
CUR = cur.build.currency          # amounts in the export's currency (None: several)
cash = money_in(cur.build)
con = cur.ws.con

# -- the cost data: a file, or the table ---------------------------------------------------------
st.header(t("cost.data.title"))
up = st.file_uploader(t("cost.data.upload"), type=["csv", "tsv", "txt", "xlsx", "xls"], key="cost_up",
                      help=t("cost.data.upload_help"))
error = state.load_cost_file(up.name, up.getvalue()) if up is not None else state.load_cost_file(None, None)
if error:
    st.error(error, icon="⛔")
entry = state.session_cost_entry()
origin_box = st.container()          # filled after the table: an edit of this run shows at once

# The editor's input stays fixed while the widget lives (its edits are deltas against it); it
# starts again from the session's cost data when that changed elsewhere (an upload, a reset, the
# other data set) or the language changed (the columns are re-labelled).
sig = (state.cost_version(), cur.state.mode, lang())
if not state.has_widget(EDITOR) or state.page_value("cost_editor_sig") != sig:
    state.set_page_value("cost_editor_base", costs.to_records(state.session_cost()))
    state.drop_widget(EDITOR)
EC = {c: t(f"cost.col.{c}") for c in costs.COLUMNS}
with st.expander(t("cost.data.table"), icon="✏️", expanded=state.session_cost() is None):
    st.caption(t("cost.data.table_caption"))
    base = pd.DataFrame(state.page_value("cost_editor_base"), columns=list(costs.COLUMNS)).rename(columns=EC)
    base[EC["cost"]] = pd.to_numeric(base[EC["cost"]], errors="coerce").astype(float)
    edited = st.data_editor(base, key=EDITOR, num_rows="dynamic", hide_index=True, width="stretch", column_config={
        EC["month"]: st.column_config.TextColumn(EC["month"], help=t("cost.col.month_help")),
        EC["source"]: st.column_config.TextColumn(EC["source"], help=t("cost.col.source_help")),
        EC["cost"]: st.column_config.NumberColumn(EC["cost"], min_value=0.0, step=1000.0, format=money_format(CUR))})
    records = edited.rename(columns={v: k for k, v in EC.items()}).astype(object)
    records = records.where(records.notna(), None).to_dict("records")
    data, problems = costs.from_records(records, t("cost.data.edited_name"))
    for p in problems:
        st.error(t("cost.error.where", row=p.row, message=t(p.key, value=p.value)), icon="⛔")
    if not costs.same_amounts(data, state.session_cost()):
        state.set_session_cost(data, "edited")
    state.set_page_value("cost_editor_sig", (state.cost_version(), cur.state.mode, lang()))
    b1, b2 = st.columns(2)
    with b1:
        st.button(t("cost.data.reset"), key="cost_reset", icon="↩️", on_click=state.reset_session_cost,
                  disabled=entry is None or entry.file is None)
    with b2:
        shown_table = pd.DataFrame(costs.to_records(state.session_cost()), columns=list(costs.COLUMNS)).rename(columns=EC)
        download_frame(shown_table, "cost_by_source_month.csv", "dl_cost_data", label=t("cost.data.download"))

entry = state.session_cost_entry()
with origin_box:
    if entry is not None and entry.data.amounts:
        period = entry.data.period
        st.caption(t(f"cost.data.origin.{entry.origin}", file=entry.data.file, total=cash(entry.data.total),
                     sources=len(entry.data.sources), skipped=num(entry.data.skipped),
                     start=f"{period[0]:%Y-%m}" if period else "—",
                     end=f"{period[1] - dt.timedelta(days=1):%Y-%m}" if period else "—"))
    else:
        st.info(t("cost.data.empty"), icon="💴")
cost = state.session_cost()
if cost is None:
    st.stop()

# -- what the cost bought ------------------------------------------------------------------------
report = costs.source_costs(con, cost)
# The CPA benchmark is a band of yen (data/benchmarks.toml): no comparison in another currency.
cpa_bench = next((b for b in session_benchmarks(CUR) if b.metric == "cpa"), None)
band = (cpa_bench.low, cpa_bench.high) if cpa_bench else None
band_text = t("bench.range", low=cash(band[0]), high=cash(band[1])) if band else "—"
tot = report.total


def status_text(value: float | None) -> str:
    if cpa_bench is None:
        return "—"
    s = bm.status(value, cpa_bench)
    tone = bm.favourable(s, cpa_bench)
    return t(f"bench.status.{s}") + ("" if tone is None else t("bench.tone.good" if tone else "bench.tone.bad"))


st.header(t("cost.result.title"))
if report.period:
    st.caption(t("cost.period", start=f"{report.period[0]:%Y-%m}",
                 end=f"{report.period[1] - dt.timedelta(days=1):%Y-%m}"))
for key in report.notes:
    st.info(t(key), icon="ℹ️")
k = st.columns(4)
k[0].metric(t("cost.kpi.cost"), cash(tot.cost), border=True)
k[1].metric(t("cost.kpi.cpa"), cash(tot.cpa), border=True, help=t("cost.kpi.cpa_help", band=band_text))
k[2].metric(t("cost.kpi.cost_per_won"), cash(tot.cost_per_won), border=True, help=t("glossary.cpo.def"))
k[3].metric(t("cost.kpi.return"), t("cost.ratio", ratio=f"{tot.return_ratio:.2f}") if tot.return_ratio is not None
            else "—", border=True, help=t("cost.kpi.return_help"))
if cpa_bench is not None and tot.cpa is not None:
    st.markdown(t("cost.kpi.against", cpa=cash(tot.cpa), band=band_text, status=status_text(tot.cpa)))
definition("cost.def.body", cost=cash(tot.cost), regs=num(tot.registrations), leads=num(tot.leads),
           opps=num(tot.opportunities), won=num(tot.won), amount=cash(tot.won_amount), band=band_text,
           source=cpa_bench.source if cpa_bench else "—")



st.subheader(t("cost.by_source.title"))
# What each source's cost achieved first (the efficiency numbers a meeting compares), the
# counts and amounts they come from after.
SC = {c: t(f"cost.col.{c}") for c in ("source", "cost", "cpa", "status", "cost_per_opportunity", "cost_per_won",
                                      "return", "registrations", "leads", "opportunities", "won", "won_amount")}
# The money-per-thing terms as the one glossary names them (受注単価 is a deal size, never a cost).
SC |= {"cost_per_opportunity": t("glossary.cost_per_opportunity"), "cost_per_won": t("glossary.cpo")}
rows = [*report.rows, tot]
by_source = pd.DataFrame([{SC["source"]: r.source if r.source is not None else t("cost.total"), SC["cost"]: r.cost,
                           SC["cpa"]: r.cpa, SC["status"]: status_text(r.cpa),
                           SC["cost_per_opportunity"]: r.cost_per_opportunity, SC["cost_per_won"]: r.cost_per_won,
                           SC["return"]: None if r.return_ratio is None else round(r.return_ratio, 2),
                           SC["registrations"]: r.registrations, SC["leads"]: r.leads,
                           SC["opportunities"]: r.opportunities, SC["won"]: r.won, SC["won_amount"]: r.won_amount}
                          for r in rows], columns=list(SC.values()))
table(by_source, "cost_table", integer=tuple(SC[c] for c in ("registrations", "leads", "opportunities", "won")),
      money=tuple(SC[c] for c in ("cost", "cpa", "cost_per_opportunity", "cost_per_won", "won_amount")),
      pin=SC["source"])
download_frame(by_source, "cost_by_source.csv", "dl_cost_source")
if report.free_sources:
    st.caption(t("cost.free_sources", sources=i18n.join(report.free_sources, lang())))
if any(r.won_without_amount for r in report.rows):
    st.caption(t("cost.won_without_amount", n=num(tot.won_without_amount)))

st.subheader(t("cost.chart.cpa_title"))
show_chart(build_cpa_chart(report.rows, band, lang(), CUR))
st.caption(t("cost.chart.cpa_caption", band=band_text, source=cpa_bench.source if cpa_bench else "—"))
st.subheader(t("cost.chart.return_title"))
show_chart(build_return_chart(report.rows, lang(), CUR))
st.caption(t("cost.chart.return_caption"))

# -- per month -----------------------------------------------------------------------------------
st.subheader(t("cost.month.title"))
MC = {c: t(f"cost.col.{c}") for c in ("month", "cost", "registrations", "cpa", "status")}
month_table = pd.DataFrame([{MC["month"]: f"{m.month:%Y-%m}", MC["cost"]: m.cost, MC["registrations"]: m.registrations,
                             MC["cpa"]: m.cpa, MC["status"]: status_text(m.cpa)}
                            for m in costs.monthly_costs(con, cost)], columns=list(MC.values()))
table(month_table, "cost_month_table", integer=(MC["registrations"],), money=(MC["cost"], MC["cpa"]))
st.caption(t("cost.month.caption"))
download_frame(month_table, "cost_by_month.csv", "dl_cost_month")
