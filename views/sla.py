"""SLA・スピード: days from lead (or MQL) to opportunity and from opportunity to close, as
percentiles by source and owner, the share within an editable SLA, and the open opportunities
stuck longer than N days (paginated, downloadable)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from funnel.config import setting
from funnel.measures import sla as speed
from funnel.measures.sla import QUANTILES, Spread
from funnel.model.owners import named
from funnel.present.charts.sla import build_spread, build_within, days_text, group_label
from funnel.present.format import num, pct
from ui.filters import describe, lead_filters
from ui.privacy import masking_on
from ui.state import changed, keep, lang, owner_names, pager, restate, set_page_value, set_widget, t, turn
from ui.widgets import (
    definition,
    download_frame,
    money_format,
    money_in,
    owner_id_hint,
    percent_column,
    require_current,
    show_chart,
    show_table,
)

st.title(t("sla.title"))
cur = require_current()
CUR = cur.build.currency          # amounts in the export's currency (None: several)
cash = money_in(cur.build)
con = cur.ws.con
st.caption(t("sla.intro"))
lf = lead_filters(cur)
f = lf.filters
small_n = int(setting("small_sample_n"))
P = [f"p{round(p * 100)}" for p in QUANTILES]


def spread_table(items: list[Spread], by: str, with_sla: bool) -> pd.DataFrame:
    """Groups with their counts, exclusions, percentiles (days) and SLA share, as shown."""
    cols = [by, "total", "measured", "excluded", *P] + (["within", "within_share"] if with_sla else [])
    head = {c: t(f"sla.col.{c}") for c in cols}
    out = []
    for s in items:
        row = {head[by]: group_label(s, by, lang()), head["total"]: s.total, head["measured"]: s.measured,
               head["excluded"]: s.excluded, **{head[p]: v for p, v in zip(P, s.quantiles, strict=True)}}
        if with_sla:
            row |= {head["within"]: s.within, head["within_share"]: s.within_share}
        out.append(row)
    return pd.DataFrame(out, columns=list(head.values()))


def show_spread_table(frame: pd.DataFrame, key: str, file_name: str) -> None:
    share = t("sla.col.within_share")
    ints = [t(f"sla.col.{c}") for c in ("total", "measured", "excluded", "within")]
    config = {t(f"sla.col.{p}"): st.column_config.NumberColumn(t(f"sla.col.{p}"), format="%.1f") for p in P}
    config |= {c: st.column_config.NumberColumn(c, format="localized") for c in ints if c in frame.columns}
    if share in frame.columns:
        config[share] = percent_column(share)
    show_table(frame, column_config=config, key=key)
    download_frame(frame, file_name, f"dl_{key}")


def exclusions_text(s: Spread, what: str, start_missing: str = "") -> str:
    return t(f"sla.excluded.{what}", total=num(s.total), measured=num(s.measured), excluded=num(s.excluded),
             no_start=num(s.no_start), no_end=num(s.no_end), negative=num(s.negative), fallback=num(s.fallback),
             start_missing=start_missing)


# -- lead (or MQL) → opportunity ------------------------------------------------------------
st.header(t("sla.lead.title"))
has_mql = speed.has_mql_dates(con, f)
c1, c2 = st.columns([1.4, 1])
bases = list(speed.BASES) if has_mql else ["created"]
restate("sla_basis", "created", bases)
basis = c1.radio(t("sla.basis"), bases, key="sla_basis", horizontal=True,
                 format_func=lambda b: t(f"sla.basis.{b}"), help=t("sla.basis_help"))
if not has_mql:
    c1.caption(t("sla.no_mql_dates"))
sla_days = int(c2.number_input(t("sla.sla_days"), min_value=0, max_value=730, step=1,
                               value=int(keep("sla_days", speed.DEFAULT_SLA_DAYS)), key="sla_days",
                               help=t("sla.sla_days_help")))
start_word = t(f"sla.basis.{basis}")
(overall,) = speed.lead_to_opp(con, f, basis=basis, sla_days=sla_days)
if overall.total == 0:
    st.info(t("sla.lead.none"))
else:
    k1, k2, k3, k4, k5 = st.columns(5)
    k1.metric(t("sla.kpi.measured"), num(overall.measured), border=True,
              help=t("sla.kpi.measured_help", total=num(overall.total)))
    k2.metric(t("sla.kpi.median"), days_text(overall.median, lang()), border=True, help=t("sla.kpi.median_help"))
    k3.metric(t("sla.kpi.p75"), days_text(overall.q(0.75), lang()), border=True, help=t("sla.kpi.p75_help"))
    k4.metric(t("sla.kpi.p90"), days_text(overall.q(0.9), lang()), border=True, help=t("sla.kpi.p90_help"))
    k5.metric(t("sla.kpi.within"), pct(overall.within_share), border=True,
              delta=t("sla.kpi.within_delta", days=num(sla_days)), delta_color="off", delta_arrow="off",
              help=t("sla.kpi.within_help", days=num(sla_days), within=num(overall.within or 0),
                     measured=num(overall.measured)))
    (st.warning if overall.excluded else st.caption)(exclusions_text(overall, "lead", t(f"sla.no_start.{basis}")))
    definition("sla.lead.def", start=start_word, days=num(sla_days), filters=describe(lf),
               no_start=t(f"sla.no_start.{basis}"))
    by_source = speed.lead_to_opp(con, f, basis=basis, by="source", sla_days=sla_days)
    by_owner = named(owner_names(), speed.lead_to_opp(con, f, basis=basis, by="owner", sla_days=sla_days))
    st.subheader(t("sla.lead.by_source"))
    if any(s.measured for s in by_source):
        show_chart(build_spread(by_source, by="source", lang=lang(), sla_days=sla_days,
                                     axis_title=t("sla.chart.lead_axis", start=start_word)))
        st.caption(t("sla.chart.spread_caption", days=num(sla_days)))
    show_spread_table(spread_table(by_source, "source", True), "sla_lead_source", "lead_to_opportunity_by_source.csv")
    st.subheader(t("sla.lead.by_owner", days=num(sla_days)))
    owner_id_hint(s.group for s in by_owner)
    if any(s.measured for s in by_owner):
        show_chart(build_within(by_owner, by="owner", sla_days=sla_days, lang=lang()))
        st.caption(t("sla.chart.within_caption", days=num(sla_days), n=small_n))
    show_spread_table(spread_table(by_owner, "owner", True), "sla_lead_owner", "lead_to_opportunity_by_owner.csv")

# -- opportunity → close --------------------------------------------------------------------
st.header(t("sla.close.title"))
(closed,) = speed.opp_to_close(con, touch=f.touch)
if closed.total == 0:
    st.info(t("sla.close.none"))
else:
    outcomes = {s.group: s for s in speed.opp_to_close(con, by="outcome", touch=f.touch)}
    k1, k2, k3, k4, k5 = st.columns(5)
    k1.metric(t("sla.kpi.measured"), num(closed.measured), border=True,
              help=t("sla.kpi.measured_help", total=num(closed.total)))
    k2.metric(t("sla.kpi.median"), days_text(closed.median, lang()), border=True, help=t("sla.kpi.median_help"))
    k3.metric(t("sla.kpi.p90"), days_text(closed.q(0.9), lang()), border=True, help=t("sla.kpi.p90_help"))
    for col, outcome in ((k4, "won"), (k5, "lost")):
        s = outcomes.get(outcome)
        col.metric(t(f"sla.kpi.median_{outcome}"), days_text(s.median if s else None, lang()), border=True,
                   help=t("sla.kpi.outcome_help", n=num(s.measured if s else 0)))
    (st.warning if closed.excluded else st.caption)(exclusions_text(closed, "close"))
    definition("sla.close.def")
    close_owner = named(owner_names(), speed.opp_to_close(con, by="owner", touch=f.touch))
    close_source = speed.opp_to_close(con, by="source", touch=f.touch)
    st.subheader(t("sla.close.by_owner"))
    owner_id_hint(s.group for s in close_owner)
    if any(s.measured for s in close_owner):
        show_chart(build_spread(close_owner, by="owner", lang=lang(), axis_title=t("sla.chart.close_axis")))
        st.caption(t("sla.chart.spread_caption_plain"))
    show_spread_table(spread_table(close_owner, "owner", False), "sla_close_owner", "opportunity_to_close_by_owner.csv")
    st.subheader(t("sla.close.by_source"))
    show_spread_table(spread_table(close_source, "source", False), "sla_close_source",
                      "opportunity_to_close_by_source.csv")

# -- stuck open opportunities ---------------------------------------------------------------
st.header(t("sla.stuck.title"))
latest = speed.as_of(con) or dt.date.today()
s1, s2 = st.columns(2)
stuck_days = int(s1.number_input(t("sla.stuck.days"), min_value=0, max_value=3650, step=5,
                                 value=int(keep("sla_stuck_days", speed.DEFAULT_STUCK_DAYS)), key="sla_stuck_days",
                                 help=t("sla.stuck.days_help")))
kept_as_of = keep("sla_as_of", latest)
if changed("sla_as_of_data", "data") or not isinstance(kept_as_of, dt.date):
    kept_as_of = latest          # an as-of date kept from other data would be meaningless here
set_widget("sla_as_of", kept_as_of)
as_of = s2.date_input(t("sla.stuck.as_of"), key="sla_as_of", format="YYYY/MM/DD",
                      help=t("sla.stuck.as_of_help", latest=f"{latest:%Y/%m/%d}")) or latest
sig = (as_of, stuck_days)
stuck = speed.stuck(con, as_of, stuck_days, page=pager("stuck_page", sig))
set_page_value("stuck_page", stuck.page)
m1, m2, m3 = st.columns(3)
m1.metric(t("sla.stuck.kpi.open"), num(stuck.open), border=True)
m2.metric(t("sla.stuck.kpi.stuck", days=num(stuck_days)), num(stuck.total), border=True,
          delta=t("sla.stuck.kpi.share", share=pct(stuck.total / stuck.open)) if stuck.open else None,
          delta_color="off", delta_arrow="off")
m3.metric(t("sla.stuck.kpi.amount"), cash(stuck.amount), border=True,
          help=t("sla.stuck.kpi.amount_help", n=num(stuck.no_amount)))
st.caption(t("sla.stuck.def", as_of=f"{as_of:%Y/%m/%d}", days=num(stuck_days), no_created=num(stuck.no_created),
             after=num(stuck.after_as_of)))


def _turn(step: int) -> None:
    """Button callback: runs before the next script run, so that run already shows the page."""
    turn("stuck_page", step)


if stuck.total:
    p1, p2, p3 = st.columns([1, 4, 1])
    p1.button(t("sla.stuck.prev"), key="stuck_prev", disabled=stuck.page <= 1, width="stretch", on_click=_turn,
              args=(-1,))
    p3.button(t("sla.stuck.next"), key="stuck_next", disabled=stuck.page >= stuck.pages, width="stretch",
              on_click=_turn, args=(1,))
    p2.markdown(t("sla.stuck.position", total=num(stuck.total), first=num(stuck.first),
                  last=num(stuck.last), page=stuck.page, pages=stuck.pages))
    headers = [t(f"sla.stuck.col.{c}") for c in speed.STUCK_COLUMNS]
    frame = pd.DataFrame([[r[c] for c in speed.STUCK_COLUMNS] for r in named(owner_names(), stuck.items, "owner")],
                         columns=headers)
    H = dict(zip(speed.STUCK_COLUMNS, headers, strict=True))
    config = {H["created_at"]: st.column_config.DateColumn(H["created_at"], format="YYYY/MM/DD"),
              H["close_at"]: st.column_config.DateColumn(H["close_at"], format="YYYY/MM/DD"),
              H["age_days"]: st.column_config.NumberColumn(H["age_days"], format="localized"),
              H["amount"]: st.column_config.NumberColumn(H["amount"], format=money_format(CUR)),
              H["overdue"]: st.column_config.CheckboxColumn(H["overdue"])}
    show_table(frame, column_config=config, placeholder="—", key="stuck_table")
    d1, d2 = st.columns(2)
    with d1:
        download_frame(frame, f"stuck_opportunities_p{stuck.page}.csv", "dl_stuck_page", label=t("sla.stuck.dl_page"))
    with d2:
        mask = masking_on()   # read now: the download is built after the script run
        st.download_button(t("sla.stuck.dl_all", n=num(stuck.total)), key="dl_stuck_all", icon="⬇️", mime="text/csv",
                           file_name="stuck_opportunities_all.csv", on_click="ignore",
                           data=lambda: speed.stuck_csv(con, as_of, stuck_days, headers, mask=mask))
else:
    st.success(t("sla.stuck.none", days=num(stuck_days)))
