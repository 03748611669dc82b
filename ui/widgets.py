"""Small building blocks every page uses: the data guard, definitions beside numbers,
downloads of what is shown, and tables with readable formats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from funnel.errors import FunnelError
from funnel.export import frame_csv_bytes
from ui.state import Current, current, t

UPLOAD_PAGE = "pages/upload.py"


def require_current() -> Current:
    """The built data, or a clear message (and a way to the upload page) and stop."""
    cur = current()
    if isinstance(cur, Current):
        if cur.state.mode == "sample":
            st.caption(t("app.sample_banner_short"))
        return cur
    if isinstance(cur, FunnelError):
        st.error(cur.render(st.session_state.get("lang", "ja")))
    else:
        st.warning(t("app.need_both_sides"))
    st.page_link(UPLOAD_PAGE, label=t("app.go_upload"), icon="📂")
    st.stop()
    raise RuntimeError("unreachable")


def definition(key: str, **params: Any) -> None:
    """A "定義" popover next to a number: numerator, denominator, date basis, filters, link."""
    with st.popover(t("app.definition"), icon="ℹ️"):
        st.markdown(t(key, **params))


def download_frame(frame: pd.DataFrame, file_name: str, key: str, label: str | None = None) -> None:
    """A CSV download (UTF-8 with BOM, formula-safe) of exactly the table shown."""
    st.download_button(label or t("app.download_csv"), data=frame_csv_bytes(frame), file_name=file_name,
                       mime="text/csv", key=key, icon="⬇️", on_click="ignore")


def show_table(frame: pd.DataFrame, *, percent: Sequence[str] = (), integer: Sequence[str] = (),
               yen: Sequence[str] = (), height: int | None = None, key: str | None = None) -> None:
    """A dataframe with percentages, counts and yen formatted; index hidden."""
    config: dict[str, Any] = {}
    for c in percent:
        config[c] = st.column_config.NumberColumn(c, format="percent")
    for c in integer:
        config[c] = st.column_config.NumberColumn(c, format="localized")
    for c in yen:
        config[c] = st.column_config.NumberColumn(c, format="yen")
    st.dataframe(frame, hide_index=True, column_config=config, width="stretch",
                 height=height if height is not None else "auto", key=key)


def notices(items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    for key, params in items:
        st.info(t(key, **params), icon="ℹ️")
