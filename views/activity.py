"""行動履歴: a lead's (or a company's) behaviour on one line of time with its opportunities,
the hand-off list of current MQLs with their latest meaningful actions, and which actions come
before an opportunity (商談化率 per activity type, with intervals and lift)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from funnel.measures import activity as history
from funnel.present.charts.activity import build_behaviour, build_timeline
from funnel.present.format import num, pct
from ui.privacy import masked_values
from ui.state import keep, lang, query, restate, t
from ui.widgets import UPLOAD_PAGE, definition, download_frame, require_current, show_chart, show_table

st.title(t("activity.title"))
cur = require_current()
st.caption(t("activity.intro"))
counts = cur.build.activity
if counts is None:
    st.info(t("activity.no_files"), icon="ℹ️")
    st.page_link(UPLOAD_PAGE, label=t("app.go_upload"), icon="📂")
    st.stop()

k1, k2, k3, k4 = st.columns(4)
k1.metric(t("activity.kpi.rows"), num(counts.rows), border=True)
k2.metric(t("activity.kpi.events"), num(counts.events), border=True)
k3.metric(t("activity.kpi.leads"), num(counts.leads_with_events), border=True)
k4.metric(t("activity.kpi.unlinked"), num(counts.events_unlinked), border=True)
definition("activity.def.counts", rows=num(counts.rows), events=num(counts.events), nokey=num(counts.rows_without_key),
           unlinked=num(counts.events_unlinked))

tab_time, tab_hand, tab_beh = st.tabs([t("activity.tab.timeline"), t("activity.tab.handoff"), t("activity.tab.behaviour")])

# -- (a) the lead timeline -------------------------------------------------------------------------
with tab_time:
    st.subheader(t("activity.timeline.title"))
    text = st.text_input(t("activity.timeline.search"), value=keep("activity_search", ""), key="activity_search",
                         placeholder=t("activity.timeline.search_hint"))
    people = query(history.find_people, text, 50)
    if not text.strip():
        st.caption(t("activity.timeline.most_active"))
    elif not people:
        st.warning(t("activity.timeline.none_found", text=text))
    if people:
        options = [p.lead_key for p in people]
        companies = sorted({p.company for p in people if p.company})
        scope_options = ["person"] + (["company"] if companies else [])
        scope = st.radio(t("activity.timeline.scope"), scope_options, horizontal=True, key="activity_scope",
                         format_func=lambda s: t(f"activity.timeline.scope_{s}"))
        if scope == "company":
            company = st.selectbox(t("activity.timeline.company"), companies, key="activity_company",
                                   format_func=lambda c: c, placeholder=t("app.choose"))
            keys = tuple(p.lead_key for p in people if p.company == company)
            label = company
        else:
            by_key = {p.lead_key: p for p in people}

            def person_text(k: str) -> str:
                p = by_key[k]
                name, company_, email = masked_values([p.name or "—"], "name")[0], \
                    p.company or "—", masked_values([p.email or "—"], "email")[0]
                return t("activity.timeline.person", name=name, company=company_, email=email, events=num(p.events),
                         opps=num(p.opportunities))

            # The choice is a position in the list, not the lead key (an address: the widget's
            # value must hold no personal data); labels are made now, masked as the switch says.
            labels = [person_text(k) for k in options]
            picked = st.selectbox(t("activity.timeline.person_pick"), range(len(options)), key="activity_person",
                                  format_func=labels.__getitem__, placeholder=t("app.choose"))
            chosen = by_key[options[picked or 0]]
            keys = (chosen.lead_key,)
            label = t("activity.timeline.who", name=masked_values([chosen.name or "—"], "name")[0],
                      company=chosen.company or "—")
        events, opps = query(history.timeline, keys)
        st.markdown(t("activity.timeline.summary", who=label, events=num(len(events)),
                      opps=num(len({(o.deal_name, o.created) for o in opps}))))
        if events or opps:
            show_chart(build_timeline(events, opps, lang=lang()))
        st.caption(t("activity.timeline.caption"))
        definition("activity.def.timeline")
        ev = pd.DataFrame([{t("activity.col.day"): e.day, t("activity.term.activity"): e.activity,
                            t("activity.col.campaign"): e.campaign, t("activity.col.channel"): e.channel,
                            t("activity.col.asset"): e.asset,
                            t("activity.col.counted"): "✅" if e.counted else "—",
                            t("activity.col.email"): e.lead_key[2:] if e.lead_key.startswith("e:") else e.lead_key}
                           for e in events])
        if opps:
            st.markdown("**" + t("activity.timeline.opps") + "**")
            op = pd.DataFrame([{t("activity.col.deal"): o.deal_name, t("activity.col.stage"): o.stage,
                                t("activity.col.created"): o.created, t("activity.col.close"): o.close,
                                t("activity.col.amount"): o.amount} for o in opps])
            show_table(op, yen=[t("activity.col.amount")])
        if not ev.empty:
            st.markdown("**" + t("activity.timeline.events") + "**")
            show_table(ev, height=min(420, 40 + 35 * len(ev)))
            download_frame(ev, "lead_timeline.csv", "dl_activity_timeline")

# -- (b) the MQL hand-off list -----------------------------------------------------------------------
with tab_hand:
    st.subheader(t("activity.handoff.title"))
    last_n = int(st.number_input(t("activity.handoff.last_n"), min_value=1, max_value=10, step=1,
                                 value=int(keep("activity_last_n", 3)), key="activity_last_n"))
    items = query(history.handoff, last_n)
    with_actions = sum(1 for h in items if h.actions)
    st.markdown(t("activity.handoff.summary", n=num(len(items)), with_actions=num(with_actions)))
    definition("activity.def.handoff", passive=" / ".join(history.passive_words()), n=last_n)
    # The actions first (what sales reads), the contact details after them.
    cols = {k: t(f"activity.col.{k}") for k in ("name", "company", "actions", "last_day", "actions_total", "score",
                                                  "mql_day", "owner", "email")}
    hand = pd.DataFrame([{cols["name"]: h.name, cols["company"]: h.company,
                          cols["actions"]: " / ".join(t("activity.handoff.action", day=f"{d:%m/%d}", activity=a or "—")
                                                      + (t("activity.handoff.touch", touch=lbl) if lbl and lbl != a else "")
                                                      for d, a, lbl in h.actions),
                          cols["last_day"]: h.last_day, cols["actions_total"]: h.actions_total, cols["score"]: h.score,
                          cols["mql_day"]: h.mql_day, cols["owner"]: h.owner, cols["email"]: h.email}
                         for h in items], columns=list(cols.values()))
    show_table(hand, height=min(520, 40 + 35 * len(hand)), integer=[cols["actions_total"]],
               column_config={cols["actions"]: st.column_config.TextColumn(cols["actions"], width="large")})
    download_frame(hand, "mql_handoff.csv", "dl_activity_handoff")

# -- (c) behaviour → 商談化率 ------------------------------------------------------------------------
with tab_beh:
    st.subheader(t("activity.behaviour.title"))
    restate("activity_behaviour_by", "activity", history.BEHAVIOUR_GROUPS)
    by = st.radio(t("activity.behaviour.by"), list(history.BEHAVIOUR_GROUPS), key="activity_behaviour_by",
                  horizontal=True, format_func=lambda g: t(f"activity.behaviour.by.{g}"))
    group_col = t("activity.term.activity" if by == "activity" else "activity.col.campaign")
    found = query(history.behaviour, by)
    if not found:
        st.info(t("activity.behaviour.none" if by == "activity" else "activity.behaviour.no_campaign"))
    else:
        top = max((b for b in found if b.lift is not None), key=lambda b: b.lift or 0.0, default=None)
        if top is not None:
            st.success(t(f"activity.behaviour.top{'' if by == 'activity' else '_campaign'}", activity=top.activity or "—",
                         rate=pct(top.rate), without=pct(top.rate_without), lift=f"{top.lift:.2f}",
                         leads=num(top.leads)), icon="🔎")
        show_chart(build_behaviour(found, lang=lang(), by=by))
        st.caption(t("activity.behaviour.caption"))
        definition("activity.def.behaviour" if by == "activity" else "activity.def.behaviour_campaign")
        bcols = {k: t(f"activity.col.{k}") for k in ("leads", "converted", "rate", "ci_low", "ci_high")}
        beh = pd.DataFrame([{group_col: b.activity, bcols["leads"]: b.leads,
                             bcols["converted"]: b.converted, bcols["rate"]: b.rate, bcols["ci_low"]: b.ci[0],
                             bcols["ci_high"]: b.ci[1], t("activity.term.rate_without"): b.rate_without,
                             t("activity.term.lift"): None if b.lift is None else round(b.lift, 2)} for b in found])
        show_table(beh, percent=[bcols["rate"], bcols["ci_low"], bcols["ci_high"], t("activity.term.rate_without")],
                   integer=[bcols["leads"], bcols["converted"]])
        download_frame(beh, "behaviour_opportunity_rate.csv" if by == "activity" else "behaviour_opportunity_rate_by_campaign.csv", "dl_activity_behaviour")
