"""データ取込: upload both exports, see how each was read, fix the mapping and the link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from funnel.config import setting
from funnel.measures.metrics import match
from funnel.model.accounting import account, activity_account, preview, rows_without_key, set_aside_rows
from funnel.model.link import LinkSpec, suggest_links
from funnel.present.format import drop_label, field_label, num, pct
from funnel.present.privacy import field_role, role_of
from funnel.vocabulary import ACTIVITY, INPUTS, SIDES
from ui import state
from ui.privacy import masked_values
from ui.state import Current, FileEntry, current, t
from ui.widgets import UPLOAD_TYPES, download_frame, notices, show_table

st.title(t("upload.title"))
data = state.ensure_loaded()

if data.mode == "sample" and data.own_activity:
    # The sample's MA and SFA with the user's activity exports: said, with the way back.
    left, right = st.columns([4, 1])
    left.warning(t("upload.sample_own_activity"), icon="🔀")
    if right.button(t("upload.back_to_sample"), key="back_to_sample", width="stretch"):
        state.use_sample()
        st.rerun()
elif data.mode == "sample":
    st.info(t("upload.sample_banner"), icon="📌")
else:
    left, right = st.columns([4, 1])
    left.success(t("upload.user_banner"), icon="✅")
    if right.button(t("upload.back_to_sample"), key="back_to_sample", width="stretch"):
        state.use_sample()      # new uploader keys empty the uploaders; else their files would load again
        st.rerun()

st.caption(t("upload.privacy", hours=num(setting("session_idle_minutes") / 60)))


def report_rows(entry: FileEntry) -> pd.DataFrame:
    r = entry.report
    assert r is not None
    items = [(t("upload.report.kind"), r.kind.upper()), (t("upload.report.encoding"), r.encoding or "—"),
             (t("upload.report.delimiter"), {"\t": "TAB"}.get(r.delimiter or "", r.delimiter or "—")),
             (t("upload.report.sheet"), r.sheet or "—"), (t("upload.report.header_row"), str(r.header_row)),
             (t("upload.report.first_column"), str(r.first_column)), (t("upload.report.columns"), str(len(r.columns))),
             (t("upload.report.rows_read"), num(r.rows_read))]
    items += [(t("upload.report.dropped", reason=drop_label(k, state.lang())), num(v)) for k, v in r.dropped.items()]
    return pd.DataFrame(items, columns=[t("upload.report.item"), t("upload.report.value")])


def file_list(side: str) -> None:
    for entry in data.files[side]:
        if entry.error:
            st.error(entry.error_text(state.lang()), icon="⛔")
            continue
        r = entry.report
        assert r is not None
        label = t("upload.file_ok", file=entry.name, rows=num(r.rows_read), dropped=num(r.rows_dropped))
        with st.expander(label, icon="📄"):
            show_table(report_rows(entry))
            for key, params in r.notices:
                st.caption("ℹ️ " + t(key, **params))
            for old, new in r.renamed:
                st.caption("ℹ️ " + t("upload.renamed", old=old or "（空）", new=new))
            if data.mode == "user" and st.button(t("upload.remove"), key=f"rm_{side}_{entry.digest[:12]}"):
                state.remove_file(side, entry.digest)
                st.rerun()


def uploader(kind: str) -> None:
    """The file uploader of one input (``ma``, ``sfa``, ``activity``) and the files it holds. Its
    key changes with the upload generation, so a cleared workspace empties the widget too."""
    gen = state.generation("upload")
    uploads = st.file_uploader(t(f"upload.uploader.{kind}"), type=UPLOAD_TYPES, accept_multiple_files=True,
                               key=f"up_{kind}" + (f"_{gen}" if gen else ""), help=t("upload.uploader_help"))
    if uploads and state.use_uploads(kind, [(f.name, f.getvalue()) for f in uploads]):
        st.rerun()
    file_list(kind)


cols = st.columns(2)
for side, col in zip(SIDES, cols, strict=True):
    with col:
        st.subheader(t(f"side.{side}"))
        uploader(side)

# Activity exports (行動履歴): optional, read like a side, attached to the leads at build time.
st.subheader(t(f"side.{ACTIVITY}"))
st.caption(t("upload.activity_caption"))
if data.mode == "sample" and not data.own_activity:
    st.caption(t("upload.activity_sample_note"))
uploader(ACTIVITY)

# Users export (optional): owner columns holding CRM user IDs are shown as names through it.
st.subheader(t("upload.users.title"))
st.caption(t("upload.users.caption"))
ugen = state.generation("users") + state.generation("upload")
users_up = st.file_uploader(t("upload.users.uploader"), type=["csv", "txt"], key=f"up_users_{ugen}",
                            help=t("upload.users.help"))
users_error = state.load_users_file(users_up.name, users_up.getvalue()) if users_up is not None else None
if users_error:
    st.error(users_error)
elif (users := state.owner_names()) is not None:
    u1, u2 = st.columns([4, 1])
    u1.caption("✅ " + t("upload.users.loaded", file=state.users_file() or "", n=num(len(users.names))))
    if u2.button(t("upload.users.remove"), key="rm_users"):
        state.forget_users()
        st.rerun()

cur = current()
if cur is None:
    # Said here, where the user is: which export is still missing (not "on the Upload page").
    have = {side: bool(data.data.ws is not None and data.data.ws.files[side]) for side in SIDES}
    missing = [side for side in SIDES if not have[side]]
    for side in missing:
        other = next((s for s in SIDES if s != side), side)
        st.warning(t("upload.missing_side", missing=t(f"side.{side}"), done=t(f"side.{other}")) if have[other]
                   else t("upload.missing_both", missing=t(f"side.{side}")), icon="⬆️")
    st.stop()
if not isinstance(cur, Current):
    st.error(cur.render(state.lang()))
    st.info(t("upload.fix_hint"))

ws = state.session_workspace()


def mapping_editor(side: str) -> None:
    """The detected mapping of ``side`` in an editable table: pick any column for any field."""
    if not ws.files[side]:
        return
    first = ws.files[side][0]
    profiles = ws.profiles(first)
    try:
        detected = ws.detect(side, state.overrides()[side])[0]
    except Exception:  # an override no longer valid after new files: start from automatic
        state.set_overrides(side, {})
        detected = ws.detect(side)[0]
    none = t("upload.map.none")
    rows = []
    for choice in detected.choices:
        sample = profiles[choice.column].sample[:3] if choice.column else ()
        sample = masked_values(sample, role_of(choice.column) or field_role(side, choice.field))
        rows.append({"field": field_label(choice.field, state.lang()), "column": choice.column or none,
                     "how": t(f"upload.map.how.{choice.how}"), "sample": " / ".join(str(s)[:30] for s in sample)})
    frame = pd.DataFrame(rows)
    edited = st.data_editor(
        frame, key=f"map_{side}", hide_index=True, width="stretch", num_rows="fixed",
        disabled=["field", "how", "sample"],
        column_config={
            "field": st.column_config.TextColumn(t("upload.map.field")),
            "column": st.column_config.SelectboxColumn(t("upload.map.column"), options=[none, *first.columns],
                                                       required=True),
            "how": st.column_config.TextColumn(t("upload.map.how")),
            "sample": st.column_config.TextColumn(t("upload.map.sample")),
        })
    new = dict(state.overrides()[side])
    for choice, (_, row) in zip(detected.choices, edited.iterrows(), strict=True):
        picked = None if row["column"] == none else row["column"]
        if picked != choice.column:
            new[choice.field] = picked
    if new != state.overrides()[side]:
        state.set_overrides(side, new)
        st.rerun()
    for choice in detected.choices:
        if choice.passed_over:
            st.caption("ℹ️ " + t("upload.map.passed_over", field=field_label(choice.field, state.lang()),
                                columns=", ".join(choice.passed_over)))
    if state.overrides()[side] and st.button(t("upload.map.reset"), key=f"reset_map_{side}"):
        state.set_overrides(side, {})
        st.rerun()


st.header(t("upload.map.title"))
st.caption(t("upload.map.caption"))
mapped = [s for s in INPUTS if s in SIDES or ws.files[s]]
tabs = st.tabs([t(f"side.{s}") for s in mapped])
for side, tab in zip(mapped, tabs, strict=True):
    with tab:
        mapping_editor(side)

st.header(t("upload.link.title"))
link_now = state.link_spec()
# The radio shows the rule in use (an ID link the engine chose shows as ID), set on every run;
# a click is taken from its callback, so a stale widget value never hides the rule in use.
pick = state.page_value("link_pick")
state.drop_page_value("link_pick")
if pick == "email" and link_now is not None:
    state.set_link(None)
    st.rerun()
in_use = link_now or (cur.build.link if isinstance(cur, Current) else None)
in_use_kind = in_use.kind if in_use else "email"
state.set_widget("link_kind", pick or in_use_kind)
kind = st.radio(t("upload.link.kind"), ["email", "id"], horizontal=True, key="link_kind",
                format_func=lambda k: t(f"upload.link.{k}"),
                on_change=lambda: state.set_page_value("link_pick", state.widget("link_kind")))
if in_use is not None and in_use.auto:
    st.caption("ℹ️ " + t("upload.link.auto_in_use", ma=in_use.ma_column, sfa=in_use.sfa_column))
if kind == "email":
    st.caption(t("upload.link.email_help"))
else:
    ma_cols = [c for lt in ws.files["ma"] for c in lt.columns]
    sfa_cols = [c for lt in ws.files["sfa"] for c in lt.columns]
    shown = link_now or (cur.build.link if isinstance(cur, Current) else None)
    ma_default = shown.ma_column if shown and shown.kind == "id" else None
    sfa_default = shown.sfa_column if shown and shown.kind == "id" else None
    c1, c2 = st.columns(2)
    ma_col = c1.selectbox(t("upload.link.ma_column"), ma_cols, key="link_ma",
                          index=ma_cols.index(ma_default) if ma_default in ma_cols else 0, placeholder=t("app.choose"))
    sfa_col = c2.selectbox(t("upload.link.sfa_column"), sfa_cols, key="link_sfa",
                           index=sfa_cols.index(sfa_default) if sfa_default in sfa_cols else 0,
                           placeholder=t("app.choose"))
    wanted = LinkSpec("id", ma_col, sfa_col)
    shown_cols = (shown.ma_column, shown.sfa_column) if shown and shown.kind == "id" else None
    if shown_cols != (ma_col, sfa_col) or (pick == "id" and link_now is None and not (shown and shown.auto)):
        state.set_link(wanted)
        st.rerun()
    suggestions = suggest_links(ws)
    if suggestions:
        st.caption(t("upload.link.suggestions"))
        show_table(pd.DataFrame([{t("upload.link.ma_column"): s.ma_column, t("upload.link.sfa_column"): s.sfa_column,
                                  t("upload.link.shared"): s.shared, t("upload.link.share"): s.best_share}
                                 for s in suggestions]), percent=[t("upload.link.share")])

if not isinstance(cur, Current):
    st.stop()
b = cur.build
notices(b.notices)
matched = match(ws.con)
st.success(t("upload.link.summary", kind=t(f"link.{b.link.kind}"), ma=b.link.ma_column, sfa=b.link.sfa_column,
             leads=num(b.counts["ma"].keys), opps=num(b.counts["sfa"].keys), linked=num(matched.linked),
             rate=pct(matched.rate)), icon="🔗")
ambiguous = [d for d in b.date_orders if d["ambiguous"]]
for d in ambiguous:
    st.warning(t("upload.date_ambiguous", file=d["file"], column=d["column"], order=d["order"].upper()))

st.header(t("upload.preview.title"))
ptabs = st.tabs([f"{t(f'side.{s}')}: {lt.report.file}" for s in INPUTS for lt in ws.files[s]])
i = 0
for side in INPUTS:
    for idx in range(len(ws.files[side])):
        with ptabs[i]:
            names, rows = preview(ws, side, idx, 20)
            show_table(pd.DataFrame(rows, columns=pd.Index(names)))
        i += 1

st.header(t("upload.accounting.title"))
st.caption(t("upload.accounting.caption"))
acc_rows = []
for side in SIDES:
    a = account(ws, side)
    acc_rows.append({t("upload.accounting.side"): t(f"side.{side}"), t("upload.accounting.file_rows"): a.file_rows,
                     t("upload.accounting.set_aside"): a.set_aside, t("upload.accounting.data_rows"): a.data_rows,
                     t("upload.accounting.keyed"): a.keyed_rows, t("upload.accounting.without_key"): a.without_key,
                     t(f"upload.accounting.keys_{side}"): a.keys,
                     t("upload.accounting.balanced"): "✅" if a.balanced else "⚠️"})
acc = pd.DataFrame(acc_rows)
show_table(acc)
download_frame(acc, "row_accounting.csv", "dl_accounting")

act = activity_account(ws)
if act is not None:
    st.subheader(t("upload.accounting.activity_title"))
    st.caption(t("upload.accounting.activity_caption"))
    act_frame = pd.DataFrame([{t("upload.accounting.file_rows"): act.file_rows, t("upload.accounting.set_aside"): act.set_aside,
                               t("upload.accounting.data_rows"): act.data_rows, t("upload.accounting.events"): act.events,
                               t("upload.accounting.rows_without_key"): act.rows_without_key,
                               t("upload.accounting.events_unlinked"): act.events_unlinked,
                               t("upload.accounting.leads_with_events"): act.leads_with_events,
                               t("upload.accounting.balanced"): "✅" if act.balanced else "⚠️"}])
    show_table(act_frame)
    download_frame(act_frame, "activity_row_accounting.csv", "dl_activity_accounting")

for side in [*SIDES, *([ACTIVITY] if act is not None else [])]:
    dropped = set_aside_rows(ws, side)
    nokey = rows_without_key(ws, side)
    if not dropped and not nokey:
        continue
    with st.expander(t("upload.accounting.details", side=t(f"side.{side}"), dropped=num(len(dropped)),
                       nokey=num(len(nokey)))):
        if dropped:
            df = pd.DataFrame([{t("upload.col.file"): d["file"], t("upload.col.where"): f"{t('upload.where.' + d['where'])} {d['position']}",
                                t("upload.col.reason"): drop_label(d["reason"], state.lang()),
                                t("upload.col.text"): d["text"][:300]} for d in dropped])
            show_table(df, height=min(400, 40 + 35 * len(df)))
            download_frame(df, f"set_aside_{side}.csv", f"dl_drop_{side}")
        if nokey:
            df = pd.DataFrame([{t("upload.col.file"): d["file"], t("upload.col.row"): d["row"],
                                t("upload.col.value"): d["value"], t("upload.col.reason"): t(f"upload.nokey.{d['reason']}")}
                               for d in nokey])
            show_table(df, height=min(400, 40 + 35 * len(df)))
            download_frame(df, f"rows_without_key_{side}.csv", f"dl_nokey_{side}")

