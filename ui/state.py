"""Per-session state of the app: the session's workspace, what is loaded, and the build.

Isolation: the workspace (its DuckDB connection and temporary files) is created by a
``cache_resource`` with ``scope="session"`` and closed when the session ends; nothing
user-specific goes into a global cache. Files are identified by the SHA-256 of their bytes,
so a rerun never reads a file twice, and a filter change only queries DuckDB.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from funnel import i18n
from funnel.config import setting
from funnel.errors import FunnelError
from funnel.ingest.reader import LoadReport, Source
from funnel.model.link import LinkSpec
from funnel.model.rules import LossRules
from funnel.model.workspace import Build, Workspace
from funnel.vocabulary import SIDES

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FILES = {"ma": [ROOT / "sample_data" / "ma_leads.csv"],
                "sfa": [ROOT / "sample_data" / "sfa_opportunities.xlsx"]}


def lang() -> str:
    return i18n.normalise_lang(st.session_state.get("lang", i18n.DEFAULT_LANG))


def t(key: str, **params: Any) -> str:
    """A message in the session's language."""
    return i18n.t(key, lang(), **params)


@st.cache_resource(scope="session", on_release=lambda ws: ws.close(), show_spinner=False)
def session_workspace() -> Workspace:
    """This session's workspace: its own DuckDB connection and temporary folder."""
    return Workspace()


@dataclass
class FileEntry:
    """One file the user gave: its identity, and its load report or why it could not be read."""

    side: str
    name: str
    digest: str
    size: int
    table: str | None = None
    report: LoadReport | None = None
    error: tuple[str | None, str, dict[str, Any]] | None = None   # (file, message key, params)

    def error_text(self) -> str | None:
        if self.error is None:
            return None
        file, key, params = self.error
        return FunnelError(file, key=key, **params).render(lang())


@dataclass
class DataState:
    mode: str = "sample"                      # "sample" | "user"
    files: dict[str, list[FileEntry]] = field(default_factory=lambda: {s: [] for s in SIDES})
    version: int = 0                          # bumped whenever the loaded files change
    workspace_id: int = 0


def data_state() -> DataState:
    ss = st.session_state
    if "data" not in ss:
        ss["data"] = DataState()
    return ss["data"]


def _load(ws: Workspace, state: DataState, side: str, source: Source, digest: str, size: int) -> FileEntry:
    entry = FileEntry(side, source.name, digest, size)
    limit = int(setting("max_upload_mb")) * 1024 * 1024
    if size > limit:
        entry.error = (source.name, "error.upload_too_large", {"size_mb": size // 1024**2,
                                                                "limit_mb": setting("max_upload_mb")})
        return entry
    try:
        loaded = ws.load(side, source)
        entry.table, entry.report = loaded.table, loaded.report
    except FunnelError as exc:
        entry.error = (exc.file or source.name, exc.key, exc.params)
    return entry


def use_sample() -> None:
    """Load the bundled sample exports into this session's workspace (the opening state)."""
    ws = session_workspace()
    state = data_state()
    ws.clear()
    state.files = {s: [] for s in SIDES}
    for side, paths in SAMPLE_FILES.items():
        for p in paths:
            data = p.read_bytes()
            state.files[side].append(_load(ws, state, side, Source.from_path(p),
                                           hashlib.sha256(data).hexdigest(), len(data)))
    state.mode = "sample"
    _changed(state)


def use_uploads(side: str, uploads: list[tuple[str, bytes]]) -> bool:
    """Replace ``side``'s files by ``uploads`` ``[(name, bytes)]``; False when nothing changed.

    Leaving the sample data clears both sides, so a user's leads are never measured against
    the sample's opportunities.
    """
    state = data_state()
    wanted = [(name, hashlib.sha256(data).hexdigest()) for name, data in uploads]
    if state.mode == "user" and wanted == [(f.name, f.digest) for f in state.files[side]]:
        return False
    ws = session_workspace()
    if state.mode == "sample":
        ws.clear()
        state.files = {s: [] for s in SIDES}
        state.mode = "user"
    ws.clear(side)
    state.files[side] = []
    progress = st.progress(0.0, text=t("app.loading", file=""))
    for i, ((name, data), (_, digest)) in enumerate(zip(uploads, wanted, strict=True)):
        progress.progress(i / max(1, len(uploads)), text=t("app.loading", file=name))
        state.files[side].append(_load(ws, state, side, Source.from_bytes(name, data), digest, len(data)))
    progress.empty()
    st.session_state.setdefault("overrides", {s: {} for s in SIDES})[side] = {}
    _changed(state)
    return True


def remove_file(side: str, digest: str) -> None:
    """Drop one file of ``side``; the others stay loaded."""
    state = data_state()
    for entry in [f for f in state.files[side] if f.digest == digest]:
        if entry.table:
            session_workspace().remove(side, entry.table)
    state.files[side] = [f for f in state.files[side] if f.digest != digest]
    _changed(state)


def _changed(state: DataState) -> None:
    state.version += 1
    session_workspace().build_result = None


def ensure_loaded() -> DataState:
    """Open on the sample data; if the session's workspace was recreated, start over on it."""
    ws = session_workspace()
    state = data_state()
    if state.workspace_id != id(ws):
        state.workspace_id = id(ws)
        state.mode = "sample"
        use_sample()
    return state


def overrides() -> dict[str, dict[str, str | None]]:
    return st.session_state.setdefault("overrides", {s: {} for s in SIDES})


def link_spec() -> LinkSpec | None:
    raw = st.session_state.get("link")
    return LinkSpec(**raw) if raw else None


def set_link(spec: LinkSpec | None) -> None:
    st.session_state["link"] = None if spec is None else {"kind": spec.kind, "ma_column": spec.ma_column,
                                                          "sfa_column": spec.sfa_column}


def loss_rules() -> LossRules:
    text = st.session_state.get("loss_rules_toml")
    return LossRules.from_toml(text) if text else LossRules.default()


@dataclass
class Current:
    ws: Workspace
    build: Build
    state: DataState


def current() -> Current | FunnelError | None:
    """The built workspace, a FunnelError explaining why it cannot be built, or None when a
    side has no readable file yet."""
    state = ensure_loaded()
    ws = session_workspace()
    if not ws.files["ma"] or not ws.files["sfa"]:
        return None
    sig = json.dumps([state.version, overrides(), st.session_state.get("link")], sort_keys=True, default=str)
    rules_sig = st.session_state.get("loss_rules_toml") or ""
    try:
        if ws.build_result is None or st.session_state.get("built_sig") != sig:
            with st.spinner(t("app.building")):
                ws.build(overrides(), link_spec(), loss_rules())
            st.session_state["built_sig"] = sig
            st.session_state["rules_sig"] = rules_sig
        elif st.session_state.get("rules_sig") != rules_sig:
            ws.apply_loss_rules(loss_rules())
            st.session_state["rules_sig"] = rules_sig
    except FunnelError as exc:
        ws.build_result = None
        return exc
    assert ws.build_result is not None
    return Current(ws, ws.build_result, state)


def call_key(fn: Callable[..., Any], args: tuple[Hashable, ...], kwargs: dict[str, Hashable]) -> Hashable:
    """What :meth:`Workspace.remember` keeps a call's result under: the function and all its
    arguments."""
    return (fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items())))


def query(fn: Callable[..., T], *args: Hashable, **kwargs: Hashable) -> T:
    """``fn(con, *args, **kwargs)`` on the session's workspace, queried once until its tables
    change (:meth:`Workspace.remember`): for the engine reads a page repeats on every rerun,
    so a widget change queries only what that widget filters. Not for a download callable,
    which runs outside the script run (no session to find the workspace by)."""
    ws = session_workspace()
    return ws.remember(call_key(fn, args, kwargs), lambda: fn(ws.con, *args, **kwargs))


def keep(key: str, default: Any) -> Any:
    """The last value of a page widget, kept across page switches (widget state is per page)."""
    store = st.session_state.setdefault("kept", {})
    if key in st.session_state:
        store[key] = st.session_state[key]
    return store.get(key, default)


def restate(key: str, default: Any, options: Sequence[Any], *, kept: bool = True) -> None:
    """Give a choice widget (radio, selectbox) its value before it is drawn, on every run; draw
    it with ``key=key`` and no ``index``.

    The browser remembers a choice by its label text, and the language switch changes the
    labels in place: left alone, no option shows as ticked and the old-language label is what
    comes back. A value set in the session state is sent along with the widget and wins.
    ``kept``: the value survives page switches (:func:`keep`); otherwise it lasts while the
    page is shown and ``default`` (computed by the caller) applies when it is opened again.
    """
    value = keep(key, default) if kept else st.session_state.get(key, default)
    st.session_state[key] = value if value in options else default


def remembered(name: str, default: Any, make: Callable[[Any, str], Any]) -> Any:
    """A widget whose value survives page and language switches, for pages whose widget keys
    carry the language anyway (the loss page's rule editor and paged lists, the diff page);
    :func:`restate` is the lighter way for a single choice widget.

    ``make(initial, key)`` draws it. The key carries the language, so each language gets its own
    widget (labels never change in place), started from the value kept here.
    """
    store = st.session_state.setdefault("kept_by_language", {})
    value = make(store.get(name, default), f"{name}_{lang()}")
    store[name] = value
    return value


def session_benchmarks() -> list[Any]:
    """The benchmark set as edited on the benchmark page (else the bundled one)."""
    from funnel.measures import benchmarks as bm

    rows = st.session_state.get("bench_rows")
    if rows:
        found, _problems = bm.from_records(rows)
        if found:
            return found
    return list(bm.defaults().benchmarks)


# -- cost data shared by the benchmark, plan and cost pages ------------------------------------
# One cost data per data mode: the sample's cost file goes with the sample data (read on first
# use), the user's upload or edited table with the user's exports, so the sample's cost never
# prices a user's leads. Every page reads it through ``session_cost()``.
SAMPLE_COST = ROOT / "sample_data" / "cost_by_source.csv"


@dataclass
class CostEntry:
    """The session's cost data and where it came from."""

    data: Any                       # funnel.model.cost_data.CostData
    origin: str                     # "sample" | "upload" | "edited"
    file: Any = None                # the CostData read from the last file (what "reset" restores)


def _cost_store() -> dict[str, Any]:
    return st.session_state.setdefault("cost_store", {})


def _read_cost(name: str, data: bytes) -> Any:
    """A cost file read through the engine's reader (raises FunnelError)."""
    from funnel.model.cost_data import read_costs

    ws = session_workspace()
    return read_costs(ws.con, Source.from_bytes(name, data), ws.workdir)


def session_cost_entry() -> CostEntry | None:
    """The cost data of the data shown (the sample's cost file with the sample data)."""
    store = _cost_store()
    mode = data_state().mode
    if mode == "sample" and "sample" not in store:
        try:
            read = _read_cost(SAMPLE_COST.name, SAMPLE_COST.read_bytes())
            store["sample"] = CostEntry(read, "sample", read)
        except (OSError, FunnelError):
            store["sample"] = None
    return store.get(mode)


def session_cost() -> Any:
    """The session's cost data (``funnel.model.cost_data.CostData``), or None when there is none (an
    edited table left empty counts as none)."""
    entry = session_cost_entry()
    return entry.data if entry is not None and entry.data.amounts else None


def cost_version() -> int:
    """Bumped whenever the session's cost data changes (pages reset cost-based defaults)."""
    return int(st.session_state.get("cost_version", 0))


def set_session_cost(data: Any, origin: str = "edited") -> None:
    """Replace the cost data of the data shown (``None`` removes it, file and all); an edited
    table — even an emptied one — keeps the file it started from, so "reset" can go back."""
    store = _cost_store()
    mode = data_state().mode
    previous = store.get(mode)
    file = data if origin in ("sample", "upload") else (previous.file if previous else None)
    store[mode] = None if data is None else CostEntry(data, origin, file)
    st.session_state["cost_version"] = cost_version() + 1


def load_cost_file(name: str | None, data: bytes | None) -> str | None:
    """Make an uploaded cost file the session's cost data, once per file content (a file
    uploader keeps its file across reruns; an edit made since must not be overwritten).
    ``None`` (an empty uploader) forgets the last file, so giving it again re-reads it; the
    cost data itself stays. Returns the error text when the file cannot be used."""
    store = _cost_store()
    mode = data_state().mode
    if name is None or data is None:
        store.setdefault("applied", {}).pop(mode, None)
        return None
    digest = hashlib.sha256(data).hexdigest()
    applied = store.setdefault("applied", {})
    if applied.get(mode) == digest:
        failed = store.get("failed")
        return failed[1].render(lang()) if failed and failed[0] == digest else None
    applied[mode] = digest
    try:
        read = _read_cost(name, data)
    except FunnelError as exc:
        store["failed"] = (digest, exc)
        return exc.render(lang())
    set_session_cost(read, "upload")
    return None


def reset_session_cost() -> None:
    """Back to the cost file the session's cost data came from (none: no cost data)."""
    entry = session_cost_entry()
    origin = "sample" if data_state().mode == "sample" else "upload"
    set_session_cost(entry.file if entry is not None else None, origin)
