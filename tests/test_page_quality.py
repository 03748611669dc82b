"""The match-report page on the sample data, as a user sees it: the numbers equal the engine's
on the same files, the lists page, and a download holds the whole list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from funnel.measures import quality as q
from funnel.measures.metrics import match
from funnel.model.workspace import Workspace
from funnel.present.format import num, pct
from tests.conftest import ROOT

PAGE = "views/quality.py"


@pytest.fixture(autouse=True)
def clear_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def capture_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What each download button would hand the browser, by widget key (lazy data is built)."""
    captured: dict[str, bytes] = {}
    original = DeltaGenerator.download_button

    def fake(self: DeltaGenerator, label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        payload = data() if callable(data) else data
        captured[str(kwargs.get("key"))] = payload.encode() if isinstance(payload, str) else bytes(payload)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", fake)
    monkeypatch.setattr(st, "download_button", lambda *a, **k: fake(st._main, *a, **k))
    return captured


def open_page(path: str = PAGE) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def engine(sample_ws: Workspace) -> Workspace:
    """The same sample files built directly by the engine: what the page must show."""
    return sample_ws


def frame_with(at: AppTest, column: str) -> Any:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with column {column!r}"
    return found[0]


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")          # Excel-safe UTF-8 with BOM
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_headline_numbers_are_the_engines(engine: Workspace) -> None:
    at = open_page()
    shown = {m.label: m.value for m in at.metric}
    m = match(engine.con)
    d = q.duplicates(engine.con)
    assert shown["マッチ率（商談）"] == pct(m.rate)
    assert shown["リードのない商談"] == num(m.unlinked)
    assert shown["商談に紐付かないリード"] == num(q.count_unlinked_leads(engine.con))
    assert shown["重複した人物"] == f"{num(d.duplicated)}（{pct(d.share)}）"
    assert len(at.get("vega_lite_chart")) >= 1


def test_rule_counts_and_deal_source_table_are_the_engines(engine: Workspace) -> None:
    at = open_page()
    rules = frame_with(at, "規則")                  # the MA tab comes first
    r = q.email_rules(engine.con, "ma")
    by_rule = dict(zip(rules["規則"], rules["該当セル数"], strict=True))
    assert by_rule["全角→半角（NFKC）"] == r.changed["nfkc"]
    assert by_rule["前後の空白を除去"] == r.changed["trimmed"]
    assert by_rule["小文字に統一"] == r.changed["lowercased"]
    assert by_rule["空欄"] == r.blank and by_rule["形式不正（有効なアドレスなし）"] == r.invalid
    deal = frame_with(at, "マッチ率")
    groups = q.match_by_deal_source(engine.con)
    assert list(deal["商談数"]) == [g.opportunities for g in groups]
    assert list(deal["リードあり"]) == [g.linked for g in groups]


def test_lists_page_and_downloads_hold_everything(engine: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = capture_downloads(monkeypatch)
    at = open_page()
    never = q.count_unlinked_leads(engine.con)
    assert any(f"{num(never)} 件中 1〜50 件目" in c.value for c in at.caption)
    at.number_input(key="q_page_leads").set_value(2).run()
    assert not at.exception
    assert any(f"{num(never)} 件中 51〜100 件目" in c.value for c in at.caption)
    leads = frame_with(at, "メールアドレス（正規化後）")
    second_page = q.unlinked_leads(engine.con, limit=50, offset=50)
    assert list(leads["メールアドレス（正規化後）"])[:3] == [r["email"] for r in second_page[:3]]

    opps = rows_of(downloads["q_dl_opps"])
    assert len(opps) == match(engine.con).unlinked
    reasons = q.unlinked_reasons(engine.con, engine.build_result)
    assert sum(r["理由"] == "MAに該当なし" for r in opps) == reasons["not_found"]
    assert len(rows_of(downloads["q_dl_leads"])) == never
    dups = rows_of(downloads["q_dl_dups"])
    assert len(dups) == q.duplicates(engine.con).duplicated
    assert all(" / " in r["元のセルの表記"] for r in dups)        # every merged person shows its variants
    rules = rows_of(downloads["q_dl_rules_ma"])
    assert {r["規則"] for r in rules} >= {"全角→半角（NFKC）", "mailto: を除去"}


def test_the_page_in_english() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["lang"] = "en"          # the sidebar switch's key
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "Match report"
    assert "Match rate (opportunities)" in [m.label for m in at.metric]

