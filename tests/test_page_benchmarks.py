"""The benchmark page on the sample data: the user's numbers are the engine's, a benchmark
edited in the table changes the comparison and the download, and a replacement file is
validated with a readable message."""

from __future__ import annotations

import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from funnel.ingest.reader import Source
from funnel.measures import benchmarks as bm
from funnel.measures.metrics import by_source
from funnel.model.cost_data import read_costs
from funnel.model.workspace import Workspace
from funnel.present.format import pct, yen
from tests.conftest import ROOT, SAMPLE
from tests.test_page_quality import capture_downloads, clear_caches, open_page  # noqa: F401 (fixture)

PAGE = "views/benchmarks.py"
EDITOR = "bench_editor"


@pytest.fixture(scope="module")
def values(sample_ws: Workspace) -> dict[str, bm.UserValue]:
    """The engine's values on the same sample files (ad sources as the page detects them)."""
    ad = bm.ad_sources([r.group for r in by_source(sample_ws.con)])
    costs = read_costs(sample_ws.con, Source.from_path(SAMPLE / "cost_by_source.csv"), sample_ws.workdir)
    return bm.user_values(sample_ws.con, ad=ad, costs=costs)


def table(at: AppTest):
    found = [d.value for d in at.dataframe if "判定" in d.value.columns and "出典（発行元）" in d.value.columns]
    assert found
    return found[0]


def test_user_numbers_are_the_engines(values: dict[str, bm.UserValue]) -> None:
    at = open_page(PAGE)
    shown = {m.label: m.value for m in at.metric}
    assert shown["商談化率（全体）"] == pct(values["opportunity_rate"].value)
    assert shown["商談化率（広告経由）"] == pct(values["opportunity_rate_ad"].value)
    assert shown["受注率"] == pct(values["win_rate"].value)
    assert shown["CPA（リード獲得単価）"] == yen(values["cpa"].value)
    assert at.multiselect(key="bench_ad").value == ["Web広告"]
    t = table(at)
    assert len(t) == len(bm.defaults().benchmarks)
    first = t.iloc[0]
    expected = bm.status(values["opportunity_rate"].value, bm.defaults().benchmarks[0])
    assert first["判定"].startswith({"below": "下回る", "within": "範囲内", "above": "上回る"}[expected])
    assert first["URL"].startswith("https://") and first["公開日"] == "2026-01-15"
    assert first["目安の定義"] == "商談化数（商談に進んだリード） ÷ リード数"
    assert len(at.get("vega_lite_chart")) == 2                      # rates and yen


def test_editing_a_benchmark_in_the_table(values: dict[str, bm.UserValue], monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = capture_downloads(monkeypatch)
    at = open_page(PAGE)
    rate = values["opportunity_rate"].value
    assert rate is not None and rate < 0.2
    # Lower the first range (商談化率・全体, 20–30%) below the user's rate: it is now above it.
    at.session_state[EDITOR] = {"edited_rows": {0: {"low": 1, "high": 5}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error
    assert table(at).iloc[0]["目安"] == "1.0%〜5.0%"
    assert table(at).iloc[0]["判定"] == "上回る・良好"
    saved = tomllib.loads(downloads["bench_dl_toml"].decode())["benchmark"]
    assert (saved[0]["low"], saved[0]["high"]) == (1, 5) and len(saved) == len(bm.defaults().benchmarks)
    assert b"opportunity_rate,1,5," in downloads["bench_dl_csv"]


def test_an_invalid_edit_is_explained_and_the_row_left_out() -> None:
    at = open_page(PAGE)
    at.session_state[EDITOR] = {"edited_rows": {0: {"low": 50}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["1 行目・上限: 下限 50 が上限 30 より大きくなっています"]
    assert len(table(at)) == len(bm.defaults().benchmarks) - 1


def test_adding_a_row(values: dict[str, bm.UserValue]) -> None:
    at = open_page(PAGE)
    row = {"metric": "win_rate", "low": 25, "high": 35, "numerator": "受注", "denominator": "受注＋失注",
           "source": bm.UNVERIFIED_SOURCE}
    at.session_state[EDITOR] = {"edited_rows": {}, "added_rows": [row], "deleted_rows": [0]}
    at.run()
    assert not at.exception and not at.error
    t = table(at)
    assert len(t) == len(bm.defaults().benchmarks) and t.iloc[-1]["目安"] == "25.0%〜35.0%"


def test_replacing_the_set_with_a_file() -> None:
    at = open_page(PAGE)
    one = [bm.Benchmark("cpa", 1000, 2000, None, "費用", "リード数", "テスト社", "検証", "https://example.jp", "2025-01-01")]
    at.file_uploader(key="bench_upload").set_value(("mine.csv", bm.to_csv(one), "text/csv")).run()
    assert not at.exception and not at.error
    assert list(table(at)["出典（発行元）"]) == ["テスト社"]
    # A broken file is refused with the reason, and the current set stays.
    at.file_uploader(key="bench_upload").set_value(("bad.toml", b"[[benchmark]]\nmetric = 'ctr'\n", "text/plain")).run()
    assert not at.exception
    assert any("指標「ctr」は使えません" in e.value for e in at.error)
    assert list(table(at)["出典（発行元）"]) == ["テスト社"]


def test_own_exports_show_no_cost_until_a_cost_file_is_given(values: dict[str, bm.UserValue]) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.file_uploader(key="up_ma").set_value(("ma.csv", (SAMPLE / "ma_leads.csv").read_bytes(), "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value(
        ("sfa.xlsx", (SAMPLE / "sfa_opportunities.xlsx").read_bytes(), "application/octet-stream")).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["CPA（リード獲得単価）"] == "費用データなし"
    assert table(at).iloc[3]["判定"] == "データなし"
    cost = (SAMPLE / "cost_by_source.csv").read_bytes()
    at.file_uploader(key="bench_cost_up").set_value(("cost.csv", cost, "text/csv")).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["CPA（リード獲得単価）"] == yen(values["cpa"].value)


def test_edits_survive_a_language_switch_and_leaving_the_page() -> None:
    at = open_page(PAGE)
    at.session_state[EDITOR] = {"edited_rows": {0: {"low": 1, "high": 5}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    en = [d.value for d in at.dataframe if "Status" in d.value.columns][0]
    assert en.iloc[0]["Benchmark"] == "1.0%–5.0%" and en.iloc[0]["Status"] == "Above range · good"
    at.session_state["lang"] = "ja"
    at.switch_page("views/quality.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception and table(at).iloc[0]["目安"] == "1.0%〜5.0%"


def test_the_unverified_source_is_shown_in_the_ui_language() -> None:
    """The "no verified source" wording is data stored in Japanese; the English page (table and
    editor) says it in English, and an edit typed in English is stored as the one wording."""
    defaults = bm.defaults().benchmarks
    unverified = sum(bm.is_unverified_source(b.source) for b in defaults)
    assert unverified == sum(b.source == bm.UNVERIFIED_SOURCE for b in defaults) >= 1
    at = open_page(PAGE)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    en = [d.value for d in at.dataframe if "Status" in d.value.columns][0]
    sources = list(en["Source (publisher)"])
    assert sources.count("General industry rule of thumb (source unverified)") == unverified
    assert not any("出典未確認" in s for s in sources)
    # What the English editor gives back is read as the stored wording (not a publisher's name).
    items, problems = bm.from_records([{**bm.to_records([b])[0], "source": bm.source_text(b.source, "en")}
                                       for b in defaults])
    assert not problems and [b.source for b in items] == [b.source for b in defaults]
    assert [b.verified for b in items] == [b.verified for b in defaults]
