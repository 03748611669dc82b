"""Shared fixtures. Real exports are read from ../shared/real_exports beside the project and
tests that need them skip, with the reason, where that folder is absent (a user's clone)."""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from funnel.ingest.reader import Source
from funnel.model.link import LinkSpec
from funnel.model.workspace import Workspace
from funnel.sql import connect

ROOT = Path(__file__).resolve().parents[1]
# FUNNEL_REAL_EXPORTS: where a git worktree sits elsewhere than beside ../shared.
REAL = Path(os.environ.get("FUNNEL_REAL_EXPORTS") or ROOT.parent / "shared" / "real_exports")
SAMPLE = ROOT / "sample_data"


# `make test-fast` leaves out what these markers name (see pyproject.toml's marker list). A
# marker is given by file name, so a new test in a page's file is counted as an app test
# without anyone remembering to mark it; in mixed files, by what the test itself uses.
_APP_FILES = re.compile(r"test_page_\w+|test_isolation|test_language_switch")
_USES_APP = re.compile(r"\bAppTest\b|\bopen_page\(|\brun_page\(")
_USES_REAL = re.compile(r"\breal\(|\bREAL\b")
# Random-input fuzzing (hypothesis, ~20 s): the full suite's job, not the edit loop's.
_SLOW_FILES = {"test_fuzz"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        stem = item.path.stem
        function = getattr(item, "function", None)
        try:
            source = inspect.getsource(function) if function is not None else ""
        except (OSError, TypeError):
            source = ""
        fixtures = set(getattr(item, "fixturenames", ()))
        if _APP_FILES.fullmatch(stem) or "app" in fixtures or _USES_APP.search(source):
            item.add_marker(pytest.mark.app)
        if stem in ("test_browser", "test_browser_pages"):
            item.add_marker(pytest.mark.browser)
        if stem == "test_real_exports" or _USES_REAL.search(source):
            item.add_marker(pytest.mark.real)
        if stem in _SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def real(*parts: str) -> Path:
    """Path of a real export, or skip the test when ../shared is not beside the project."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real export not available: {path} (../shared/real_exports is test data kept "
                    "outside the project)")
    return path


def load_sample(ws: Workspace) -> Workspace:
    """Load the bundled sample exports (what the app opens on) into ``ws``; the caller builds."""
    ws.load("ma", Source.from_path(SAMPLE / "ma_leads.csv"))
    ws.load("sfa", Source.from_path(SAMPLE / "sfa_opportunities.xlsx"))
    return ws


def built_workspace(ma: bytes, sfa: bytes, names: tuple[str, str] = ("ma.csv", "sfa.csv"),
                    link: LinkSpec | None = None) -> Workspace:
    """A workspace with ``ma`` and ``sfa`` loaded under ``names`` and built: what the engine
    makes of the files a page test uploads. The caller closes it (a Workspace is a context
    manager); its Build is ``ws.build_result``."""
    ws = Workspace()
    ws.load("ma", Source.from_bytes(names[0], ma))
    ws.load("sfa", Source.from_bytes(names[1], sfa))
    ws.build(link=link)
    return ws


def inline_workspace(ma: str, sfa: str, sfa_encoding: str = "cp932", link: LinkSpec | None = None) -> Workspace:
    """``built_workspace`` of a test's inline exports: ``ma`` as leads.csv in UTF-8, ``sfa`` as
    deals.csv in ``sfa_encoding`` (cp932 by default, as a Japanese SFA writes it)."""
    return built_workspace(ma.encode("utf-8"), sfa.encode(sfa_encoding), ("leads.csv", "deals.csv"), link)


@pytest.fixture(scope="session")
def sample_ws() -> Iterator[Workspace]:
    """The bundled sample, loaded and built once for the whole run: the reference numbers the
    page tests compare the app with. Read only — a test that changes rules, mappings or files
    builds its own workspace (as the loss page's tests do)."""
    w = load_sample(Workspace())
    w.build()
    yield w
    w.close()


@pytest.fixture(scope="session")
def sample_activity_ws() -> Iterator[Workspace]:
    """The bundled sample with its activity log (sample_data/activity_log.csv), built once for
    the run: the behaviour and attribution tests' reference. Read only, like ``sample_ws``."""
    w = load_sample(Workspace())
    w.load("activity", Source.from_path(SAMPLE / "activity_log.csv"))
    w.build()
    yield w
    w.close()


@pytest.fixture
def con():
    c = connect()
    yield c
    c.close()


@pytest.fixture
def ws() -> Iterator[Workspace]:
    w = Workspace()
    yield w
    w.close()


@pytest.fixture
def downloads(monkeypatch):
    """What each download button would give the user, by file name.

    AppTest restores its mock runtime after every run, so the payload cannot be read back from
    the media store; the spy records it as the page hands it to ``st.download_button``.
    """
    import streamlit as st
    from streamlit.delta_generator import DeltaGenerator

    captured: dict[str | None, bytes | str] = {}
    real_method = DeltaGenerator.download_button
    real_function = st.download_button

    def record(data, file_name):
        captured[file_name] = data() if callable(data) else data

    def spy_method(self, label, data, file_name=None, *args, **kwargs):
        record(data, file_name)
        return real_method(self, label, data, file_name, *args, **kwargs)

    def spy_function(label, data, file_name=None, *args, **kwargs):
        record(data, file_name)
        return real_function(label, data, file_name, *args, **kwargs)

    # st.download_button is bound to the main container at import, so both are replaced:
    # the class method for col.download_button, the module attribute for st.download_button.
    monkeypatch.setattr(DeltaGenerator, "download_button", spy_method)
    monkeypatch.setattr(st, "download_button", spy_function)
    return captured


@pytest.fixture
def app():
    """A fresh AppTest of the whole app (caches cleared: they persist across AppTests)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    return at


def switch_to(at: Any, page: str, title: str | None = None) -> Any:
    """``at`` switched to ``page`` and run, checked to have raised nothing (and, given, to show
    ``title``); returned for a page fixture."""
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if title is not None:
        assert [x.value for x in at.title] == [title]
    return at


def csv_rows(data: bytes | str) -> list[dict[str, str]]:
    """The rows of a downloaded CSV (UTF-8 with or without a BOM), by header."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    return list(csv.DictReader(io.StringIO(text)))


# -- what a user sees without opening anything (plain-words tests) ---------------------------
def chart_words(spec: Any) -> list[str]:
    """What a chart shows in words: titles, texts and labels (not its data's field names)."""
    if isinstance(spec, dict):
        words = [v for k, v in spec.items() if k in ("title", "text", "label") and isinstance(v, str)]
        return words + [w for k, v in spec.items() for w in chart_words(v)]
    if isinstance(spec, list):
        return [w for v in spec for w in chart_words(v)]
    return []


def shown_outside_definitions(at: Any) -> str:
    """Every text a user sees without opening a 定義 popover or an expander: titles, markdown,
    captions, alerts, metric labels, widget labels and options, table headers, chart specs."""
    out: list[str] = []

    def walk(node: Any) -> None:
        kids = getattr(node, "children", None)
        if kids is not None:
            if getattr(node, "type", None) in ("popover", "expander"):
                return
            for k in kids.values():
                walk(k)
            return
        for attr in ("value", "label", "options"):
            try:
                v = getattr(node, attr)
            except Exception:       # noqa: BLE001 - an element without that attribute
                continue
            if isinstance(v, pd.DataFrame):
                out.extend(map(str, v.columns))
            elif isinstance(v, str):
                out.append(v)
            elif isinstance(v, list | tuple):
                out.extend(str(x) for x in v)
        spec = getattr(getattr(node, "proto", None), "spec", None)
        if isinstance(spec, str):
            out.extend(chart_words(json.loads(spec)))

    walk(at._tree[0])
    return "\n".join(out)
