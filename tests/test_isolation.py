"""Two browser sessions in one server never see each other's data, mappings or edits.

Two AppTests run in one process, so they share Streamlit's global caches exactly as two real
users of one server do. One thing differs from a real server: AppTest gives every instance
the same session id ("test session id"), which would make ``scope="session"`` caches — the
per-session workspace — shared between the two AppTests and report a leak that no real
deployment has. The ``sessions`` fixture gives each AppTest its own id, as the server does.

Then: each session sees only its own numbers on the upload and rate pages, a mapping edit and
a loss-rule edit in one do not reach the other, the two have different DuckDB connections and
temporary folders, everything written to disk lives in the session's folder, and ending a
session (Streamlit's session-cache release, which calls the workspace's ``close``) deletes it.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from funnel.i18n import t
from funnel.model.workspace import Workspace
from funnel.present.format import loss_label
from funnel.sql import scalar
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# Session A's exports: CP932 leads (read through a transcoded copy on disk) and UTF-8 deals.
X_MA = ("メールアドレス,予備メール,氏名,会社名,リードソース,作成日\r\n"
        "a1@alpha.example.jp,z1@spare.example.jp,青木 一郎,アルファ㈱,展示会,2025/04/01\r\n"
        "a2@alpha.example.jp,z2@spare.example.jp,青木 二郎,アルファ㈱,展示会,2025/04/02\r\n"
        "a3@alpha.example.jp,z3@spare.example.jp,青木 三郎,アルファ㈱,展示会,2025/04/03\r\n"
        "a4@alpha.example.jp,z4@spare.example.jp,青木 四郎,アルファ㈱,セミナー,2025/04/04\r\n").encode("cp932")
X_SFA = ("商談 ID,フェーズ,メール,失注理由,作成日\n"
         "XA1,7.失注,a1@alpha.example.jp,社内稟議が通らず,2025/05/01\n"
         "XA2,6.受注,a2@alpha.example.jp,,2025/05/02\n").encode()
# Session B's exports: English headers, other people, other sources.
Y_MA = (b"email,name,company,lead source,created date\n"
        b"y1@beta.example.com,Yuki Tanaka,Beta Inc,Webinar,2025/06/01\n"
        b"y2@beta.example.com,Ken Sato,Beta Inc,Webinar,2025/06/02\n"
        b"y3@beta.example.com,Mai Ito,Beta Inc,Webinar,2025/06/03\n")
Y_SFA = (b"deal id,stage,email,loss reason\n"
         b"YB1,Closed Won,y1@beta.example.com,\n"
         b"YB2,Closed Lost,y2@beta.example.com,Ringi not approved\n")
COST = "月,流入元,費用\r\n2025-04,展示会,300000\r\n".encode()


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """AppTests with their own session ids; workspaces recorded by session; temp files under
    ``tmp_path``; every session cache released at the end."""
    import streamlit as st
    from streamlit.runtime import caching
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    from streamlit.testing.v1 import local_script_runner as lsr

    import funnel.model.dataset
    import ui.state

    ids: dict[int, tuple[Any, str]] = {}
    real_init = lsr.LocalScriptRunner.__init__

    def init(self: Any, script_path: str, session_state: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, script_path, session_state, *args, **kwargs)
        # Keep the session-state object referenced, so its id is never reused by another.
        self._session_id = ids.setdefault(id(session_state), (session_state, f"session-{uuid.uuid4().hex}"))[1]

    workspaces: dict[str, list[Workspace]] = {}

    class Tracked(Workspace):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            ctx = get_script_run_ctx()
            workspaces.setdefault(ctx.session_id if ctx else "?", []).append(self)

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(lsr.LocalScriptRunner, "__init__", init)
    monkeypatch.setattr(funnel.model.dataset, "Workspace", Tracked)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    st.cache_data.clear()
    st.cache_resource.clear()

    def session_id(at: Any) -> str:
        return ids[id(at._session_state)][1]

    def release(at: Any) -> None:
        """What happens when a session ends: Streamlit clears the browser session's caches
        (AppSession.clear_session_caches) and the registry closes the engine Session (on
        expiry, ``session_idle_minutes`` after its last use; a reload before that finds it)."""
        caching.clear_session_data_cache(session_id(at))
        caching.clear_session_resource_cache(session_id(at))
        ui.state.registry().close(at.session_state[ui.state.TOKEN])

    yield {"workspaces": workspaces, "session_id": session_id, "release": release, "tmp": tmp}
    st.cache_data.clear()
    st.cache_resource.clear()


def new_app() -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: Any, ma: tuple[str, bytes], sfa: tuple[str, bytes]) -> None:
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="up_ma").set_value((*ma, "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value((*sfa, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]


def visit(at: Any, page: str) -> Any:
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link_summary(at: Any) -> str:
    return next(s.value for s in at.success if "🔗" in str(s.proto.icon))


def all_text(at: Any) -> str:
    """Every string and table cell the session's page shows (any element, any depth)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        for attr in ("value", "label", "body"):
            try:
                v = getattr(node, attr)
            except Exception:        # widgets without state, elements without the attribute
                continue
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, pd.DataFrame):
                out.append(" ".join(map(str, v.columns)) + " " + v.astype(str).to_csv(index=False))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def rate_table(at: Any) -> dict[str, int]:
    src, leads = t("rate.col.source"), t("rate.col.leads")
    table = next(d.value for d in at.dataframe if src in d.value.columns and t("rate.col.ci_low") in d.value.columns)
    return dict(zip(table[src], table[leads], strict=True))


def metric(at: Any, key: str) -> str:
    return next(m.value for m in at.metric if m.label == t(key))


def test_two_sessions_never_share_data_mappings_or_edits(sessions: dict[str, Any]) -> None:
    a, b = new_app(), new_app()
    assert sessions["session_id"](a) != sessions["session_id"](b)

    upload(a, ("leads_x.csv", X_MA), ("deals_x.csv", X_SFA))
    assert "リード 4 件" in link_summary(a)
    visit(b, "upload")                                   # B still on the sample data
    assert "リード 2,865 件" in link_summary(b)

    upload(b, ("leads_y.csv", Y_MA), ("deals_y.csv", Y_SFA))
    assert "リード 3 件" in link_summary(b)
    assert "リード 4 件" in link_summary(visit(a, "upload"))     # A unchanged by B's upload

    # Rate page: each sees its own leads and sources, nothing of the other's.
    visit(a, "rate")
    visit(b, "rate")
    assert rate_table(a) == {"展示会": 3, "セミナー": 1}
    assert rate_table(b) == {"Webinar": 3}
    assert metric(a, "rate.kpi.leads") == "4" and metric(b, "rate.kpi.leads") == "3"
    # Words only the other session's data holds (a source name such as 展示会 is also a channel
    # name of the shared channel list, data/channels.toml, which every session's page offers).
    for who, other in ((a, ("beta.example.com", "Beta Inc", "Yuki")), (b, ("alpha.example.jp", "アルファ", "青木"))):
        shown = all_text(who)
        assert not any(word in shown for word in other)

    # A mapping edit in A (email column → 予備メール: no deal matches any more) stays in A.
    visit(a, "upload")
    editor = next(e for e in a.data_editor if e.key == "map_ma")
    fields = list(editor.value["field"])
    a.session_state["map_ma"] = {"edited_rows": {fields.index("メールアドレス"): {"column": "予備メール"}},
                                 "added_rows": [], "deleted_rows": []}
    a.run()
    assert not a.exception
    assert "紐付いた商談 0 件" in link_summary(a) and "予備メール" in link_summary(a)
    visit(b, "upload")
    assert "紐付いた商談 2 件" in link_summary(b)
    assert not any(b.session_state["session"].overrides.values())
    a.session_state["map_ma"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    a.button(key="reset_map_ma").click().run()
    assert "紐付いた商談 2 件" in link_summary(a)

    # A loss-rule edit in A (稟議 → 予算) moves A's lost deal, not B's.
    other, budget = loss_label("other", "ja"), loss_label("budget", "ja")
    visit(a, "loss")
    editor = a.data_editor[0]
    row = list(editor.value["category"]).index("budget")
    a.session_state["loss_rules_editor_0_ja"] = {
        "edited_rows": {row: {"keywords": editor.value.loc[row, "keywords"] + ", 稟議"}},
        "added_rows": [], "deleted_rows": []}
    a.run()
    assert not a.exception
    assert a.session_state["session"].loss_rules_toml is not None
    assert pareto(a) == {budget: 1}
    visit(b, "loss")
    assert b.session_state["session"].loss_rules_toml is None
    assert pareto(b) == {other: 1}


def pareto(at: Any) -> dict[str, int]:
    cat, count = t("loss.col.category"), t("loss.col.count")
    table = next(d.value for d in at.dataframe if cat in d.value.columns and count in d.value.columns)
    return {k: v for k, v in zip(table[cat], table[count], strict=True) if v}


def test_workspaces_are_per_session_on_disk_and_released(sessions: dict[str, Any]) -> None:
    a, b = new_app(), new_app()
    upload(a, ("leads_x.csv", X_MA), ("deals_x.csv", X_SFA))
    visit(a, "cost").file_uploader(key="cost_up").set_value(("cost.csv", COST, "text/csv")).run()
    assert not a.exception
    upload(b, ("leads_y.csv", Y_MA), ("deals_y.csv", Y_SFA))

    ws = sessions["workspaces"]
    wa, wb = ws[sessions["session_id"](a)], ws[sessions["session_id"](b)]
    assert len(wa) == len(wb) == 1, "one workspace per session, kept across reruns and pages"
    wa, wb = wa[0], wb[0]
    assert wa.con is not wb.con and wa.workdir != wb.workdir
    assert scalar(wa.con, "SELECT count(*) FROM leads") == 4
    assert scalar(wb.con, "SELECT count(*) FROM leads") == 3
    assert wa.workdir.is_dir() and wb.workdir.is_dir()

    # Everything written to disk — the transcoded CP932 upload, the cost file, DuckDB's spill
    # folder — lives in the session's own folder, and nowhere else under the temp directory.
    tmp: Path = sessions["tmp"]
    written = [p for p in tmp.rglob("*") if p.is_file()]
    assert any(p.is_relative_to(wa.workdir) for p in written), "the CP932 upload is transcoded on disk"
    assert all(p.is_relative_to(wa.workdir) or p.is_relative_to(wb.workdir) for p in written), written
    assert {p for p in tmp.iterdir()} == {wa.workdir, wb.workdir}

    # Session A ends: its connection is closed and its folder deleted; B goes on unharmed.
    sessions["release"](a)
    assert not wa.workdir.exists()
    with pytest.raises(duckdb.Error):
        scalar(wa.con, "SELECT 1")
    assert wb.workdir.is_dir()
    assert rate_table(visit(b, "rate")) == {"Webinar": 3}

    sessions["release"](b)
    assert not wb.workdir.exists()
    assert list(tmp.iterdir()) == [], "nothing of either session is left on disk"
