"""The session's baseline for 前回との比較: last month's exports in a second workspace.

Like the session's own workspace (:func:`ui.state.session_workspace`), it is created by a
``cache_resource`` with ``scope="session"`` and closed when the session ends: another DuckDB
connection and temporary folder, never shared between sessions. "This month" is the session's
current data; the baseline is built with the same link choice (when last month's files have
its columns) and the same loss-reason rules, so both loads are measured alike.

While the sample data is shown, the baseline is the sample's own last month
(``sample_data/previous/``) until the user gives one; it goes as soon as the user's data is
shown (:func:`follow_data`), so a user's exports are never compared with the sample.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from funnel.config import setting
from funnel.errors import FunnelError, MappingError
from funnel.ingest.reader import Source
from funnel.measures.diff import Diff, compare, forget
from funnel.model.workspace import Build, Workspace
from funnel.vocabulary import SIDES
from ui import state
from ui.state import Current, FileEntry

# The sample's last month: the same file names one folder down (scripts/make_sample_data.py).
SAMPLE_FILES = {side: [p.parent / "previous" / p.name for p in paths] for side, paths in state.SAMPLE_FILES.items()}


@st.cache_resource(scope="session", on_release=lambda ws: ws.close(), show_spinner=False)
def baseline_workspace() -> Workspace:
    """This session's baseline workspace (last month's exports)."""
    return Workspace()


@dataclass
class BaselineState:
    files: dict[str, list[FileEntry]] = field(default_factory=lambda: {s: [] for s in SIDES})
    version: int = 0                        # bumped whenever the baseline's files change
    workspace_id: int = 0
    built: tuple[str, str] | None = None    # (files+link signature, rules signature) of the build
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    saved: tuple[str, str] | None = None    # (name, SHA-256) of the saved workspace file in use
    saved_settings: Any = None              # its funnel.model.saved.Settings (mapping, link)
    saved_error: str | None = None          # SHA-256 of a saved file that could not be opened
    sample: bool = False                    # the files are the sample's last month
    declined: int | None = None             # data version at which the user removed the sample's


@dataclass
class Baseline:
    ws: Workspace
    build: Build
    notices: list[tuple[str, dict[str, Any]]]


def baseline_state() -> BaselineState:
    """The baseline's files; starts over when the session's baseline workspace was recreated."""
    ss = st.session_state
    ws = baseline_workspace()
    found = ss.get("diff_baseline")
    if not isinstance(found, BaselineState) or found.workspace_id != id(ws):
        ws.clear()
        found = BaselineState(workspace_id=id(ws))
        ss["diff_baseline"] = found
    return found


def _load(ws: Workspace, side: str, name: str, data: bytes, digest: str) -> FileEntry:
    entry = FileEntry(side, name, digest, len(data))
    limit = int(setting("max_upload_mb")) * 1024 * 1024
    if len(data) > limit:
        entry.error = (name, "error.upload_too_large", {"size_mb": len(data) // 1024**2,
                                                         "limit_mb": setting("max_upload_mb")})
        return entry
    try:
        loaded = ws.load(side, Source.from_bytes(name, data))
        entry.table, entry.report = loaded.table, loaded.report
    except FunnelError as exc:
        entry.error = (exc.file or name, exc.key, exc.params)
    return entry


def use_uploads(side: str, uploads: list[tuple[str, bytes]]) -> bool:
    """Make ``uploads`` ``[(name, bytes)]`` the baseline's files of ``side``; False when they
    are the files already loaded (a rerun keeps the uploader's files)."""
    found = baseline_state()
    wanted = [(name, hashlib.sha256(data).hexdigest()) for name, data in uploads]
    if not found.sample and wanted == [(f.name, f.digest) for f in found.files[side]]:
        return False
    ws = baseline_workspace()
    if found.saved is not None or found.sample:   # both sides of a saved file or of the sample go
        ws.clear()
        found.files = {s: [] for s in SIDES}
        found.saved, found.saved_settings, found.sample = None, None, False
    ws.clear(side)
    found.files[side] = [_load(ws, side, name, data, digest)
                         for (name, data), (_, digest) in zip(uploads, wanted, strict=True)]
    _changed(found)
    return True


def use_saved(name: str, data: bytes) -> FunnelError | None:
    """Make a saved workspace file (``.funnel``, :mod:`funnel.model.saved`) the baseline, once per
    file content; returns why it cannot be opened (the baseline is then left empty)."""
    from funnel.model import saved

    found = baseline_state()
    digest = hashlib.sha256(data).hexdigest()
    if found.saved is not None and found.saved[1] == digest:
        return None
    ws = baseline_workspace()
    ws.clear()
    found.files = {s: [] for s in SIDES}
    found.saved, found.saved_settings, found.sample = None, None, False
    _changed(found)
    try:
        restored = saved.restore(ws, data, name, build=False)
    except FunnelError as exc:
        return exc
    for side, tables in restored.files.items():
        found.files[side] = [FileEntry(side, lt.report.file, restored.digests.get(lt.table, ""),
                                       lt.report.size_bytes or 0, lt.table, lt.report) for lt in tables]
    found.saved, found.saved_settings = (name, digest), restored.settings
    return None


def clear() -> None:
    """Forget the baseline's files (both sides) and the comparison's tables in this month's
    workspace. The sample's last month, once removed, is not given again for the same data."""
    found = baseline_state()
    baseline_workspace().clear()
    forget(state.session_workspace().con)
    found.files = {s: [] for s in SIDES}
    found.saved, found.saved_settings, found.sample = None, None, False
    found.declined = state.data_state().version
    _changed(found)


def use_sample() -> None:
    """Make the sample's last month (``sample_data/previous/``) the baseline."""
    found = baseline_state()
    ws = baseline_workspace()
    ws.clear()
    found.files = {s: [] for s in SIDES}
    found.saved, found.saved_settings = None, None
    for side, paths in SAMPLE_FILES.items():
        for path in paths:
            data = path.read_bytes()
            found.files[side].append(_load(ws, side, path.name, data, hashlib.sha256(data).hexdigest()))
    found.sample = True
    _changed(found)


def follow_data() -> BaselineState:
    """Keep the baseline with the data shown: the sample's last month while the sample data is
    shown and no other baseline was given (nor the sample's removed), none of it once the
    user's own data is shown."""
    found = baseline_state()
    data = state.data_state()
    if data.mode != "sample":
        if found.sample:
            clear()
        found.declined = None
    elif not found.sample and not has_files() and found.declined != data.version:
        use_sample()
    return found


def _changed(found: BaselineState) -> None:
    found.version += 1
    found.built = None
    baseline_workspace().build_result = None
    st.session_state.pop("diff_result", None)


def has_files() -> bool:
    return any(baseline_state().files[s] for s in SIDES)


def current_baseline() -> Baseline | FunnelError | None:
    """The built baseline, why it cannot be built, or None while a side has no readable file."""
    found = baseline_state()
    ws = baseline_workspace()
    if not ws.files["ma"] or not ws.files["sfa"]:
        return None
    # A saved file brings its own mapping and link (made for its columns); exports get the
    # automatic mapping and this month's link choice. The loss rules are always the session's,
    # so both loads put reasons in the same categories.
    overrides = found.saved_settings.overrides if found.saved_settings is not None else None
    link = found.saved_settings.link if found.saved_settings is not None else state.link_spec()
    sig = json.dumps([found.version, found.saved, st.session_state.get("link")], sort_keys=True, default=str)
    rules = st.session_state.get("loss_rules_toml") or ""
    try:
        if ws.build_result is None or found.built is None or found.built[0] != sig:
            found.notices = []
            with st.spinner(state.t("app.building")):
                try:
                    ws.build(overrides, link, state.loss_rules())
                except MappingError:
                    if link is None:
                        raise
                    # This month's ID link names a column last month's files lack: link them the
                    # automatic way rather than refuse the comparison.
                    ws.build(overrides, None, state.loss_rules())
                    found.notices.append(("diff.baseline.link_fallback", {"ma": link.ma_column, "sfa": link.sfa_column}))
            found.built = (sig, rules)
        elif found.built[1] != rules:
            ws.apply_loss_rules(state.loss_rules())
            found.built = (sig, rules)
    except FunnelError as exc:
        ws.build_result = None
        found.built = None
        return exc
    assert ws.build_result is not None
    return Baseline(ws, ws.build_result, found.notices)


def comparison(cur: Current, base: Baseline, touch: str) -> Diff | FunnelError:
    """The comparison of the baseline with this month's data, computed again only when either
    side, the link, the loss rules or the touch changed."""
    found = baseline_state()
    sig = json.dumps([id(cur.ws), cur.state.version, st.session_state.get("built_sig"),
                      st.session_state.get("loss_rules_toml") or "", found.version, found.built, touch],
                     sort_keys=True, default=str)
    ss = st.session_state
    cached = ss.get("diff_result")
    if cached is not None and cached[0] == sig:
        return cached[1]
    try:
        result: Diff | FunnelError = compare(base.ws, cur.ws, touch)
    except FunnelError as exc:
        result = exc
    ss["diff_result"] = (sig, result)
    return result
