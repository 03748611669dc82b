"""Router of the Streamlit app: page setup, language switch, navigation. Nothing else."""

from __future__ import annotations

import streamlit as st

from ui.state import ensure_loaded, t

st.set_page_config(page_title="Funnel Diagnosis", page_icon="📊", layout="wide")

# The language lives in a plain session key: a widget's own state is dropped whenever the
# widget is not drawn, and every page reads the language through ui.state.lang().
if st.session_state.get("lang_choice", st.session_state.get("lang", "ja")) != st.session_state.get("lang", "ja"):
    st.session_state["lang_choice"] = st.session_state.get("lang", "ja")
with st.sidebar:
    st.radio("言語 / Language", ["ja", "en"], key="lang_choice", horizontal=True,
             index=["ja", "en"].index(st.session_state.get("lang", "ja")),
             on_change=lambda: st.session_state.update(lang=st.session_state["lang_choice"]),
             format_func=lambda code: {"ja": "日本語", "en": "English"}[code])

ensure_loaded()

PAGES = {
    t("nav.data"): [
        st.Page("pages/upload.py", title=t("nav.upload"), icon="📂", url_path="upload", default=True),
        st.Page("pages/quality.py", title=t("nav.quality"), icon="🔗", url_path="quality"),
    ],
    t("nav.analysis"): [
        st.Page("pages/rate.py", title=t("nav.rate"), icon="📈", url_path="rate"),
        st.Page("pages/funnel.py", title=t("nav.funnel"), icon="🔻", url_path="funnel"),
        st.Page("pages/loss.py", title=t("nav.loss"), icon="🧩", url_path="loss"),
        st.Page("pages/benchmarks.py", title=t("nav.benchmarks"), icon="📏", url_path="benchmarks"),
    ],
}

st.navigation(PAGES).run()
