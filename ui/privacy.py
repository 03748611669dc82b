"""The masking switch of the app (screen sharing in workshops) and its helpers for pages.

The switch lives in a plain session key, like the language: a widget's own state is dropped
whenever the widget is not drawn (AppTest runs a page without the router's sidebar), and
every page reads it through :func:`masking_on`. ``ui.widgets.show_table`` and
``download_frame`` mask centrally; a page that shows personal data another way (a data
editor's sample column, a lazily built download) calls :func:`masked` or passes
``masking_on()`` to the engine's ``mask`` argument, read while the script runs (a download
served after the run cannot read the session).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import streamlit as st

from funnel.present import privacy
from ui.state import t

KEY = "mask_pii"            # the switch (True: masked)
WIDGET = "mask_pii_choice"  # the sidebar toggle's own key


def masking_on() -> bool:
    """Whether personal data is masked in this session."""
    return bool(st.session_state.get(KEY, False))


def masked(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as it may be shown: personal data masked when the switch is on."""
    return privacy.mask_frame(frame) if masking_on() else frame


def masked_values(values: Iterable[Any], role: str | None) -> list[Any]:
    """Loose values of a column of ``role`` (None: content only), masked when the switch is on."""
    items = list(values)
    return [privacy.mask_value(v, role) for v in items] if masking_on() else items


def sidebar_toggle() -> None:
    """The switch in the sidebar (app.py draws it under the language radio)."""
    ss = st.session_state
    if ss.get(WIDGET) is not masking_on():   # (re)seed the widget from the kept switch
        ss[WIDGET] = masking_on()
    st.toggle(t("privacy.toggle"), key=WIDGET, help=t("privacy.toggle_help"),
              on_change=lambda: ss.update({KEY: bool(ss[WIDGET])}))
    if masking_on():
        st.caption(t("privacy.on"))
