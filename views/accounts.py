"""企業（アカウント）: the funnel by company, not only by person. Engaged accounts → accounts
with an opportunity → won accounts, by source and by month; the account rate beside the lead
rate; buying-group depth; the deals that belong to an account only by company; and the account
match report (how each account was formed, the merges to check). Company names stay readable
with masking on (they are not personal data); people are masked."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from funnel.errors import FunnelError
from funnel.measures import accounts as acc
from funnel.measures import metrics
from funnel.measures.metrics import Filters
from funnel.present.charts.accounts import (
    build_account_funnel,
    build_depth_rates,
    build_month_rates,
    depth_label,
    month_label,
)
from funnel.present.format import num, pct, source_label
from ui.privacy import masked_values
from ui.state import lang, query, remember, restate, session, t
from ui.widgets import definition, download_frame, require_current, show_chart, show_table

st.title(t("accounts.page.title"))
cur = require_current()
con = cur.ws.con
st.caption(t("accounts.page.intro"))

if not acc.applies(cur.build.mappings):
    st.info(t("accounts.none"), icon="ℹ️")
    st.stop()

# The account tables belong to one build of the data and the match report's edits: made once
# for them, then read by every query (the token names the build; a new build, a new token).
edits = session().account_edits
rounds = acc.ensure(con, cur.build.mappings, edits, remember("accounts_build", lambda: uuid.uuid4().hex))
restate("touch", "first", ("first", "last"))
touch = st.radio(t("filters.touch"), ["first", "last"], key="touch", horizontal=True,
                 format_func=lambda v: t(f"term.touch.{v}"), help=t("accounts.page.touch_help"))
a = query(acc.summarise, touch, rounds)
lead = query(metrics.overall, Filters(touch=touch))
if not a.accounts:
    st.warning(t("accounts.page.no_accounts"))
    st.stop()

# -- KPIs and the funnel ---------------------------------------------------------------------
k = st.columns(3)
k[0].metric(t("accounts.kpi.accounts"), num(a.accounts), border=True, help=t("accounts.def.accounts"))
k[1].metric(t("accounts.kpi.converted"), num(a.converted), border=True, help=t("accounts.def.converted"))
k[2].metric(t("accounts.kpi.won"), num(a.won), border=True, help=t("accounts.def.won"))
r = st.columns(2)
r[0].metric(t("accounts.kpi.rate"), pct(a.rate), border=True,
            help=t("accounts.def.rate", converted=num(a.converted), accounts=num(a.accounts)))
r[1].metric(t("accounts.kpi.lead_rate"), pct(lead.rate) if lead.leads else "—", border=True,
            help=t("accounts.def.lead_rate", converted=num(lead.converted), leads=num(lead.leads)))
definition("accounts.page.def", converted=num(a.converted), accounts=num(a.accounts),
           lead_converted=num(lead.converted), leads=num(lead.leads), touch=t(f"term.touch.{touch}"),
           without=num(a.leads_without_account))
st.caption(t("accounts.page.compare", account_rate=pct(a.rate), lead_rate=pct(lead.rate) if lead.leads else "—"))
show_chart(build_account_funnel(a.accounts, a.converted, a.won, lang=lang()))
if a.leads_without_account:
    st.info(t("accounts.page.without", n=num(a.leads_without_account)), icon="ℹ️")

# -- by source -------------------------------------------------------------------------------
C = {c: t(f"accounts.page.col.{c}") for c in ("source", "month", "depth", "accounts", "converted", "won", "rate")}
st.header(t("accounts.page.by_source"))
src = pd.DataFrame([{C["source"]: source_label(r.source, lang()), C["accounts"]: r.accounts,
                     C["converted"]: r.converted, C["won"]: r.won, C["rate"]: r.rate} for r in a.by_source],
                   columns=[C[c] for c in ("source", "accounts", "converted", "won", "rate")])
show_table(src, percent=[C["rate"]], integer=[C["accounts"], C["converted"], C["won"]], key="accounts_by_source")
download_frame(src, "accounts_by_source.csv", "dl_accounts_by_source")
definition("accounts.page.source_def", touch=t(f"term.touch.{touch}"))

# -- by month --------------------------------------------------------------------------------
st.header(t("accounts.page.by_month"))
months = query(acc.by_month)
show_chart(build_month_rates(months, a.rate, lang=lang()))
st.caption(t("accounts.chart.overall_caption", rate=pct(a.rate)))
mon = pd.DataFrame([{C["month"]: month_label(r, lang()), C["accounts"]: r.accounts, C["converted"]: r.converted,
                     C["won"]: r.won, C["rate"]: r.rate} for r in months],
                   columns=[C[c] for c in ("month", "accounts", "converted", "won", "rate")])
with st.expander(t("accounts.page.month_table")):
    show_table(mon, percent=[C["rate"]], integer=[C["accounts"], C["converted"], C["won"]], key="accounts_by_month")
download_frame(mon, "accounts_by_month.csv", "dl_accounts_by_month")
definition("accounts.page.month_def")

# -- buying-group depth ----------------------------------------------------------------------
st.header(t("accounts.depth.title"))
st.caption(t("accounts.depth.intro"))
bands = query(acc.depth)
# Depth 0 (every person came after the deal) converted by definition: in the table, not the chart.
show_chart(build_depth_rates(tuple(b for b in bands if b.lo > 0), a.rate, lang=lang()))
st.caption(t("accounts.depth.caption", rate=pct(a.rate)))
dep = pd.DataFrame([{C["depth"]: depth_label(r, lang()), C["accounts"]: r.accounts, C["converted"]: r.converted,
                     C["won"]: r.won, C["rate"]: r.rate} for r in bands],
                   columns=[C[c] for c in ("depth", "accounts", "converted", "won", "rate")])
show_table(dep, percent=[C["rate"]], integer=[C["accounts"], C["converted"], C["won"]], key="accounts_depth")
download_frame(dep, "accounts_buying_group_depth.csv", "dl_accounts_depth")
definition("accounts.depth.def")

# -- deals that belong to an account only by company -----------------------------------------
st.header(t("accounts.only.title"))
only = query(acc.company_only, touch)
st.markdown(t("accounts.only.summary", n=num(len(only)), accounts=num(len({r["account_name"] for r in only}))))
ONLY = ("account_name", "opp_company", "deal_id", "deal_name", "stage", "outcome", "amount", "created", "owner",
     "contact", "leads", "source")
OC = {c: t(f"accounts.col.{c}") for c in ONLY}
deals = pd.DataFrame([{OC[c]: (source_label(r[c], lang()) if c == "source" else
                               t(f"term.{r[c]}") if c == "outcome" and r[c] in ("won", "lost", "open") else r[c])
                       for c in ONLY} for r in only], columns=list(OC.values()))
show_table(deals, integer=[OC["leads"]], yen=[OC["amount"]], key="accounts_only", height=min(420, 38 + 35 * len(deals)))
download_frame(deals, "opportunities_by_account_only.csv", "dl_accounts_only")
definition("accounts.only.def")

# -- the account match report ----------------------------------------------------------------
st.header(t("accounts.match.title"))
st.caption(t("accounts.match.intro"))
found = query(acc.matches)
formed: dict[tuple[str, ...], int] = {}
for m in found:
    formed[m.formed] = formed.get(m.formed, 0) + 1
FC = {c: t(f"accounts.match.col.{c}") for c in ("formed", "accounts", "share")}
how = pd.DataFrame([{FC["formed"]: " + ".join(t(f"accounts.key.{x}") for x in kinds),
                     FC["accounts"]: n, FC["share"]: n / len(found)}
                    for kinds, n in sorted(formed.items(), key=lambda kv: (-kv[1], kv[0]))],
                   columns=list(FC.values()))
show_table(how, percent=[FC["share"]], integer=[FC["accounts"]], key="accounts_formed")
download_frame(how, "account_formation.csv", "dl_accounts_formed")
counts = {c: sum(1 for m in found if c in m.checks) for c in acc.CHECKS}
ck = st.columns(len(acc.CHECKS))
for col, c in zip(ck, acc.CHECKS, strict=True):
    col.metric(t(f"accounts.check.{c}"), num(counts[c]), border=True, help=t(f"accounts.check.{c}_help"))
definition("accounts.match.def")

M = ("company", "checks", "leads", "placeholder_leads", "numbers", "names", "domains", "number_list", "name_list",
     "domain_list", "opps")
MC = {c: t(f"accounts.match.col.{c}") for c in M}


def match_frame(rows: tuple[acc.Match, ...], labels: dict[str, str], checks: dict[str, str]) -> pd.DataFrame:
    unnamed = t("accounts.match.no_name")
    return pd.DataFrame([{labels["company"]: unnamed if m.company is None else m.company, labels["checks"]: " / ".join(checks[c] for c in m.checks),
                          **{labels[c]: getattr(m, c) for c in M[2:]}} for m in rows], columns=list(labels.values()))


check_names = {c: t(f"accounts.check.{c}") for c in acc.CHECKS}
KIND = {"n": "number", "c": "name", "d": "domain"}
flagged = tuple(m for m in found if m.checks)
st.subheader(t("accounts.match.to_check", n=num(len(flagged))))
if flagged:
    to_check = match_frame(flagged, MC, check_names)
    show_table(to_check, integer=[MC[c] for c in ("leads", "placeholder_leads", "numbers", "names", "domains", "opps")],
               key="accounts_to_check", height=min(420, 38 + 35 * len(to_check)))
    download_frame(to_check, "accounts_to_check.csv", "dl_accounts_to_check")
else:
    st.success(t("accounts.match.none_to_check"), icon="✅")
with st.expander(t("accounts.match.all", n=num(len(found)))):
    every = match_frame(found, MC, check_names)
    show_table(every, integer=[MC[c] for c in ("leads", "placeholder_leads", "numbers", "names", "domains", "opps")],
               key="accounts_all", height=420)
    download_frame(every, "account_match_report.csv", "dl_accounts_all")

# -- edits: merge two accounts, split a key or a lead off (saved with the workspace) ----------
st.subheader(t("accounts.edit.title"))
st.caption(t("accounts.edit.intro"))
by_key = {m.key: m for m in found if m.key}
unnamed = t("accounts.match.no_name")


def account_label(key: str) -> str:
    m = by_key[key]
    return t("accounts.edit.account", company=unnamed if m.company is None else m.company, leads=num(m.leads),
             first=key[2:])


def save(new: acc.Edits) -> None:
    session().set_account_edits(new)
    st.rerun()


merge, split = st.tabs([t("accounts.edit.merge_tab"), t("accounts.edit.split_tab")])
with merge:
    a_col, b_col = st.columns(2)
    a_key = a_col.selectbox(t("accounts.edit.merge_from"), list(by_key), index=None, format_func=account_label,
                            key="accounts_merge_from", placeholder=t("app.choose"))
    b_key = b_col.selectbox(t("accounts.edit.merge_into"), list(by_key), index=None, format_func=account_label,
                            key="accounts_merge_into", placeholder=t("app.choose"))
    if st.button(t("accounts.edit.merge"), key="accounts_merge", disabled=not a_key or not b_key or a_key == b_key):
        save(edits.merge(str(a_key), str(b_key)))
with split:
    s_key = st.selectbox(t("accounts.edit.split_account"), list(by_key), index=None, format_func=account_label,
                         key="accounts_split_account", placeholder=t("app.choose"))
    if s_key:
        m = by_key[s_key]
        k_col, l_col = st.columns(2)
        key = k_col.selectbox(t("accounts.edit.split_key"), list(m.keys), index=None, key="accounts_split_key",
                              format_func=lambda k: f"{t(f'accounts.key.{KIND[k[0]]}')}: {k[2:]}",
                              placeholder=t("app.choose"))
        if k_col.button(t("accounts.edit.split_key_button"), key="accounts_split_key_go", disabled=not key):
            save(edits.split_key(str(key)))
        people = query(acc.members, m.account)
        shown = dict(zip([p["lead_key"] for p in people], masked_values([p["email_raw"] for p in people], "email"),
                         strict=True))
        lead = l_col.selectbox(t("accounts.edit.split_lead"), list(shown), index=None, key="accounts_split_lead",
                               format_func=lambda k: str(shown[k]), placeholder=t("app.choose"))
        if l_col.button(t("accounts.edit.split_lead_button"), key="accounts_split_lead_go", disabled=not lead):
            save(edits.split_lead(str(lead)))
if edits:
    st.markdown(t("accounts.edit.made"))
    items = ([("merges", i, t("accounts.edit.merged", a=a[2:], b=b[2:])) for i, (a, b) in enumerate(edits.merges)]
             + [("split_keys", i, t("accounts.edit.key_split", value=k[2:])) for i, k in enumerate(edits.split_keys)]
             + [("split_leads", i, t("accounts.edit.lead_split", lead=masked_values([k[2:]], "email")[0]))
                for i, k in enumerate(edits.split_leads)])
    for kind, i, text in items:
        row = st.columns([5, 1])
        row[0].markdown(f"- {text}")
        if row[1].button(t("accounts.edit.undo"), key=f"accounts_undo_{kind}_{i}"):
            save(edits.undo(kind, i))
else:
    st.caption(t("accounts.edit.none"))

# -- target-account list (ABM), optional ------------------------------------------------------
st.header(t("accounts.abm.title"))
st.caption(t("accounts.abm.intro"))
upload = st.file_uploader(t("accounts.abm.upload"), type=["csv", "tsv", "txt", "xlsx", "xls"], key="accounts_targets",
                          help=t("accounts.abm.upload_help"))
cov = None
if upload is not None:
    try:
        cov = query(acc.coverage, upload.name, upload.getvalue(), cur.ws.workdir)
    except FunnelError as e:
        st.error(e.render(lang()))
if cov is not None:
    n = len(cov.targets)
    if not n:
        st.warning(t("accounts.abm.empty"))
    else:
        v = st.columns(4)
        v[0].metric(t("accounts.abm.kpi.targets"), num(n), border=True)
        for box, key, count in ((v[1], "engaged", cov.engaged), (v[2], "converted", cov.converted),
                                (v[3], "won", cov.won)):
            box.metric(t(f"accounts.abm.kpi.{key}"), num(count), delta=pct(count / n), delta_color="off",
                       delta_arrow="off", border=True)
        TC = {c: t(f"accounts.abm.col.{c}") for c in ("target", "found_by", "company", "leads", "opps", "won")}
        cover = pd.DataFrame([{TC["target"]: x.target,
                               TC["found_by"]: t(f"accounts.key.{x.found_by}") if x.found_by else t("accounts.abm.not_found"),
                               TC["company"]: x.company, TC["leads"]: x.leads, TC["opps"]: x.opps, TC["won"]: x.won}
                              for x in cov.targets], columns=list(TC.values()))
        show_table(cover, integer=[TC["leads"], TC["opps"], TC["won"]], key="accounts_targets_table", placeholder="—",
                   height=min(420, 38 + 35 * n))
        download_frame(cover, "target_account_coverage.csv", "dl_accounts_targets")
    definition("accounts.abm.def")
