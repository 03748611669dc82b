"""Router of the Streamlit app: page setup, language switch, navigation. Nothing else."""

from __future__ import annotations

import streamlit as st

from ui.layout import meeting_layout
from ui.privacy import sidebar_toggle
from ui.state import ensure_loaded, language_switch, t

st.set_page_config(page_title="Funnel Diagnosis", page_icon="📊", layout="wide")
meeting_layout()   # KPI cards and controls never cut at projector sizes (ui/layout.py)

with st.sidebar:
    language_switch()  # the languages of the message catalogue (ui/state.py)
    sidebar_toggle()   # masking of personal data for screen sharing (ui/privacy.py)

ensure_loaded()

PAGES = {
    t("nav.data"): [
        st.Page("views/upload.py", title=t("nav.upload"), icon="📂", url_path="upload", default=True),
        st.Page("views/quality.py", title=t("nav.quality"), icon="🔗", url_path="quality"),
        st.Page("views/workspace.py", title=t("nav.workspace"), icon="💾", url_path="workspace"),
    ],
    t("nav.analysis"): [
        st.Page("views/rate.py", title=t("nav.rate"), icon="📈", url_path="rate"),
        st.Page("views/stages.py", title=t("nav.funnel"), icon="🔻", url_path="funnel"),
        st.Page("views/loss.py", title=t("nav.loss"), icon="🧩", url_path="loss"),
        st.Page("views/accounts.py", title=t("nav.accounts"), icon="🏢", url_path="accounts"),
        st.Page("views/activity.py", title=t("nav.activity"), icon="👣", url_path="activity"),
        st.Page("views/attribution.py", title=t("nav.attribution"), icon="🧭", url_path="attribution"),
        st.Page("views/benchmarks.py", title=t("nav.benchmarks"), icon="📏", url_path="benchmarks"),
        st.Page("views/diff.py", title=t("nav.diff"), icon="🔁", url_path="diff"),
    ],
    t("nav.plan_section"): [
        st.Page("views/plan.py", title=t("nav.plan"), icon="🧮", url_path="plan"),
        st.Page("views/cost.py", title=t("nav.cost"), icon="💴", url_path="cost"),
        st.Page("views/mql.py", title=t("nav.mql"), icon="🎯", url_path="mql"),
        st.Page("views/sla.py", title=t("nav.sla"), icon="⏱️", url_path="sla"),
        st.Page("views/diagnosis.py", title=t("nav.diagnosis"), icon="🩺", url_path="diagnosis"),
    ],
    t("nav.share"): [
        st.Page("views/report.py", title=t("nav.report"), icon="📗", url_path="report"),
    ],
}

# expanded: all pages listed (collapsed, 4 of the 17 hide behind "View more", unseen in a workshop).
st.navigation(PAGES, expanded=True).run()
