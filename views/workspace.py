"""作業の保存・読み込み: save the loaded data and every edit of this analysis into one .funnel
file, and open such a file again (later, or on a colleague's machine) with the same numbers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from funnel.errors import FunnelError
from funnel.model import saved
from ui import saved as ui_saved
from ui import state
from ui.state import lang, t

GEN, DONE = "saved_upload", "saved_opened"


def contents_table(rows: list[tuple[str, str]]) -> None:
    """What a file holds, every row shown (no scrolling inside the table)."""
    item, value = t("saved.col.item"), t("saved.col.value")
    st.dataframe(pd.DataFrame(rows, columns=[item, value]), hide_index=True, width="stretch",
                 height=35 * (len(rows) + 1) + 3,
                 column_config={item: st.column_config.TextColumn(item, width="small"),
                                value: st.column_config.TextColumn(value, width="large")})


def saved_at(stamp: object) -> str:
    """The manifest's UTC time as the user reads it (``2025/04/01 09:30 UTC``)."""
    try:
        return f"{dt.datetime.fromisoformat(str(stamp).replace('Z', '+00:00')):%Y/%m/%d %H:%M} UTC"
    except ValueError:
        return "—"


state.ensure_loaded()
st.title(t("saved.title"))
st.caption(t("saved.intro"))

# -- opening first: an opened file must be what the save section below describes -----------------
opened_box = st.container()
save_box = st.container()
with st.container():
    st.header(t("saved.open.title"))
    st.caption(t("saved.open.caption"))
    gen = state.generation(GEN)
    upload = st.file_uploader(t("saved.open.uploader"), type=["funnel", "zip"], key=f"saved_upload_{gen}")
    if upload is not None:
        state.drop_page_value(DONE)
        data = upload.getvalue()
        try:
            manifest = saved.read_manifest(data, upload.name)
        except FunnelError as exc:
            st.error(exc.render(lang()), icon="⛔")
        else:
            st.markdown(t("saved.open.preview", file=upload.name, created=saved_at(manifest.get("created_at")),
                          app=manifest.get("app_version", "—"), version=manifest["format_version"]))
            contents_table(ui_saved.summary(manifest))
            st.warning(t("saved.open.confirm"), icon="⚠️")
            if st.button(t("saved.open.button"), key="saved_open", type="primary", icon="📂"):
                try:
                    with st.spinner(t("app.loading", file=upload.name)):
                        opened = ui_saved.open_file(upload.name, data)
                except FunnelError as exc:
                    st.error(exc.render(lang()), icon="⛔")
                    st.caption(t("saved.open.failed"))
                else:
                    state.set_page_value(DONE, (upload.name, opened))
                    state.next_generation(GEN)     # an empty uploader: the file is not opened twice
                    st.rerun()

with opened_box:
    if state.page_value(DONE) is not None:
        name, opened = state.page_value(DONE)
        st.success(t("saved.open.done", file=name), icon="✅")
        contents_table(ui_saved.summary(opened))

with save_box:
    st.header(t("saved.save.title"))
    st.warning(t("saved.privacy"), icon="🔒")
    ws = state.session_workspace()
    if not any(ws.files.values()):
        st.info(t("saved.save.nothing"), icon="ℹ️")
    else:
        args = ui_saved.save_arguments()
        st.caption(t("saved.save.caption"))
        contents_table(ui_saved.summary(ui_saved.pending_manifest(args)))
        # The file is made when the button is clicked (a callable), not on every rerun.
        st.download_button(t("saved.save.button"), data=lambda: saved.save_bytes(ws, **args),
                           file_name=ui_saved.file_name(), mime="application/zip", key="saved_download",
                           icon="💾", on_click="ignore", type="primary", help=t("saved.save.help"))
