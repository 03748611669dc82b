"""ベンチマーク: the user's 商談化率, 受注率 and CPA next to public benchmarks, each with its
source, date and definition; the benchmark set can be edited, downloaded and replaced."""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import urlparse

import pandas as pd
import streamlit as st

from funnel import i18n
from funnel.measures import benchmarks as bm
from funnel.measures.metrics import by_source
from funnel.model.cost_data import CostData, cpa
from funnel.present.charts.benchmarks import build_benchmark_chart
from funnel.present.format import BLANK, num, pct, source_label
from ui import state
from ui.state import keep, lang, t
from ui.widgets import definition, download_frame, money_in, require_current, show_chart, show_table

EDITOR = "bench_editor"

st.title(t("bench.title"))
st.caption(t("bench.intro"))
cur = require_current()
session = cur.state
CUR = cur.build.currency          # amounts in the export's currency (None: several)
cash = money_in(cur.build)


# -- the benchmark set: the editor's input stays fixed until the user replaces the set -------
def set_base(items: list[bm.Benchmark]) -> None:
    state.set_page_value("bench_base", bm.to_records(items))
    session.set_benchmarks(state.page_value("bench_base"))
    state.drop_widget(EDITOR)


if state.page_value("bench_base") is None:
    if session.benchmarks:          # a set edited before (or opened from a saved file)
        state.set_page_value("bench_base", session.benchmarks)
    else:
        set_base(list(bm.defaults().benchmarks))
# Widget state is dropped when the user leaves the page, and a language switch re-labels the
# editor (a new widget): start again from the last edited rows so no edit is lost.
if not state.has_widget(EDITOR) or state.page_value("bench_lang") != lang():
    state.set_page_value("bench_base", session.benchmarks or state.page_value("bench_base"))
    state.set_page_value("bench_lang", lang())

results, editor_box, io_box = st.container(), st.container(), st.container()

with io_box:
    st.subheader(t("bench.io.title"))
    up = st.file_uploader(t("bench.io.upload"), type=["toml", "csv"], key="bench_upload", help=t("bench.io.upload_help"))
    if up is not None:
        digest = hashlib.sha256(up.getvalue()).hexdigest()
        if state.page_value("bench_upload_digest") != digest:
            items, problems = bm.parse_file(up.name, up.getvalue())
            state.set_page_value("bench_upload_digest", digest)
            state.set_page_value("bench_upload_problems", [(p.row, p.field, p.key, dict(p.params)) for p in problems])
            if items and not problems:
                set_base(items)
                st.toast(t("bench.io.replaced", n=len(items)), icon="✅")
        for row, fld, key, params in state.page_value("bench_upload_problems", []):
            st.error(t("bench.error.where", row=row or "—", field=t(f"bench.field.{fld}") if fld else "—",
                       message=t(key, **params)), icon="⛔")
    if st.button(t("bench.io.reset"), key="bench_reset"):
        set_base(list(bm.defaults().benchmarks))
        st.rerun()

metric_ids = list(bm.METRICS)
with editor_box:
    st.subheader(t("bench.editor.title"))
    st.caption(t("bench.editor.caption"))
    base = pd.DataFrame(state.page_value("bench_base"), columns=list(bm.FIELDS))
    # Empty numbers must be NaN in a float column (an object column shows "None" and edits as text).
    base[list(bm.NUMBER_FIELDS)] = base[list(bm.NUMBER_FIELDS)].apply(pd.to_numeric, errors="coerce").astype(float)
    base["source"] = [bm.source_text(v, lang()) if isinstance(v, str) else v for v in base["source"]]
    text_cols = {f: st.column_config.TextColumn(t(f"bench.field.{f}")) for f in bm.FIELDS
                 if f not in ("metric", "url", *bm.NUMBER_FIELDS)}
    edited = st.data_editor(
        base, key=EDITOR, num_rows="dynamic", hide_index=True, width="stretch", placeholder=BLANK,
        column_config={
            "metric": st.column_config.SelectboxColumn(t("bench.field.metric"), options=metric_ids, required=True,
                                                       width="medium", format_func=lambda m: t(f"bench.metric.{m}")),
            **{f: st.column_config.NumberColumn(t(f"bench.field.{f}"), help=t("bench.field.number_help"))
               for f in bm.NUMBER_FIELDS},
            "url": st.column_config.LinkColumn(t("bench.field.url")),
            **text_cols,
        })
    records = edited.astype(object).where(edited.notna(), None).to_dict("records")
    items, problems = bm.from_records(records)
    session.set_benchmarks(records)
    for p in problems:
        st.error(t("bench.error.where", row=p.row or "—", field=t(f"bench.field.{p.field}") if p.field else "—",
                   message=t(p.key, **p.params)), icon="⛔")

with io_box:
    c1, c2 = st.columns(2)
    c1.download_button(t("bench.io.download_toml"), data=bm.to_toml(items).encode("utf-8"), file_name="benchmarks.toml",
                       mime="application/toml", key="bench_dl_toml", icon="⬇️", on_click="ignore")
    c2.download_button(t("bench.io.download_csv"), data=bm.to_csv(items), file_name="benchmarks.csv", mime="text/csv",
                       key="bench_dl_csv", icon="⬇️", on_click="ignore")


# -- the user's numbers ----------------------------------------------------------------------
def costs() -> CostData | None:
    """The session's cost data (shared with the cost and plan pages): the sample's cost file
    with the sample data, else the one uploaded here or on the cost page (if any)."""
    if cur.state.mode != "sample":
        up = st.file_uploader(t("bench.cost.upload"), type=["csv", "tsv", "txt", "xlsx", "xls"], key="bench_cost_up")
        error = state.load_cost_file(up.name, up.getvalue()) if up is not None else state.load_cost_file(None, None)
        if error:
            st.error(error, icon="⛔")
    return state.session_cost()


with results:
    sources = [r.group for r in by_source(cur.ws.con)]
    named = [s for s in sources if s is not None]
    detected = bm.ad_sources(named)
    ad = st.multiselect(t("bench.ad.select"), named, default=[s for s in keep("bench_ad", detected) if s in named],
                        key="bench_ad", help=t("bench.ad.help"), placeholder=t("app.choose"))
    no_cost_yet = cur.state.mode == "user" and state.session_cost() is None
    with st.expander(t("bench.cost.title"), icon="💴", expanded=no_cost_yet):
        cost_data = costs()
        if cost_data is not None:
            st.caption(t("bench.cost.file", file=cost_data.file, total=cash(cost_data.total), sources=len(cost_data.sources),
                         skipped=num(cost_data.skipped)))
    values = bm.user_values(cur.ws.con, ad=ad, costs=cost_data)
    # A CPA in yen says nothing about a CPA in dollars: yen benchmarks are compared with yen
    # data only (and said so where their chart would be).
    comparable = items if CUR == "JPY" else [b for b in items if b.unit != "yen"]
    comps = bm.compare(comparable, values)

    cols = st.columns(4)
    for col, m in zip(cols, metric_ids, strict=True):
        v = values[m]
        shown = (cash(v.value) if m == "cpa" else pct(v.value)) if v.value is not None else t(v.missing or "bench.missing.unknown")
        with col:
            st.metric(t(f"bench.metric.{m}"), shown)
            parts = {"num": cash(v.numerator) if m == "cpa" else num(v.numerator), "den": num(v.denominator),
                     "sources": i18n.join(ad, lang()) or "—"}
            definition(f"bench.def.{m}", **parts)

    def fmt(value: float | None, unit: str) -> str:
        if value is None:
            return "—"
        return pct(value) if unit == "percent" else cash(value)

    def status_text(c: bm.Comparison) -> str:
        text = t(f"bench.status.{c.status}")
        if c.favourable is not None:
            text += t("bench.tone.good" if c.favourable else "bench.tone.bad")
        return text

    def short_source(b: bm.Benchmark) -> str:
        return urlparse(b.url).netloc if b.verified else t("bench.unverified_short")

    chart_rows, table_rows = [], []
    for i, c in enumerate(comps, start=1):
        b, u = c.benchmark, c.benchmark.unit
        label = t("bench.chart.row", i=i, metric=t(f"bench.metric.{b.metric}"), source=short_source(b))
        value_text = fmt(c.value.value, u) if c.value.value is not None else t(c.value.missing or "bench.missing.unknown")
        chart_rows.append({"row": label, "unit": u, "low": b.scaled(b.low), "high": b.scaled(b.high),
                           "target": b.scaled(b.target), "value": c.value.value,
                           "label": t("bench.chart.label", value=value_text, status=status_text(c))})
        rng = (fmt(b.scaled(b.low), u) if b.low == b.high
               else t("bench.range", low=fmt(b.scaled(b.low), u), high=fmt(b.scaled(b.high), u)))
        table_rows.append({
            t("bench.col.metric"): t(f"bench.metric.{b.metric}"), t("bench.col.value"): value_text,
            t("bench.col.range"): rng, t("bench.col.target"): fmt(b.scaled(b.target), u),
            t("bench.col.status"): status_text(c), t("bench.col.source"): bm.source_text(b.source, lang()), t("bench.col.title"): b.title,
            t("bench.col.url"): b.url or None, t("bench.col.date"): b.date or "—",
            t("bench.col.definition"): t("bench.col.definition_text", num=b.numerator, den=b.denominator),
            t("bench.col.ours"): t(f"bench.ours.{b.metric}"), t("bench.col.note"): b.note})

    st.subheader(t("bench.chart.title"))
    st.caption(t("bench.chart.caption"))
    frame = pd.DataFrame(chart_rows, columns=["row", "unit", "low", "high", "target", "value", "label"])
    titles = {"percent": t("bench.chart.axis_percent"), "yen": t("bench.chart.axis_yen"),
              "row": t("bench.col.metric"), "value": t("bench.col.value")}
    for unit in ("percent", "yen"):
        part = frame[frame["unit"] == unit]
        if len(part):
            show_chart(build_benchmark_chart(part, unit, titles))
    if len(comparable) < len(items):
        st.info(t("bench.yen_not_compared", n=len(items) - len(comparable), currency=CUR or "—"), icon="ℹ️")

    st.subheader(t("bench.table.title"))
    table = pd.DataFrame(table_rows)
    show_table(table, column_config={t("bench.col.url"): st.column_config.LinkColumn(t("bench.col.url"))})
    download_frame(table, "benchmark_comparison.csv", "bench_dl_table")

    if cost_data is not None:
        st.subheader(t("bench.cpa.title"))
        result = cpa(cur.ws.con, cost_data)
        if result.period:
            st.caption(t("bench.cpa.caption", start=result.period[0].strftime("%Y-%m"),
                         end=(result.period[1] - dt.timedelta(days=1)).strftime("%Y-%m")))
        for key in result.notes:
            st.info(t(key), icon="ℹ️")
        main = next((b for b in comparable if b.metric == "cpa"), None)
        per = pd.DataFrame([{
            t("bench.col.source_name"): source_label(r.source, lang()), t("bench.cpa.cost"): r.cost,
            t("bench.cpa.registrations"): r.registrations, t("bench.cpa.cpa"): r.cpa,
            t("bench.col.status"): t(f"bench.status.{bm.status(r.cpa, main)}") if main else "—"}
            for r in result.by_source])
        show_table(per, integer=[t("bench.cpa.registrations")], money=[t("bench.cpa.cost"), t("bench.cpa.cpa")], currency=CUR)
        if main:
            st.caption(t("bench.cpa.against", range=t("bench.range", low=cash(main.low), high=cash(main.high)),
                         source=main.source))
        download_frame(per, "cpa_by_source.csv", "bench_dl_cpa")
