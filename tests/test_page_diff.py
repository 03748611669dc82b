"""前回との比較 page through AppTest: this month's exports loaded on the upload page, last month's
through the page's own uploaders; the KPIs and tables show the engine's numbers on a generated
pair whose changes are known; English switch; a bad baseline file gives an error box while the
page keeps working; a saved workspace file as the baseline; removing the baseline. On the sample
data the sample's last month is the baseline at once (numbers counted from the files in
tests/sample_months.py), and never once the user's own data is shown."""

from __future__ import annotations

import pandas as pd
import pytest
from sample_months import sample_changes
from snapshot_pair import make_pair

from funnel.ingest.reader import Source
from funnel.model.workspace import Workspace

PAIR = make_pair()


def frame_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def metrics_of(at) -> dict[str, tuple[str, str]]:
    return {mt.label: (mt.value, mt.delta) for mt in at.metric}


def open_with_this_month(app) -> None:
    """Upload the pair's current exports on the upload page (this month), then open the diff page."""
    app.switch_page("views/upload.py").run()
    app.file_uploader(key="up_ma").set_value(("leads_2025-06.csv", PAIR.cur_ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("deals_2025-06.csv", PAIR.cur_sfa, "text/csv")).run()
    app.switch_page("views/diff.py").run()


@pytest.fixture
def page(app):
    """This month = the pair's current exports, on the diff page."""
    open_with_this_month(app)
    assert not app.exception
    return app


def give_baseline(at, ma: bytes = PAIR.prev_ma, sfa: bytes = PAIR.prev_sfa, gen: int = 0) -> None:
    at.file_uploader(key=f"diff_up_ma_{gen}").set_value(("leads_2025-05.csv", ma, "text/csv")).run()
    at.file_uploader(key=f"diff_up_sfa_{gen}").set_value(("deals_2025-05.csv", sfa, "text/csv")).run()
    assert not at.exception


def test_asks_for_the_baseline_first(page):
    assert page.title[0].value == "前回との比較"
    assert any("前回（先月）のMAリードとSFA商談の両方" in i.value for i in page.info)
    assert {u.key for u in page.file_uploader} >= {"diff_up_ma_0", "diff_up_sfa_0"}
    assert not page.metric


def test_uploaded_baseline_shows_the_known_changes(page, downloads):
    give_baseline(page)
    assert not page.error
    got = metrics_of(page)
    assert got["リード数"] == ("55", "+7")
    assert got["商談化率"] == ("60.0%", "+1.7pt")            # 28/48 → 33/55
    assert got["受注率"] == ("53.8%", "+3.8pt")              # 4/8 → 7/13
    assert got["新規リード"][0] == "10" and got["新たに商談化"][0] == "4"   # + 2 new leads with one
    assert (got["ステージ移動"][0], got["新たに受注"][0], got["新たに失注"][0]) == ("11", "3", "3")
    new = frame_with(page, "新規リード")
    assert dict(zip(new["リードソース"], zip(new["新規リード"], new["うち商談あり"], strict=True), strict=True)) == {
        "展示会": (5, 1), "Web広告": (3, 1), "ウェビナー": (2, 0)}
    moves = frame_with(page, "動き")
    assert list(zip(moves["前回のステージ"], moves["今回のステージ"], moves["動き"], moves["件数"], strict=True)) == [
        ("3.提案", "4.見積提示", "前進", 4), ("3.提案", "6.受注", "受注", 3), ("3.提案", "7.失注", "失注", 3),
        ("7.失注", "2.ヒアリング", "再開", 1)]
    lost = frame_with(page, "失注理由")
    assert dict(zip(lost["商談ID"], lost["失注理由"], strict=True)) == PAIR.expected.lost
    assert set(lost["失注理由の分類"]) == {"予算がない", "競合に負けた", "タイミングが合わない"}
    assert set(lost["ステージ（前回 → 今回）"]) == {"3.提案 → 7.失注"}
    conv = frame_with(page, "今回商談化")
    assert dict(zip(conv["リードソース"], conv["今回商談化"], strict=True)) == {
        "展示会": 2, "Web広告": 1, "ウェビナー": 1, "紹介": 0}
    counts = downloads["changes_summary.csv"].decode("utf-8-sig")
    assert "新規リード,10" in counts and "ステージが動いた商談,11" in counts
    assert "newly_lost.csv" in downloads and "stage_moves.csv" in downloads


def test_drill_down_lists_the_chosen_change(page, downloads):
    give_baseline(page)
    page.selectbox(key="diff_drill_kind_ja").set_value("removed_leads").run()
    assert not page.exception
    table = frame_with(page, "メールアドレス")
    assert len(table) == 3 and set(table["リードソース"]) == {"紹介", "ウェビナー"}
    assert set(table["商談数（前回 → 今回）"]) == {"0 → —"} and set(table["段階（前回 → 今回）"]) == {"リード → —"}
    assert len(pd.read_csv(pd.io.common.BytesIO(downloads["changes_removed_leads.csv"]))) == 3


def test_english(page):
    give_baseline(page)
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert page.title[0].value == "What changed since last time"
    got = metrics_of(page)
    assert got["Leads"] == ("55", "+7") and got["Opportunity rate"][1] == "+1.7pt"
    assert "Stage before" in frame_with(page, "Movement").columns
    assert "Stage (before → now)" in frame_with(page, "Loss reason").columns


def test_bad_baseline_file_gives_an_error_and_the_page_keeps_working(page):
    page.file_uploader(key="diff_up_ma_0").set_value(("broken.xlsx", b"PK\x03\x04 not really a workbook",
                                                      "application/vnd.ms-excel")).run()
    assert not page.exception
    assert page.error and "broken.xlsx" in page.error[0].value
    assert any("両方のファイル" in i.value for i in page.info)
    give_baseline(page)          # the right files then work
    assert not page.error
    assert metrics_of(page)["リード数"] == ("55", "+7")


def test_identical_baseline_says_nothing_changed(page):
    give_baseline(page, PAIR.cur_ma, PAIR.cur_sfa)
    assert any("変化はありません" in s.value for s in page.success)
    assert metrics_of(page)["商談化率"] == ("60.0%", "±0.0pt")


def test_remove_baseline(page):
    give_baseline(page)
    page.button(key="diff_clear").click().run()
    assert not page.exception
    assert not page.metric
    assert {u.key for u in page.file_uploader} >= {"diff_up_ma_1", "diff_up_sfa_1"}


def test_saved_workspace_as_baseline(page):
    saved = pytest.importorskip("funnel.model.saved")
    ws = Workspace()
    try:
        ws.load("ma", Source.from_bytes("leads_2025-05.csv", PAIR.prev_ma))
        ws.load("sfa", Source.from_bytes("deals_2025-05.csv", PAIR.prev_sfa))
        data = saved.save_bytes(ws)
    finally:
        ws.close()
    page.radio(key="diff_baseline_mode_ja").set_value("saved").run()
    page.file_uploader(key="diff_up_saved_0").set_value(("may.funnel", data, "application/zip")).run()
    assert not page.exception and not page.error
    assert metrics_of(page)["リード数"] == ("55", "+7")
    assert any("may.funnel" in c.value for c in page.caption)


def test_masking_hides_people_in_the_drill_down(page, downloads):
    give_baseline(page)
    page.session_state["mask_pii"] = True
    page.run()
    table = frame_with(page, "メールアドレス")
    assert all("***@" in e for e in table["メールアドレス"])
    assert not any(e.startswith("n0_0@") for e in table["メールアドレス"])
    assert b"n0_0@" not in downloads["changes_new_leads.csv"]


# -- the sample data: compared with the sample's last month at once ------------------------------

def sample_baseline_shown(at) -> bool:
    return any("サンプルの先月分" in x.value for x in [*at.info, *at.caption])


def test_sample_is_compared_with_its_last_month_without_any_upload(app):
    app.switch_page("views/diff.py").run()
    assert not app.exception and not app.error
    assert all(not (u.value or []) for u in app.file_uploader)       # nothing was uploaded
    want = sample_changes().counts
    got = metrics_of(app)
    assert got["リード数"] == (f"{want['leads_after']:,}", f"{want['leads_after'] - want['leads_before']:+,}")
    assert [got[k][0] for k in ("新規リード", "新たに商談化", "ステージ移動", "新たに受注", "新たに失注")] == [
        str(want[k]) for k in ("new_leads", "newly_converted", "moved", "won", "lost")]
    assert sample_baseline_shown(app) and any("サンプルデータを表示中" in c.value for c in app.caption)
    assert any("前回もサンプル" in i.value for i in app.info)
    assert any("同じ架空の会社の1か月前" in m.value for m in app.markdown)
    assert len(frame_with(app, "動き")) > 0 and len(frame_with(app, "失注理由")) == want["lost"]


def test_users_own_data_is_never_compared_with_the_sample(app):
    app.switch_page("views/diff.py").run()
    assert metrics_of(app)
    open_with_this_month(app)
    assert not app.exception and not app.metric and not sample_baseline_shown(app)
    assert any("前回（先月）のMAリードとSFA商談の両方" in i.value for i in app.info)
    assert not any(c.value.startswith("✅") for c in app.caption)     # no baseline file listed
    give_baseline(app)                                                # the user's own last month works
    assert metrics_of(app)["リード数"] == ("55", "+7")


def test_back_to_the_sample_brings_its_last_month_back(app):
    open_with_this_month(app)
    assert not app.metric
    app.switch_page("views/upload.py").run()
    app.button(key="back_to_sample").click().run()
    app.switch_page("views/diff.py").run()
    assert not app.exception and sample_baseline_shown(app)
    assert metrics_of(app)["新規リード"][0] == str(sample_changes().counts["new_leads"])


def test_own_upload_replaces_the_sample_baseline(app):
    app.switch_page("views/diff.py").run()
    app.file_uploader(key="diff_up_ma_0").set_value(("leads_2026-03.csv", PAIR.prev_ma, "text/csv")).run()
    assert not app.exception and not app.metric and not sample_baseline_shown(app)
    assert any("両方" in i.value for i in app.info)               # the sample's SFA file went with it
    rows = len(PAIR.prev_ma.decode("utf-8-sig").splitlines()) - 1
    assert [c.value for c in app.caption if c.value.startswith("✅")] == [f"✅ leads_2026-03.csv：{rows} 行"]


def test_removed_sample_baseline_stays_removed(app):
    app.switch_page("views/diff.py").run()
    app.button(key="diff_clear").click().run()
    assert not app.exception and not app.metric and not sample_baseline_shown(app)
    app.run()
    assert not app.metric and any("両方" in i.value for i in app.info)


def test_sample_baseline_in_english(app):
    app.switch_page("views/diff.py").run()
    app.session_state["lang"] = "en"
    app.run()
    assert not app.exception
    assert any("the sample's last month" in i.value for i in app.info)
    assert metrics_of(app)["New leads"][0] == str(sample_changes().counts["new_leads"])
