"""Readable in a meeting: the page layout at projector sizes (1024×768 to 1440×900).

Streamlit cuts a KPI card's value, label or delta with an ellipsis when its column is narrower
than the text ("3.7% – 4…" at 1280×720), and a filter row's date range likewise. One style
sheet, drawn once per run by the router, makes cards wrap and shrink their numbers instead,
lets a row of columns wrap to a second line before a control gets too narrow to read, and
gives the page more of the screen at narrow widths (less padding, a narrower sidebar). No page
needs to know about it.
"""

from __future__ import annotations

import streamlit as st

CSS = """
<style>
/* KPI cards: never an ellipsis. Values scale with the window, then wrap. */
[data-testid="stMetricValue"] { font-size: clamp(1.35rem, 2.3vw, 2.25rem); }
[data-testid="stMetric"] div, [data-testid="stMetric"] span, [data-testid="stMetric"] p,
[data-testid="stMetricDeltaDescription"] {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere;
}
[data-testid="stMetric"] div:has(> [data-testid="stMetricDeltaDescription"]) { flex-wrap: wrap; }
[data-testid="stMetricValue"] > div { line-height: 1.15; }
/* A row of columns wraps before a column gets narrower than a card or a control can be read. */
[data-testid="stHorizontalBlock"] { flex-wrap: wrap; row-gap: 0.75rem; }
[data-testid="stHorizontalBlock"] > [data-testid="stColumn"] { min-width: min(100%, 8.5rem); }
[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:has([data-testid="stDateInput"]) { min-width: min(100%, 15rem); }
[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:has([data-testid="stMultiSelect"]) { min-width: min(100%, 12rem); }
/* Projector widths: the page gets the screen. */
@media (max-width: 1366px) {
  [data-testid="stMainBlockContainer"] { padding-left: 2rem; padding-right: 2rem; padding-top: 3rem; }
}
@media (max-width: 1100px) {
  section[data-testid="stSidebar"] { width: 256px !important; min-width: 256px !important; }
  [data-testid="stMainBlockContainer"] { padding-left: 1.25rem; padding-right: 1.25rem; }
}
</style>
"""


def meeting_layout() -> None:
    """The style sheet above (a style-only st.html takes no space on the page)."""
    st.html(CSS)
