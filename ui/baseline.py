"""The browser side of 前回との比較's baseline: last month's exports, held by the engine's
Session (:class:`funnel.model.session.LastMonth`, the same load → build cycle as this month's
data) in a second workspace of this session.

Like the session's own workspace (:func:`ui.state.session_workspace`), that workspace belongs to
the session (kept in the registry, closed when the session expires): another DuckDB connection
and temporary folder, never shared between sessions. While the sample data is
shown, the baseline is the sample's own last month (``sample_data/previous/``) until the user
gives one; it goes as soon as the user's data is shown, so a user's exports are never compared
with the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from funnel.errors import FunnelError
from funnel.measures.diff import Diff, compare, forget
from funnel.model.baseline import LastMonth
from funnel.model.workspace import Build, Workspace
from funnel.vocabulary import SIDES
from ui import state
from ui.state import Current

# The sample's last month: the same file names one folder down (scripts/make_sample_data.py);
# the MA and SFA exports only (前回との比較 compares leads and deals, not activity).
SAMPLE_FILES = {side: [p.parent / "previous" / p.name for p in paths] for side, paths in state.SAMPLE_FILES.items()
                if side in SIDES}


@dataclass
class Baseline:
    ws: Workspace
    build: Build
    notices: list[tuple[str, dict[str, Any]]]


def baseline_state() -> LastMonth:
    """Last month's files; starts over when the session's baseline workspace was recreated."""
    base = state.session().baseline
    base.attach(base.workspace)     # made on first use; kept with the session (a reload keeps it)
    return base


def use_uploads(side: str, uploads: list[tuple[str, bytes]]) -> bool:
    """Make ``uploads`` ``[(name, bytes)]`` the baseline's files of ``side``; False when they
    are the files already loaded (a rerun keeps the uploader's files)."""
    baseline_state()
    return state.session().use_baseline_uploads(side, uploads)


def use_saved(name: str, data: bytes) -> FunnelError | None:
    """Make a saved workspace file (``.funnel``) the baseline, once per file content; returns
    why it cannot be opened (the baseline is then left empty)."""
    baseline_state()
    return state.session().use_baseline_saved(name, data)


def clear() -> None:
    """Forget the baseline's files (both sides) and the comparison's tables in this month's
    workspace; new, empty uploaders."""
    baseline_state()
    state.session().clear_baseline()
    forget(state.session_workspace().con)
    state.next_generation("diff_upload")


def follow_data() -> LastMonth:
    """Keep the baseline with the data shown (:meth:`funnel.model.session.Session.follow_data`)."""
    baseline_state()
    s = state.ensure_loaded()
    was_sample = s.baseline.sample
    found = s.follow_data(SAMPLE_FILES)
    if was_sample and not found.sample:
        forget(state.session_workspace().con)
    return found


def has_files() -> bool:
    return baseline_state().has_files()


def current_baseline() -> Baseline | FunnelError | None:
    """The built baseline, why it cannot be built, or None while a side has no readable file."""
    base = baseline_state()
    if not base.ready():
        return None
    s = state.session()
    try:
        if base.stale(base.settings_for(s.build_settings())):
            with st.spinner(state.t("app.building")):
                build = s.ensure_baseline_built()
        else:
            build = s.ensure_baseline_built()
    except FunnelError as exc:
        return exc
    return Baseline(base.workspace, build, base.notices)


def comparison(cur: Current, base: Baseline, touch: str) -> Diff | FunnelError:
    """The comparison of the baseline with this month's data, computed again only when either
    side, the link, the loss rules or the touch changed."""
    s = state.session()
    sig = (id(cur.ws), s.data.signature(), s.baseline.signature(), touch)
    cached = state.page_value("diff_result")
    if cached is not None and cached[0] == sig:
        return cached[1]    # type: ignore[no-any-return]
    try:
        result: Diff | FunnelError = compare(base.ws, cur.ws, touch)
    except FunnelError as exc:
        result = exc
    state.set_page_value("diff_result", (sig, result))
    return result
