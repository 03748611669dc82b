"""The SLA・スピード page as a user sees it (AppTest on the bundled sample data): headline numbers
and tables are the engine's, the SLA days, the start date, the stuck threshold and the as-of
date change them as the engine says, exclusions are reported, the stuck list pages and its
downloads hold what is shown.

Reference numbers come from a workspace built here from the same sample files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pandas as pd
import pytest
from conftest import shown_outside_definitions

from funnel.i18n import t
from funnel.measures import sla as speed
from funnel.model.workspace import Workspace
from funnel.present.charts.sla import days_text, group_label
from funnel.present.format import num, pct, yen
from tests.conftest import switch_to

pytestmark = pytest.mark.slow
AS_OF = dt.date(2026, 3, 31)          # the sample's latest lead / opportunity creation date


@pytest.fixture(scope="module")
def engine(sample_ws: Workspace) -> Workspace:
    return sample_ws


@pytest.fixture
def page(app: Any, downloads: dict[str | None, Any]) -> Any:
    return switch_to(app, "views/sla.py", "SLA・スピード")


def col(key: str) -> str:
    return t(f"sla.col.{key}", "ja")


def tables_with(at: Any, column: str) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if d.value.columns[0] == column]


def metrics_shown(at: Any) -> list[tuple[str, str]]:
    return [(x.label, x.value) for x in at.metric]


def lead_kpis(at: Any) -> dict[str, str]:
    """The first five metrics: the lead → opportunity headline."""
    return dict(metrics_shown(at)[:5])


def assert_lead_kpis(at: Any, s: speed.Spread) -> None:
    shown = lead_kpis(at)
    assert shown[t("sla.kpi.measured", "ja")] == num(s.measured)
    assert shown[t("sla.kpi.median", "ja")] == days_text(s.median, "ja")
    assert shown[t("sla.kpi.p75", "ja")] == days_text(s.q(0.75), "ja")
    assert shown[t("sla.kpi.p90", "ja")] == days_text(s.q(0.9), "ja")
    assert shown[t("sla.kpi.within", "ja")] == pct(s.within_share)


def assert_table(df: pd.DataFrame, spreads: list[speed.Spread], by: str, with_sla: bool) -> None:
    assert df[col(by)].tolist() == [group_label(s, by, "ja") for s in spreads]
    assert df[col("measured")].tolist() == [s.measured for s in spreads]
    assert df[col("excluded")].tolist() == [s.excluded for s in spreads]
    assert df[col("p50")].tolist() == pytest.approx([s.median for s in spreads])
    assert df[col("p90")].tolist() == pytest.approx([s.q(0.9) for s in spreads])
    if with_sla:
        assert df[col("within")].tolist() == [s.within for s in spreads]
        assert df[col("within_share")].tolist() == pytest.approx([s.within_share for s in spreads])


def csv_frame(data: bytes) -> pd.DataFrame:
    assert data.startswith("\ufeff".encode())
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")


def test_opens_on_the_engine_numbers(page, engine):
    (overall,) = speed.lead_to_opp(engine.con, sla_days=30)
    assert (overall.measured, overall.median) == (253, 21)
    assert_lead_kpis(page, overall)
    assert lead_kpis(page)[t("sla.kpi.within", "ja")] == "83.4%"
    source_table, close_source = tables_with(page, col("source"))
    assert_table(source_table, speed.lead_to_opp(engine.con, by="source", sla_days=30), "source", True)
    assert_table(close_source, speed.opp_to_close(engine.con, by="source"), "source", False)
    lead_owner, close_owner = tables_with(page, col("owner"))
    assert_table(lead_owner, speed.lead_to_opp(engine.con, by="owner", sla_days=30), "owner", True)
    assert_table(close_owner, speed.opp_to_close(engine.con, by="owner"), "owner", False)
    shown = dict(metrics_shown(page)[5:10])
    (closed,) = speed.opp_to_close(engine.con)
    assert shown[t("sla.kpi.median", "ja")] == days_text(closed.median, "ja")
    won = next(s for s in speed.opp_to_close(engine.con, by="outcome") if s.group == "won")
    assert shown[t("sla.kpi.median_won", "ja")] == days_text(won.median, "ja")


def test_exclusions_are_reported_never_dropped(page, engine):
    (closed,) = speed.opp_to_close(engine.con)
    text = " ".join(x.value for x in page.caption)
    assert "商談化したリード 253 件のうち、計測 253 件・除外 0 件" in text
    # The sample's won deals have no won date: the close date stands in, and the page says how often.
    assert closed.fallback == 69 and "完了予定日で代用した受注: 69 件" in text


def test_sla_days_change_the_share(page, engine):
    page.number_input(key="sla_days").set_value(14).run()
    assert not page.exception
    (overall,) = speed.lead_to_opp(engine.con, sla_days=14)
    assert_lead_kpis(page, overall)
    assert lead_kpis(page)[t("sla.kpi.within", "ja")] != "83.4%"
    lead_owner = tables_with(page, col("owner"))[0]
    assert_table(lead_owner, speed.lead_to_opp(engine.con, by="owner", sla_days=14), "owner", True)


def test_mql_basis(page, engine):
    page.radio(key="sla_basis").set_value("mql").run()
    assert not page.exception
    (overall,) = speed.lead_to_opp(engine.con, basis="mql", sla_days=30)
    assert overall.no_start == 15                                   # converted leads without an MQL date
    assert_lead_kpis(page, overall)
    warned = " ".join(x.value for x in page.warning)
    assert f"計測 {num(overall.measured)} 件・除外 15 件（MQL日なし 15" in warned


def test_stuck_list(page, engine, downloads):
    stuck = speed.stuck(engine.con, AS_OF, 90)
    shown = dict(metrics_shown(page))
    assert shown[t("sla.stuck.kpi.open", "ja")] == num(stuck.open) == "74"
    assert shown[t("sla.stuck.kpi.stuck", "ja", days="90")] == num(stuck.total) == "12"
    assert shown[t("sla.stuck.kpi.amount", "ja")] == yen(stuck.amount)
    name = t("sla.stuck.col.deal_name", "ja")
    (df,) = tables_with(page, name)
    assert df[name].tolist() == [r["deal_name"] for r in stuck.items]
    age = t("sla.stuck.col.age_days", "ja")
    assert df[age].tolist() == [r["age_days"] for r in stuck.items] and min(df[age]) > 90
    got = csv_frame(downloads["stuck_opportunities_p1.csv"])
    assert got[name].tolist() == df[name].tolist() and got[age].tolist() == df[age].tolist()


def test_stuck_days_and_as_of_change_the_list(page, engine):
    page.number_input(key="sla_stuck_days").set_value(60).run()
    assert not page.exception
    at60 = speed.stuck(engine.con, AS_OF, 60)
    assert dict(metrics_shown(page))[t("sla.stuck.kpi.stuck", "ja", days="60")] == num(at60.total)
    assert at60.total > 12
    page.date_input(key="sla_as_of").set_value(dt.date(2026, 1, 31)).run()
    assert not page.exception
    earlier = speed.stuck(engine.con, dt.date(2026, 1, 31), 60)
    assert dict(metrics_shown(page))[t("sla.stuck.kpi.stuck", "ja", days="60")] == num(earlier.total)
    assert earlier.after_as_of > 0
    assert f"基準日より後に作成された {num(earlier.after_as_of)} 件" in " ".join(x.value for x in page.caption)


def test_stuck_list_pages_and_full_download(page, engine, downloads):
    page.number_input(key="sla_stuck_days").set_value(0).run()
    everything = speed.stuck(engine.con, AS_OF, 0, page_size=1000)
    assert everything.total > speed.PAGE_SIZE                       # two pages
    name = t("sla.stuck.col.deal_name", "ja")
    first = tables_with(page, name)[0]
    assert len(first) == speed.PAGE_SIZE
    assert any(f"**{num(everything.total)}** 件中 1–50 件目（1 / 2 ページ）" in x.value for x in page.markdown)
    page.button(key="stuck_next").click().run()
    second = tables_with(page, name)[0]
    assert first[name].tolist() + second[name].tolist() == [r["deal_name"] for r in everything.items]
    rows = list(csv.reader(io.StringIO(downloads["stuck_opportunities_all.csv"].decode("utf-8-sig"))))
    assert len(rows) == 1 + everything.total
    assert [r[0] for r in rows[1:]] == [r["deal_name"] for r in everything.items]


def test_downloads_hold_the_tables(page, downloads):
    for name, first, index in (("lead_to_opportunity_by_source.csv", col("source"), 0),
                               ("lead_to_opportunity_by_owner.csv", col("owner"), 0),
                               ("opportunity_to_close_by_owner.csv", col("owner"), 1),
                               ("opportunity_to_close_by_source.csv", col("source"), 1)):
        shown = tables_with(page, first)[index]
        got = csv_frame(downloads[name])
        assert list(got.columns) == list(shown.columns)
        pd.testing.assert_frame_equal(got, shown.reset_index(drop=True), check_dtype=False)


def test_definitions_are_beside_the_numbers(page):
    text = " ".join(x.value for x in page.markdown)
    assert "日数 ＝ 紐付いた商談のうち最も早い商談の作成日 −（リード作成日）" in text
    assert "マイナスは 0 日に丸めず除外します" in text
    assert "受注は受注日、なければ完了予定日" in text


def test_english(page):
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert [x.value for x in page.title] == ["SLA & speed"]
    assert {"Measured", "Half done within", "9 in 10 done within", "Within SLA"} <= {x.label for x in page.metric}


def test_upload_without_mql_dates_counts_from_lead_creation(app):
    ma = ("メールアドレス,リードソース,作成日\na@x.jp,展示会,2025/04/01\nb@x.jp,Web広告,2025/04/02\n").encode()
    sfa = ("商談 ID,フェーズ,メールアドレス,作成日,完了予定日\nO1,6.受注,a@x.jp,2025/04/11,2025/05/01\n"
           "O2,3.提案,b@x.jp,,2025/06/30\n").encode()
    app.file_uploader(key="up_ma").set_value(("leads.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("deals.csv", sfa, "text/csv")).run()
    app.switch_page("views/sla.py").run()
    assert not app.exception
    assert app.radio(key="sla_basis").options == [t("sla.basis.created", "ja")]
    assert t("sla.no_mql_dates", "ja") in [x.value for x in app.caption]
    # b's opportunity has no creation date: counted as excluded, not dropped.
    assert any("除外 1 件（リード作成日なし 0・商談の作成日なし 1" in x.value for x in app.warning)
    assert any("作成日のない進行中の商談 1 件" in x.value for x in app.caption)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_plain_words_first_statistics_inside_definitions(page, engine, lang):
    """Issue 16 item 7: "half done within N days", not "median"; P25/P75/P90 only in 定義."""
    page.session_state["lang"] = lang
    page.run()
    assert not page.exception
    shown = shown_outside_definitions(page)
    terms = ("中央値", "パーセンタイル", "P10", "P25", "P50", "P75", "P90", "Median", "median", "percentile")
    assert [w for w in terms if w in shown] == []
    (overall,) = speed.lead_to_opp(engine.con, sla_days=30)
    metrics = lead_kpis(page)
    assert metrics[t("sla.kpi.median", lang)] == days_text(overall.median, lang)
    assert metrics[t("sla.kpi.p90", lang)] == days_text(overall.q(0.9), lang)
    inside = " ".join(x.value for x in page.markdown)
    assert "P90" in inside and ("中央値" in inside if lang == "ja" else "median" in inside)
