"""The MQL定義の検証 page as a user sees it (AppTest on the bundled sample data): the band table and
the threshold numbers are the engine's, the criterion, constraints and slider change them as
the engine says, downloads hold what is shown, and an upload without a score column gets a
clear message with the way to map one.

Reference numbers come from a workspace built here from the same sample files.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from conftest import shown_outside_definitions

from funnel.i18n import t
from funnel.measures import mql as scoring
from funnel.measures.metrics import Filters
from funnel.model.workspace import Workspace
from funnel.present.charts.mql import band_label
from funnel.present.format import num, pct
from tests.conftest import switch_to

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(sample_ws: Workspace) -> Workspace:
    return sample_ws


@pytest.fixture
def cuts(engine: Workspace) -> list[scoring.Cut]:
    return scoring.thresholds(engine.con)


@pytest.fixture
def page(app: Any, downloads: dict[str | None, Any]) -> Any:
    return switch_to(app, "views/mql.py", "MQL定義の検証")


def col(key: str) -> str:
    return t(f"mql.col.{key}", "ja")


def frame_with(at: Any, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if d.value.columns[0] == column]
    assert len(found) == 1, [d.value.columns[0] for d in at.dataframe]
    return found[0]


def metrics_shown(at: Any) -> dict[str, str]:
    return {x.label: x.value for x in at.metric}


def assert_kpis(at: Any, c: scoring.Cut) -> None:
    shown = metrics_shown(at)
    assert shown[t("mql.kpi.passed", "ja")] == num(c.passed)
    assert shown[t("mql.kpi.per_month", "ja")] == num(round(c.per_month, 1))
    assert shown[t("mql.kpi.precision", "ja")] == pct(c.precision)
    assert shown[t("mql.kpi.recall", "ja")] == pct(c.recall)
    assert at.select_slider(key="mql_threshold").value == c.threshold
    rule = " ".join(x.value for x in at.success)
    assert f"スコア **{c.threshold:.0f} 点以上**" in rule and f"引き渡し **{num(c.passed)} 件**" in rule


def csv_frame(data: bytes) -> pd.DataFrame:
    assert data.startswith("\ufeff".encode())
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")


def test_opens_on_the_engine_numbers(page, engine, cuts):
    best = scoring.best(cuts, "f1")
    assert best.threshold == 107                                    # the sample's F1 optimum
    assert_kpis(page, best)
    s = scoring.summary(engine.con)
    text = " ".join(x.value for x in page.markdown)
    assert f"スコアのあるリード **{num(s.scored)}** 件" in text and f"商談化 **{num(s.converted_scored)}** 件" in text
    # Band table = the engine's round-number bands (width 20 over 0–193).
    bands = scoring.bands(engine.con, mode="width", s=s)
    df = frame_with(page, col("band"))
    assert df[col("band")].tolist() == [band_label(b, True, "ja") for b in bands] == [
        "0–19", "20–39", "40–59", "60–79", "80–99", "100–119", "120–139", "140–159", "160–179", "180–199"]
    assert df[col("leads")].tolist() == [b.leads for b in bands]
    assert df[col("converted")].tolist() == [b.converted for b in bands]
    assert df[col("rate")].tolist() == pytest.approx([b.rate for b in bands])
    assert df[col("ci_low")].tolist() == pytest.approx([b.ci[0] for b in bands])


def test_comparison_table(page, engine, cuts):
    df = frame_with(page, col("rule"))
    rows = {r[col("rule")]: r for _, r in df.iterrows()}
    chosen = rows["選んだ閾値"]
    best = scoring.best(cuts, "f1")
    assert (chosen[col("passed")], chosen[col("passed_converted")]) == (best.passed, best.passed_converted)
    assert chosen[col("precision")] == pytest.approx(best.precision)
    current = scoring.current_mql(engine.con)
    now = rows[t("mql.compare.current", "ja")]
    assert (now[col("passed")], now[col("passed_converted")]) == (current.passed, current.passed_converted)
    everyone = rows["全件を渡す"]
    assert everyone[col("passed")] == 2865 and everyone[col("recall")] == 1


def test_criterion_changes_the_recommendation(page, cuts):
    page.radio(key="mql_criterion").set_value("youden").run()
    assert not page.exception
    best = scoring.best(cuts, "youden")
    assert best.threshold != 107
    assert_kpis(page, best)


def test_minimum_precision(page, cuts):
    page.number_input(key="mql_min_precision").set_value(70.0).run()
    assert not page.exception
    best = scoring.best(cuts, "f1", min_precision=0.7)
    assert best.precision >= 0.7 and best.threshold > 107
    assert_kpis(page, best)


def test_volume_sales_can_handle(page, cuts):
    page.number_input(key="mql_max_volume").set_value(20).run()
    assert not page.exception
    best = scoring.best(cuts, "f1", max_per_month=20)
    assert best.per_month <= 20 and best.threshold == 119
    assert_kpis(page, best)


def test_impossible_constraints_say_so(page, engine):
    # Leads without a source: no threshold reaches 60% precision (the best is 50%).
    page.multiselect(key="sources").set_value([""]).run()
    page.number_input(key="mql_min_precision").set_value(60.0).run()
    assert not page.exception
    cuts = scoring.thresholds(engine.con, Filters(sources=(None,)))
    assert max(c.precision for c in cuts) < 0.6
    assert scoring.best(cuts, "f1", min_precision=0.6) is None
    fallback = scoring.best(cuts, "f1")
    assert any("満たす閾値がありません" in w.value and f"{fallback.threshold:.0f} 点" in w.value for w in page.warning)
    # The slider falls back to the unconstrained recommendation rather than to nothing.
    assert_kpis(page, fallback)


def test_moving_the_threshold(page, cuts):
    page.select_slider(key="mql_threshold").set_value(120.0).run()
    assert not page.exception
    assert_kpis(page, scoring.at(cuts, 120))
    df = frame_with(page, col("rule"))
    assert df[col("threshold")].tolist()[:2] == ["120", "107"]      # chosen, then the recommendation


def test_band_controls(page, engine):
    page.number_input(key="mql_band_width").set_value(50.0).run()
    assert frame_with(page, col("band"))[col("band")].tolist() == ["0–49", "50–99", "100–149", "150–199"]
    page.radio(key="mql_band_mode").set_value("decile").run()
    assert not page.exception
    deciles = scoring.bands(engine.con, mode="decile")
    df = frame_with(page, col("band"))
    assert df[col("leads")].tolist() == [b.leads for b in deciles]
    assert len(deciles) == 10 and sum(df[col("leads")]) == 2865


def test_downloads_hold_what_is_shown(page, downloads):
    for name, first in (("opportunity_rate_by_score_band.csv", col("band")),
                        ("mql_threshold_comparison.csv", col("rule")),
                        ("mql_thresholds.csv", col("threshold"))):
        shown = frame_with(page, first)
        got = csv_frame(downloads[name])
        assert list(got.columns) == list(shown.columns)
        pd.testing.assert_frame_equal(got, shown.reset_index(drop=True), check_dtype=False)


def test_definitions_are_beside_the_numbers(page):
    text = " ".join(x.value for x in page.markdown)
    assert "（適合率、precision）＝ 引き渡したリードのうち商談化したリード ÷ 引き渡したリード" in text
    assert "（再現率、recall）＝ 引き渡したリードのうち商談化したリード ÷ 商談化したリード（スコアあり）すべて" in text
    assert "「質と取りこぼしのバランス」＝ F1 最大" in text


STATISTICS_TERMS = ("適合率", "再現率", "F1", "Youden", "precision", "recall", "Precision", "Recall")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_plain_words_first_statistics_inside_definitions(page, lang):
    """Issue 16 item 7: a marketer reads what a threshold does; the statistics names are in 定義."""
    page.session_state["lang"] = lang
    page.run()
    assert not page.exception
    shown = shown_outside_definitions(page)
    assert [w for w in STATISTICS_TERMS if w in shown] == []
    assert t("mql.chart.threshold_axis", lang) in shown and t("mql.curve.recall", lang) in shown  # charts read
    labels = {x.label for x in page.metric}
    assert {t("mql.kpi.precision", lang), t("mql.kpi.recall", lang)} <= labels
    if lang == "ja":
        assert "商談になったリードの" in " ".join(x.value for x in page.success)
        assert "このスコア以上を MQL にすると、商談になったリード（スコアあり）の何割を拾えるか" in \
            next(x.help for x in page.metric if x.label == t("mql.kpi.recall", "ja"))
    # The terms are still there, inside the 定義 popover.
    everything = " ".join(x.value for x in page.markdown)
    assert all(w in everything for w in (("適合率", "再現率", "F1", "Youden") if lang == "ja"
                                         else ("precision", "recall", "F1", "Youden")))


def test_english(page):
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert [x.value for x in page.title] == ["MQL threshold"]
    assert {"Passed to sales", "Passed that convert", "Converting leads caught"} <= {x.label for x in page.metric}
    assert "Score band" in [d.value.columns[0] for d in page.dataframe]


def test_upload_without_a_score_column_says_how_to_map_one(app):
    ma = "メールアドレス,リードソース,作成日\na@x.jp,展示会,2025/04/01\nb@x.jp,Web広告,2025/04/02\n".encode()
    sfa = "商談 ID,フェーズ,メールアドレス\nO1,6.受注,a@x.jp\n".encode()
    app.file_uploader(key="up_ma").set_value(("leads.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("deals.csv", sfa, "text/csv")).run()
    assert not app.exception
    app.switch_page("views/mql.py").run()
    assert not app.exception
    assert [w.value for w in app.warning] == [t("mql.no_score", "ja")]
    how = " ".join(x.value for x in app.markdown)
    assert "データ取込ページの「列の対応付け」" in how and "「スコア」" in how
    assert not app.dataframe and not app.metric                      # nothing else pretends to measure


# -- behaviour-based criteria beside the threshold (issue 18) ------------------------------------
@pytest.fixture(scope="module")
def with_activity() -> Any:
    from funnel.ingest.reader import Source
    from tests.conftest import SAMPLE, load_sample

    ws = load_sample(Workspace())
    ws.load("activity", Source.from_path(SAMPLE / "activity_log.csv"))
    ws.build()
    yield ws
    ws.close()


def test_behaviour_criteria_beside_the_threshold(page, with_activity):
    from funnel.measures import activity as history

    picks = history.separating(history.behaviour(with_activity.con))
    assert [b.activity for b in picks] == ["問い合わせフォーム送信", "価格ページ閲覧", "セミナー参加"]   # the sample's
    shown = shown_outside_definitions(page)
    assert t("mql.behaviour.title", "ja") in shown
    items = [f"**{b.activity}**: したリード {num(b.leads)} 件のうち {pct(b.rate)} が商談に" for b in picks]
    text = "\n".join(x.value for x in page.markdown)
    assert all(i in text for i in items)
    assert [text.index(i) for i in items] == sorted(text.index(i) for i in items)     # highest lift first
    assert "メール開封" not in shown                                   # passive: never a criterion
    # Plain words outside, the statistics (interval, lift, Wilson) inside the 定義 popover.
    assert not any(w in shown for w in ("リフト", "Wilson", "（95%区間"))
    first = picks[0]
    assert f"{first.activity}: {num(first.converted)} ÷ {num(first.leads)} = {pct(first.rate)}" in text
    assert f"リフト {first.lift:.2f}" in text


def test_behaviour_criteria_in_english(page):
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    shown = shown_outside_definitions(page)
    assert t("mql.behaviour.title", "en") in shown and "became opportunities (others:" in shown
    assert "lift" not in shown.lower().replace("lifts", "")


def test_no_activity_says_what_loading_it_would_add(app):
    from tests.conftest import SAMPLE

    app.file_uploader(key="up_ma").set_value(("leads.csv", (SAMPLE / "ma_leads.csv").read_bytes(), "text/csv")).run()
    sfa = (SAMPLE / "sfa_opportunities.xlsx").read_bytes()
    app.file_uploader(key="up_sfa").set_value(("deals.xlsx", sfa, "application/octet-stream")).run()
    app.switch_page("views/mql.py").run()
    assert not app.exception
    assert t("mql.behaviour.no_activity", "ja") in [c.value for c in app.caption]
