"""前回との比較: last month's exports (uploaded here, or a saved workspace file; on the sample
data, the sample's own last month) against this month's data (the session's): new leads by
source, newly converted leads, stage moves, newly won and lost deals with their reasons, and
how 商談化率 and win rate moved."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from funnel.errors import FunnelError
from funnel.measures import diff as D
from funnel.measures.attribution import Credit, MonthsCompared
from funnel.present.charts.attribution import touch_label
from funnel.present.charts.diff import build_new_leads, build_rate_moves, points_text
from funnel.present.format import loss_label, num, pct, source_label, stage_label
from funnel.vocabulary import SIDES
from ui import baseline as B
from ui import state
from ui.state import remembered, t
from ui.widgets import UPLOAD_TYPES, definition, download_frame, notices, require_current, show_chart, show_table

lang = state.lang()
# Long free texts get a bounded column, so the stage and amount columns stay on screen.
NARROW = {t(f"diff.col.{c}"): st.column_config.TextColumn(t(f"diff.col.{c}"), width="medium")
          for c in ("deal_name", "loss_reason", "loss_detail", "email")}



def baseline_files() -> None:
    """The baseline uploaders (or the saved-file uploader) and what was read from each file."""
    found = B.baseline_state()
    gen = state.generation("diff_upload")
    modes = {"exports": t("diff.baseline.mode.exports"), "saved": t("diff.baseline.mode.saved")}
    mode = remembered("diff_baseline_mode", "exports", lambda v, k: st.radio(
        t("diff.baseline.mode"), list(modes), horizontal=True, key=k, index=list(modes).index(v),
        format_func=modes.__getitem__))
    if mode == "saved":
        upload = st.file_uploader(t("diff.baseline.uploader.saved"), type=["funnel"], key=f"diff_up_saved_{gen}",
                                  help=t("diff.baseline.saved_help"))
        if upload is not None:
            failed = B.use_saved(upload.name, upload.getvalue())
            if failed is not None:
                st.error(failed.render(lang), icon="⛔")
    else:
        for side, col in zip(SIDES, st.columns(2), strict=True):
            with col:
                uploads = col.file_uploader(t(f"diff.baseline.uploader.{side}"), type=UPLOAD_TYPES, accept_multiple_files=True,
                                            key=f"diff_up_{side}_{gen}", help=t("diff.baseline.uploader_help"))
                if uploads and B.use_uploads(side, [(f.name, f.getvalue()) for f in uploads]):
                    st.rerun()
    if found.saved is not None:
        st.caption(t("diff.baseline.saved_in_use", file=found.saved[0]))
    if found.sample:
        st.caption(t("diff.baseline.sample_files"))
    for side, col in zip(SIDES, st.columns(2), strict=True):
        for entry in found.files[side]:
            if entry.error:
                col.error(entry.error_text(lang), icon="⛔")
            elif entry.report is not None:
                col.caption(t("diff.baseline.file_ok", file=entry.name, rows=num(entry.report.rows_read)))
    if B.has_files() and st.button(t("diff.baseline.clear"), key="diff_clear", icon="🗑️"):
        B.clear()                             # new uploader keys: empty uploaders
        st.rerun()


def kpis(s: D.Summary) -> None:
    """Two rows: the headline numbers with their change, then the counts of what happened."""
    wb, wa = s.outcomes_before.win_rate, s.outcomes_after.win_rate
    k = st.columns(3)
    k[0].metric(t("diff.kpi.leads"), num(s.leads_after), delta=f"{s.leads_after - s.leads_before:+,}", border=True)
    k[0].caption(t("diff.kpi.leads_detail", before=num(s.leads_before), after=num(s.leads_after),
                   new=num(s.new_leads), removed=num(s.removed_leads)))
    k[1].metric(t("term.opportunity_rate"), pct(s.rate_after.rate), delta=points_text(s.rate_change_points),
                delta_color="normal" if round(s.rate_change_points, 1) else "off", border=True)
    k[1].caption(t("diff.kpi.rate_detail", before=pct(s.rate_before.rate), after=pct(s.rate_after.rate)))
    wdelta = s.win_rate_change_points
    k[2].metric(t("term.win_rate"), pct(wa), delta=points_text(wdelta) if wdelta is not None else None,
                delta_color="normal" if wdelta and round(wdelta, 1) else "off", border=True)
    k[2].caption(t("diff.kpi.rate_detail", before=pct(wb), after=pct(wa)))
    k = st.columns(5)
    k[0].metric(t("diff.kpi.new_leads"), num(s.new_leads), border=True)
    k[0].caption(t("diff.kpi.new_leads_detail", converted=num(s.new_converted)))
    k[1].metric(t("diff.kpi.newly_converted"), num(s.newly_converted), border=True)
    k[1].caption(t("diff.kpi.newly_converted_detail", unconverted=num(s.unconverted)))
    k[2].metric(t("diff.kpi.moved"), num(s.moved), border=True)
    k[2].caption(t("diff.kpi.moved_detail", new=num(s.new_opps), removed=num(s.removed_opps)))
    k[3].metric(t("diff.kpi.won"), num(s.won), border=True)
    k[4].metric(t("diff.kpi.lost"), num(s.lost), border=True)
    if s.reopened:
        k[4].caption(t("diff.kpi.reopened", count=num(s.reopened)))


def counts_frame(s: D.Summary) -> pd.DataFrame:
    items = [("new_leads", s.new_leads), ("new_converted", s.new_converted), ("removed_leads", s.removed_leads),
             ("newly_converted", s.newly_converted), ("unconverted", s.unconverted), ("new_opps", s.new_opps),
             ("removed_opps", s.removed_opps), ("moved", s.moved), ("won", s.won), ("lost", s.lost),
             ("reopened", s.reopened)]
    return pd.DataFrame([{t("diff.counts.col.kind"): t(f"diff.kind.{k}"), t("diff.col.count"): n} for k, n in items])


def stage_text(stage: str | None) -> str:
    return "—" if stage is None else stage


# Words of the lists, looked up once per run: the frames are also made on a download click,
# outside the script run, where the session (and so t()) is not available.
COL = {c: t(f"diff.col.{c}") for c in ("deal_name", "company", "amount", "stages", "lead_source", "owner",
                                        "loss_category", "loss_reason", "loss_detail", "deal_id", "email", "name",
                                        "created_at", "opps", "reached")}
NEW_DEAL, NO_LEAD = t("diff.new_deal"), t("diff.no_lead")


def deals_frame(items: list[dict[str, Any]], lost: bool) -> pd.DataFrame:
    """Deals of one kind of change; the stage as "before → now" in one column (narrow enough
    for a projector), the deal ID last."""
    cols = ["deal_name", "company", "amount", "stages", "lead_source", "owner"]
    if lost:
        cols[4:4] = ["loss_category", "loss_reason", "loss_detail"]
    cols.append("deal_id")
    out = []
    for d in items:
        before = NEW_DEAL if d["is_new"] else stage_text(d["stage_before"])
        values = {**d, "stages": f"{before} → {stage_text(d['stage_after'])}",
                  "loss_category": loss_label(d["loss_category"], lang) if d["loss_category"] else None,
                  "lead_source": NO_LEAD if not d["n_leads"] else source_label(d["lead_source"], lang)}
        out.append({COL[c]: values[c] for c in cols})
    return pd.DataFrame(out, columns=[COL[c] for c in cols])


def leads_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    """Leads of one kind of change; opportunities and funnel stage as "before → now"."""
    def stage(v: str | None) -> str:
        return "—" if v is None else stage_label(v, lang)

    def opps(r: dict[str, Any], side: str) -> str:
        present = r[f"reached_{side}"] is not None
        return num(r[f"opps_{side}"]) if present else "—"

    rows = [{COL["email"]: r["email_raw"], COL["name"]: r["name"], COL["company"]: r["company"],
             COL["lead_source"]: source_label(r["source"], lang), COL["created_at"]: r["created_at"],
             COL["owner"]: r["owner"],
             COL["opps"]: f"{opps(r, 'before')} → {opps(r, 'after')}",
             COL["reached"]: f"{stage(r['reached_before'])} → {stage(r['reached_after'])}"} for r in items]
    cols = ["email", "name", "company", "lead_source", "created_at", "owner", "opps", "reached"]
    return pd.DataFrame(rows, columns=[COL[c] for c in cols])


ATTR_COLS = {c: t(f"diff.attribution.col.{c}") for c in ("touch", "opps_before", "opps_after", "change", "won_before",
                                                          "won_after")}
NARROW_ATTR = {ATTR_COLS["touch"]: st.column_config.TextColumn(ATTR_COLS["touch"], width="medium"),
               **{ATTR_COLS[c]: st.column_config.NumberColumn(ATTR_COLS[c], format="%.2f") for c in list(ATTR_COLS)[1:]}}


def attribution_frame(at: MonthsCompared) -> pd.DataFrame:
    """Credit per touch last month and this month (opportunities and won deals) and a total
    row: each column sums to that month's opportunities or won deals."""
    def row(label: str, b: Credit, a: Credit) -> dict[str, Any]:
        values = [label, b.opportunities, a.opportunities, a.opportunities - b.opportunities, b.won, a.won]
        return dict(zip(ATTR_COLS.values(), values, strict=True))

    rows = [row(touch_label(m.touch, lang), m.before, m.after) for m in at.moves]
    rows.append(row(t("attribution.table.total"), at.totals_before, at.totals_after))
    return pd.DataFrame(rows, columns=list(ATTR_COLS.values()))


def opp_rows_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    return deals_frame(items, lost=True)


# ---------------------------------------------------------------------------------------------
state.ensure_loaded()
st.title(t("diff.title"))
st.caption(t("diff.caption"))
cur = require_current()
sample_base = B.follow_data().sample       # the sample's last month, while the sample is shown
st.markdown(t("diff.this_month_sample" if sample_base else "diff.this_month", leads=num(cur.build.counts["ma"].keys),
              opps=num(cur.build.counts["sfa"].keys)))
# Open until last month's data is ready; then folded, so the changes come first on a projector.
ready = all(any(not f.error for f in B.baseline_state().files[s]) for s in SIDES)
with st.expander(t("diff.baseline.title"), expanded=not ready, icon="📁"):
    st.caption(t("diff.baseline.caption"))
    baseline_files()
base = B.current_baseline()
if base is None:
    st.info(t("diff.need_baseline"), icon="ℹ️")
    st.stop()
if isinstance(base, FunnelError):
    st.error(base.render(lang), icon="⛔")
    st.stop()
st.success(t("diff.baseline.ready", leads=num(base.build.counts["ma"].keys), opps=num(base.build.counts["sfa"].keys)),
           icon="✅")
if sample_base:
    st.info(t("diff.baseline.sample_in_use"), icon="📌")
notices(base.notices)

st.header(t("diff.counts.title"))
kpi_area = st.container()       # filled below: the touch radio belongs with the by-source parts
touches = {x: t(f"term.touch.{x}") for x in ("first", "last")}
touch = remembered("diff_touch", "first", lambda v, k: st.radio(
    t("diff.touch"), list(touches), horizontal=True, key=k, index=list(touches).index(v),
    format_func=touches.__getitem__, help=t("diff.touch_help")))
result = B.comparison(cur, base, touch)
if isinstance(result, FunnelError):
    st.error(result.render(lang), icon="⛔")
    st.stop()
d: D.Diff = result
s = d.summary
con = cur.ws.con

with kpi_area:
    kpis(s)
    definition("diff.definition", method=t(f"diff.method.{d.opp_method}"), touch=touches[touch])
    notices(d.notices)
    if s.unchanged:
        st.success(t("diff.unchanged"), icon="🟰")
with kpi_area.expander(t("diff.counts.table")):
    counts = counts_frame(s)
    show_table(counts, integer=[t("diff.col.count")], key="diff_counts_table")
    download_frame(counts, "changes_summary.csv", "dl_diff_counts")

# -- new leads ---------------------------------------------------------------------------------
st.header(t("diff.new.title"))
st.caption(t("diff.new.caption"))
if d.new_leads_by_source:
    show_chart(build_new_leads(d.new_leads_by_source, lang))
    new = pd.DataFrame([{t("diff.col.source"): source_label(r.group, lang), t("diff.col.new_leads"): r.leads,
                         t("diff.col.converted"): r.converted, t("diff.col.rate"): r.rate,
                         t("diff.col.ci_low"): r.ci[0], t("diff.col.ci_high"): r.ci[1]} for r in d.new_leads_by_source])
    show_table(new, integer=[t("diff.col.new_leads"), t("diff.col.converted")],
               percent=[t("diff.col.rate"), t("diff.col.ci_low"), t("diff.col.ci_high")], key="diff_new_table")
    download_frame(new, "new_leads_by_source.csv", "dl_diff_new")
else:
    st.info(t("diff.new.none"), icon="ℹ️")

# -- how the rate moved ------------------------------------------------------------------------
st.header(t("diff.rates.title"))
st.caption(t("diff.rates.caption"))
if any(m.before is not None and m.after is not None for m in d.rate_by_source):
    show_chart(build_rate_moves(d.rate_by_source, lang))
moves_t = pd.DataFrame([{
    t("diff.col.source"): source_label(m.group, lang),
    t("diff.col.leads_before"): m.before.leads if m.before else None,
    t("diff.col.leads_after"): m.after.leads if m.after else None,
    t("diff.col.rate_before"): m.before.rate if m.before else None,
    t("diff.col.rate_after"): m.after.rate if m.after else None,
    t("diff.col.change"): points_text(m.change_points)} for m in d.rate_by_source])
show_table(moves_t, integer=[t("diff.col.leads_before"), t("diff.col.leads_after")],
           percent=[t("diff.col.rate_before"), t("diff.col.rate_after")], key="diff_rates_table")
download_frame(moves_t, "opportunity_rate_change_by_source.csv", "dl_diff_rates")

st.subheader(t("diff.conv.title"), anchor=False)
st.caption(t("diff.conv.caption"))
if s.newly_converted:
    conv = pd.DataFrame([{t("diff.col.source"): source_label(r.group, lang), t("diff.col.open_before"): r.leads,
                          t("diff.col.newly_converted"): r.converted, t("diff.col.conv_share"): r.rate}
                         for r in d.newly_converted])
    show_table(conv, integer=[t("diff.col.open_before"), t("diff.col.newly_converted")],
               percent=[t("diff.col.conv_share")], key="diff_conv_table")
    download_frame(conv, "newly_converted_by_source.csv", "dl_diff_conv")
else:
    st.info(t("diff.conv.none"), icon="ℹ️")

# -- deals -------------------------------------------------------------------------------------
st.header(t("diff.moves.title"))
st.caption(t("diff.moves.caption"))
if d.stage_moves:
    stage_t = pd.DataFrame([{t("diff.col.from"): stage_text(m.from_stage), t("diff.col.to"): stage_text(m.to_stage),
                             t("diff.col.direction"): t(f"diff.direction.{m.direction}"), t("diff.col.count"): m.count}
                            for m in d.stage_moves])
    show_table(stage_t, integer=[t("diff.col.count")], key="diff_moves_table")
    download_frame(stage_t, "stage_moves.csv", "dl_diff_moves")
else:
    st.info(t("diff.moves.none"), icon="ℹ️")
with st.expander(t("diff.reached.title")):
    st.caption(t("diff.reached.caption"))
    reached = pd.DataFrame([{t("diff.col.reached_before"): stage_label(a, lang),
                             t("diff.col.reached_after"): stage_label(b, lang), t("diff.col.count"): n}
                            for a, b, n in d.reached_moves])
    show_table(reached, integer=[t("diff.col.count")], key="diff_reached_table")

st.header(t("diff.closed.title"))
won_tab, lost_tab = st.tabs([t("diff.closed.won", count=num(s.won)), t("diff.closed.lost", count=num(s.lost))])
for kind, tab in (("won", won_tab), ("lost", lost_tab)):
    with tab:
        if kind == "lost" and d.lost_by_category:
            st.caption(t("diff.closed.by_category"))
            cats = pd.DataFrame([{t("diff.col.loss_category"): loss_label(c.category, lang), t("diff.col.count"): c.count,
                                  t("diff.col.share"): c.share} for c in d.lost_by_category])
            show_table(cats, integer=[t("diff.col.count")], percent=[t("diff.col.share")], key="diff_lost_cats")
        page = D.changes(con, kind, touch)
        if not page.total:
            st.info(t("diff.closed.none"), icon="ℹ️")
            continue
        show_table(deals_frame(page.items, kind == "lost"), yen=[t("diff.col.amount")], key=f"diff_{kind}_table",
                   placeholder="—", column_config=NARROW)
        if page.pages > 1:
            st.caption(t("diff.drill.shown", shown=num(page.last), total=num(page.total)))
        download_frame(lambda kind=kind: deals_frame(D.changes(con, kind, touch, page_size=None).items, kind == "lost"),
                       f"newly_{kind}.csv", f"dl_diff_{kind}",
                       label=t("diff.download_all"))

# -- attribution by touch, this month against last month -----------------------------------------
if d.attribution is not None:
    st.header(t("diff.attribution.title"))
    at = d.attribution
    st.caption(t(f"diff.attribution.caption.{at.events}", model=t(f"activity.model_short.{at.model}")))
    show_table(attribution_frame(at), column_config=NARROW_ATTR, key="diff_attribution_table")
    download_frame(attribution_frame(at), "attribution_change_by_touch.csv", "dl_diff_attribution")
    definition("diff.attribution.def")

# -- drill-down --------------------------------------------------------------------------------
st.header(t("diff.drill.title"))
totals = {"new_leads": s.new_leads, "removed_leads": s.removed_leads, "newly_converted": s.newly_converted,
          "unconverted": s.unconverted, "new_opps": s.new_opps, "removed_opps": s.removed_opps, "moved": s.moved,
          "won": s.won, "lost": s.lost, "reopened": s.reopened}
options = {k: t("diff.drill.option", label=t(f"diff.kind.{k}"), count=num(totals[k])) for k in D.KINDS}
choice = remembered("diff_drill_kind", "new_leads", lambda v, k: st.selectbox(
    t("diff.drill.kind"), list(options), key=k, index=list(options).index(v), format_func=options.__getitem__,
    placeholder=t("app.choose")))
page = D.changes(con, choice, touch)
make = leads_frame if choice in D.LEAD_KINDS else opp_rows_frame
if page.total:
    show_table(make(page.items), yen=[] if choice in D.LEAD_KINDS else [t("diff.col.amount")], key="diff_drill_table",
               placeholder="—", column_config=NARROW)
    if page.pages > 1:
        st.caption(t("diff.drill.shown", shown=num(page.last), total=num(page.total)))
    download_frame(lambda: make(D.changes(con, choice, touch, page_size=None).items), f"changes_{choice}.csv", "dl_diff_drill",
                   label=t("diff.download_all"))
else:
    st.info(t("diff.closed.none"), icon="ℹ️")
