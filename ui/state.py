"""The browser session's glue: one reference to the engine's :class:`funnel.model.session.Session`,
the language, and helpers through which pages keep their inputs (pages never touch
``st.session_state`` themselves).

Isolation and reload: each browser has its own Session, kept server-side in the process's
:class:`funnel.model.registry.Registry` under an unguessable token that only that browser holds
(the ``s`` query parameter of its URL, remembered in ``st.session_state``), with
its own workspaces (DuckDB connection and temporary files). A reload (F5) brings the token back
and finds the uploads again; a browser without the token gets a new session on the sample.
Sessions idle past ``session_idle_minutes`` are closed and their workspaces released. Files are identified by the SHA-256 of their bytes, so a rerun never reads a file
twice, and a filter change only queries DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from funnel import i18n
from funnel.errors import FunnelError
from funnel.model.cost_data import CostData
from funnel.model.dataset import FileEntry
from funnel.model.link import LinkSpec
from funnel.model.owners import Users
from funnel.model.registry import Registry
from funnel.model.rules import LossRules
from funnel.model.session import CostEntry, Session
from funnel.model.workspace import Build, Workspace

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FILES = {"ma": [ROOT / "sample_data" / "ma_leads.csv"],
                "sfa": [ROOT / "sample_data" / "sfa_opportunities.xlsx"],
                "activity": [ROOT / "sample_data" / "activity_log.csv"]}
# The sample's cost file goes with the sample data (one cost data per data mode).
SAMPLE_COST = ROOT / "sample_data" / "cost_by_source.csv"
SLOT = "session"            # the st.session_state slot holding the engine's Session (a reference)
TOKEN = "session_token"     # and its token in the registry
LANG = "lang"               # the UI language (a plain key: a widget's state goes when it is not drawn)
LANG_WIDGET = "lang_choice"

__all__ = ["CostEntry", "FileEntry"]


# -- language --------------------------------------------------------------------------------------
def lang() -> str:
    return i18n.normalise_lang(st.session_state.get(LANG, i18n.DEFAULT_LANG))


def set_lang(code: str) -> None:
    """Choose the UI language, for this run and for reloads of this session."""
    st.session_state[LANG] = i18n.normalise_lang(code)
    session().scratch[LANG] = st.session_state[LANG]


def t(key: str, **params: Any) -> str:
    """A message in the session's language."""
    return i18n.t(key, lang(), **params)


def language_switch() -> None:
    """The sidebar's language radio; its choice is kept in a plain session key."""
    ss = st.session_state
    if LANG not in ss:
        # A new browser session: a reload (F5) finds the engine Session by the token in its URL,
        # and with it the language chosen before (else the default).
        ss[LANG] = i18n.normalise_lang(session().scratch.get(LANG))
    if ss.get(LANG_WIDGET, lang()) != lang():
        ss[LANG_WIDGET] = lang()
    # However it was chosen, a reload finds it again (in the scratch: not saved in .funnel files,
    # and written again on every run should opening a saved file clear it).
    session().scratch[LANG] = lang()
    codes = list(i18n.LANGS)
    st.radio(" / ".join(i18n.t("lang.label", c) for c in codes), codes, key=LANG_WIDGET, horizontal=True,
             index=codes.index(lang()), on_change=lambda: set_lang(ss[LANG_WIDGET]),
             format_func=i18n.language_name)


# -- the session -------------------------------------------------------------------------------------
TOKEN_PARAM = "s"           # the URL query parameter holding the session's token


@st.cache_resource(show_spinner=False)
def registry() -> Registry:
    """The server process's sessions by token (:mod:`funnel.model.registry`): what a reload
    (F5), which starts a new browser session, finds its data in again."""
    return Registry(lambda: Session(SAMPLE_FILES, SAMPLE_COST))


def session() -> Session:
    """This browser's engine Session: the one of the token in the URL (a reload), else a new
    one whose token is put in the URL. Only a browser holding the token reaches it."""
    ss = st.session_state
    wanted = ss.get(TOKEN) or st.query_params.get(TOKEN_PARAM)
    token, found, _known = registry().open(wanted)
    if ss.get(TOKEN) != token or ss.get(SLOT) is not found:
        ss[TOKEN], ss[SLOT] = token, found
    if st.query_params.get(TOKEN_PARAM) != token:
        st.query_params[TOKEN_PARAM] = token
    return found


def session_token() -> str | None:
    return st.session_state.get(TOKEN)


def session_workspace() -> Workspace:
    """This session's workspace: its own DuckDB connection and temporary folder (kept with the
    session in the registry, closed when the session expires)."""
    return session().data.workspace


def ensure_loaded() -> Session:
    """Open on the sample data when the session is new (its workspace not made yet)."""
    s = session()
    if s.data.ws is None:
        s.data.attach(s.data.workspace)
        s.use_sample()
    return s


def use_sample() -> None:
    """Back to the bundled sample exports (new, empty uploaders)."""
    ensure_loaded().use_sample()
    session().next_generation("upload")


def use_uploads(side: str, uploads: list[tuple[str, bytes]]) -> bool:
    """Replace ``side``'s files by ``uploads`` ``[(name, bytes)]`` with a progress bar; False
    when nothing changed."""
    s = ensure_loaded()
    if s.same_uploads(side, uploads):
        return False
    progress = st.progress(0.0, text=t("app.loading", file=""))
    changed = s.use_uploads(side, uploads, lambda i, name: progress.progress(
        i / max(1, len(uploads)), text=t("app.loading", file=name)))
    progress.empty()
    return changed


def remove_file(side: str, digest: str) -> None:
    ensure_loaded().remove_file(side, digest)


def overrides() -> dict[str, dict[str, str | None]]:
    return session().overrides


def set_overrides(side: str, mapping: dict[str, str | None]) -> None:
    session().set_overrides(side, mapping)


def link_spec() -> LinkSpec | None:
    return session().link


def set_link(spec: LinkSpec | None) -> None:
    session().set_link(spec)


def loss_rules() -> LossRules:
    return session().loss_rules


@dataclass
class Current:
    ws: Workspace
    build: Build
    state: Session


def current() -> Current | FunnelError | None:
    """The built workspace, a FunnelError explaining why it cannot be built, or None when a
    side has no readable file yet."""
    s = ensure_loaded()
    if not s.data.ready():
        return None
    try:
        if s.data.stale(s.build_settings()):
            with st.spinner(t("app.building")):
                build = s.ensure_built()
        else:
            build = s.ensure_built()        # at most re-classifies the loss reasons
    except FunnelError as exc:
        return exc
    return Current(s.data.workspace, build, s)


# -- kept results ----------------------------------------------------------------------------------
def call_key(fn: Callable[..., Any], args: tuple[Hashable, ...], kwargs: dict[str, Hashable]) -> Hashable:
    """What :meth:`Workspace.remember` keeps a call's result under: the function and all its
    arguments."""
    return (fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items())))


def query(fn: Callable[..., T], *args: Hashable, **kwargs: Hashable) -> T:
    """``fn(con, *args, **kwargs)`` on the session's workspace, queried once per session
    version (:meth:`Workspace.remember`, which also forgets whenever the tables change): for
    the engine reads a page repeats on every rerun, so a widget change queries only what that
    widget filters. Not for a download callable (it runs outside the script run)."""
    ws = session_workspace()
    key = (session().version, call_key(fn, args, kwargs))
    return ws.remember(key, lambda: fn(ws.con, *args, **kwargs))


def remember(name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per build of this month's data (a page's result derived from the
    build alone, e.g. the checklist's evidence, that a click elsewhere on the page does not
    change; the workspace forgets it when its tables change)."""
    return session_workspace().remember(("page", name, session().data.signature()), compute)


# -- page inputs, page scratch and widget glue ---------------------------------------------------------
def keep(key: str, default: Any) -> Any:
    """The last value of a page widget, kept across page switches (widget state is per page)."""
    store = session().kept
    if key in st.session_state:
        store[key] = st.session_state[key]
    return store.get(key, default)


def forget_kept(*keys: str) -> None:
    """Drop kept inputs (and their live widget values) whose defaults came from other data."""
    store = session().kept
    for k in keys:
        st.session_state.pop(k, None)
        store.pop(k, None)


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
    store = session().kept_by_language
    value = make(store.get(name, default), f"{name}_{lang()}")
    store[name] = value
    return value


def widget(key: str, default: Any = None) -> Any:
    """A widget's current value (``default`` before it is drawn)."""
    return st.session_state.get(key, default)


def has_widget(key: str) -> bool:
    return key in st.session_state


def set_widget(key: str, value: Any) -> None:
    """Set a widget's value before it is drawn (or from a button callback)."""
    st.session_state[key] = value


def drop_widget(key: str) -> None:
    """Forget a widget's state: drawn again, it starts from its initial value."""
    st.session_state.pop(key, None)


def page_value(name: str, default: Any = None) -> Any:
    """A page's own scratch value (not saved; a saved file opened starts it afresh)."""
    return session().scratch.get(name, default)


def set_page_value(name: str, value: Any) -> None:
    session().scratch[name] = value


def drop_page_value(name: str) -> None:
    session().scratch.pop(name, None)


def changed(name: str, topic: str | None = None, token: Any = None, *, record: bool = True) -> bool:
    """Whether the data (``topic="data"``), the cost data (``"cost"``) or a page's ``token``
    changed since ``name`` last looked (:meth:`Session.changed`)."""
    return session().changed(name, topic, token, record=record)


def generation(name: str) -> int:
    """A widget generation for its key (:meth:`Session.generation`)."""
    return session().generation(name)


def next_generation(name: str) -> None:
    session().next_generation(name)


def pager(name: str, sig: Any) -> int:
    """The page number of a paged list, back to 1 whenever what it lists (``sig``) changed."""
    if changed(f"{name}_sig", token=sig) or name not in session().scratch:
        set_page_value(name, 1)
    return int(page_value(name, 1))


def turn(name: str, step: int) -> None:
    """Button callback: the next (``step=1``) or previous page of a paged list."""
    set_page_value(name, int(page_value(name, 1)) + step)


# -- benchmark set and cost data shared by several pages ---------------------------------------------
def session_benchmarks(currency: str | None = "JPY") -> list[Any]:
    """The benchmark set as edited on the benchmark page (else the bundled one); with data in
    another ``currency`` than yen, without the benchmarks in yen (a ¥7,500 CPA is no default
    for a dollar plan)."""
    from funnel.measures import benchmarks as bm

    rows = session().benchmarks
    found: list[Any] = []
    if rows:
        found, _problems = bm.from_records(rows)
    found = found or list(bm.defaults().benchmarks)
    return found if currency == "JPY" else [b for b in found if b.unit != "yen"]


def session_cost_entry() -> CostEntry | None:
    """The cost data of the data shown (the sample's cost file with the sample data)."""
    return ensure_loaded().cost_entry()


def session_cost() -> CostData | None:
    """The session's cost data, or None when there is none (an emptied table counts as none)."""
    return ensure_loaded().cost()


def cost_version() -> int:
    """Bumped whenever the session's cost data changes (pages reset cost-based defaults)."""
    return session().cost_version


def set_session_cost(data: CostData | None, origin: str = "edited") -> None:
    ensure_loaded().set_cost(data, origin)


def load_cost_file(name: str | None, data: bytes | None) -> str | None:
    """Make an uploaded cost file the session's cost data (once per file content); returns
    the error text when the file cannot be used."""
    failed = ensure_loaded().load_cost_file(name, data)
    return None if failed is None else failed.render(lang())


def reset_session_cost() -> None:
    ensure_loaded().reset_cost()


# -- the lead-source → channel mapping ---------------------------------------------------------------
def session_source_map() -> Any:
    """The source → channel mapping as edited (a ``SourceMap``), None when none was made."""
    return session().source_map


def set_session_source_map(pairs: Sequence[tuple[str, str]] | None) -> None:
    session().set_source_map(pairs)


# -- owner IDs → names (a users export) ---------------------------------------------------------------
def owner_names() -> Users | None:
    """The users export's ID → name table (None: none given; owners shown as the export has them)."""
    return session().users


def users_file() -> str | None:
    return session().users_file


def load_users_file(name: str | None, data: bytes | None) -> str | None:
    """Read an uploaded users export into the session (once per file content); the error text
    when it cannot be used."""
    failed = ensure_loaded().load_users_file(name, data)
    return None if failed is None else failed.render(lang())


def forget_users() -> None:
    session().set_users(None, None)
    next_generation("users")
