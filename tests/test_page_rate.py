"""The 商談化率 page as a user sees it (AppTest on the bundled sample data): the numbers in its
tables are the engine's, the filters change them as the engine says they should, the
downloads hold exactly what is shown, and the drill-down pages through the leads.

The reference numbers come from a workspace built here from the same sample files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.ingest.reader import Source
from funnel.measures import benchmarks as bm
from funnel.measures import cohorts, drill
from funnel.measures import metrics as m
from funnel.model.workspace import Workspace
from funnel.present.format import num, source_label
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(sample_ws: Workspace) -> Workspace:
    return sample_ws


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str | None, Any]:
    """What each download button hands the browser, by file name (callables kept as given).

    AppTest discards its media store after each run, so the payload is taken where the page
    passes it to ``st.download_button``.
    """
    import streamlit as st

    captured: dict[str | None, Any] = {}
    real = st.download_button

    def spy(label: str, data: Any, file_name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        captured[file_name] = data
        return real(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    return captured


def open_page(page: str) -> Any:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # Caches outlive an AppTest within one pytest process.
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def page(downloads: dict[str | None, Any]) -> Any:
    at = open_page("views/rate.py")
    assert [x.value for x in at.title] == ["商談化率"]
    return at


def frame_with(at: Any, column: str) -> pd.DataFrame:
    """The table on the page whose first column is ``column``."""
    found = [d.value for d in at.dataframe if d.value.columns[0] == column]
    assert len(found) == 1, [d.value.columns[0] for d in at.dataframe]
    return found[0]


def col(key: str) -> str:
    return t(f"rate.col.{key}", "ja")


def shown_rates(at: Any) -> dict[str, tuple[Any, ...]]:
    df = frame_with(at, col("source"))
    return {r[col("source")]: (r[col("leads")], r[col("converted")], r[col("rate")], r[col("ci_low")],
                               r[col("ci_high")], r[col("small")]) for _, r in df.iterrows()}


def expected_rates(rates: list[m.Rate]) -> dict[str, tuple[Any, ...]]:
    return {source_label(r.group, "ja"): (r.leads, r.converted, r.rate, *r.ci, r.small_sample) for r in rates}


def assert_same(shown: dict[str, tuple[Any, ...]], expected: dict[str, tuple[Any, ...]]) -> None:
    assert shown.keys() == expected.keys()
    for key, row in expected.items():
        assert shown[key][:2] == row[:2], key
        assert shown[key][2:5] == pytest.approx(row[2:5]), key
        assert bool(shown[key][5]) == row[5], key


def metrics_shown(at: Any) -> dict[str, str]:
    return {x.label: x.value for x in at.metric}


def csv_frame(data: bytes | Callable[[], bytes]) -> pd.DataFrame:
    data = data() if callable(data) else data      # tables' CSVs are built on click too
    assert data.startswith("\ufeff".encode())                      # Excel-friendly BOM
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")


def test_opens_on_the_engine_numbers(page, engine):
    assert_same(shown_rates(page), expected_rates(m.by_source(engine.con)))
    overall = m.overall(engine.con)
    shown = metrics_shown(page)
    assert shown[t("rate.kpi.leads", "ja")] == num(overall.leads) == "2,865"
    assert shown[t("rate.kpi.converted", "ja")] == num(overall.converted)
    assert shown["商談化率"] == "8.8%"
    lo, hi = overall.ci
    assert shown["95%信頼区間"] == f"{lo * 100:.1f}% – {hi * 100:.1f}%"
    # The band is for ad-sourced leads: it is compared with the ad sources' rate (Web広告 on
    # the sample), not with the overall rate; the target with the overall rate.
    text = " ".join(x.value for x in page.markdown)
    ad = [r for r in m.by_source(engine.con) if r.group in bm.ad_sources([x.group for x in m.by_source(engine.con)])]
    assert [r.group for r in ad] == ["Web広告"]
    a = ad[0]
    assert f"広告経由のソース（Web広告、{num(a.leads)}件）の商談化率は {a.rate * 100:.1f}%" in text
    assert f"95%信頼区間 {a.ci[0] * 100:.1f}%–{a.ci[1] * 100:.1f}%" in text
    assert "一般的な水準" in text and "広告経由のリードの商談化率 11%–20%" in text
    assert "届いていません" in text


def test_touch_switch_changes_the_numbers(page, engine):
    page.radio(key="touch").set_value("last").run()
    assert not page.exception
    last = expected_rates(m.by_source(engine.con, m.Filters(touch="last")))
    assert last != expected_rates(m.by_source(engine.con))          # the sample's touches differ
    assert_same(shown_rates(page), last)


def test_date_range_changes_the_numbers(page, engine):
    start, end = dt.date(2025, 10, 1), dt.date(2025, 12, 31)
    page.date_input(key="date_range").set_value((start, end)).run()
    assert not page.exception
    f = m.Filters(date_from=start, date_to=end)
    assert_same(shown_rates(page), expected_rates(m.by_source(engine.con, f)))
    assert metrics_shown(page)[t("rate.kpi.leads", "ja")] == num(m.overall(engine.con, f).leads)
    months = frame_with(page, col("month"))[col("month")].tolist()
    assert months == ["2025-10", "2025-11", "2025-12"]


def test_source_filter_changes_the_numbers(page, engine):
    page.multiselect(key="sources").set_value(["展示会", ""]).run()     # "" = leads without a source
    assert not page.exception
    f = m.Filters(sources=("展示会", None))
    assert_same(shown_rates(page), expected_rates(m.by_source(engine.con, f)))
    assert metrics_shown(page)[t("rate.kpi.leads", "ja")] == num(726 + 56)


def test_new_uploads_replace_the_numbers_kept_for_the_old_data(page):
    """The page's reads are kept between reruns (Workspace.remember): after other exports are
    uploaded, it shows their numbers, not the sample's."""
    ma = "メールアドレス,流入元\na@x.jp,展示会\nb@x.jp,展示会\nc@x.jp,紹介\n".encode()
    sfa = "商談 ID,フェーズ,メール\nO1,7.失注,a@x.jp\n".encode()
    page.switch_page("views/upload.py").run()
    page.file_uploader(key="up_ma").set_value(("ma.csv", ma, "text/csv")).run()
    page.file_uploader(key="up_sfa").set_value(("sfa.csv", sfa, "text/csv")).run()
    page.switch_page("views/rate.py").run()
    assert not page.exception
    with Workspace() as ws:
        ws.load("ma", Source.from_bytes("ma.csv", ma))
        ws.load("sfa", Source.from_bytes("sfa.csv", sfa))
        ws.build()
        assert_same(shown_rates(page), expected_rates(m.by_source(ws.con)))
    assert metrics_shown(page)[t("rate.kpi.leads", "ja")] == "3"
    assert page.multiselect(key="sources").options == ["展示会", "紹介"]


def test_charts_are_built_again_only_when_their_inputs_change(page, monkeypatch):
    """A chart's spec is kept while its inputs repeat: a drill-down click draws the same two
    charts without building them; a new target builds them again, with the new line."""
    import funnel.present.charts.rate as charts

    built: list[str] = []
    for name in ("build_rate_by_source", "build_rate_by_month"):
        real = getattr(charts, name)

        def counting(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            built.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(charts, name, counting)
    page.run()
    before = [c.proto.spec for c in page.get("vega_lite_chart")]
    assert sorted(built) == ["build_rate_by_month", "build_rate_by_source"]
    page.button(key="drill_next").click().run()
    assert not page.exception and len(built) == 2
    assert [c.proto.spec for c in page.get("vega_lite_chart")] == before
    page.number_input(key="target_rate").set_value(12.5).run()
    assert len(built) == 4
    after = [c.proto.spec for c in page.get("vega_lite_chart")]
    assert all(a != b for a, b in zip(after, before, strict=True))


def test_target_is_editable(page):
    page.number_input(key="target_rate").set_value(5.0).run()
    assert not page.exception
    (rate,) = [x for x in page.metric if x.label == "商談化率"]
    assert rate.proto.delta == "+3.8pt"
    assert "達成しています" in " ".join(x.value for x in page.markdown)


def test_sort_by_leads(page):
    page.radio(key="rate_sort").set_value("leads").run()
    shown = frame_with(page, col("source"))[col("leads")].tolist()
    assert shown == sorted(shown, reverse=True)


def test_downloads_hold_exactly_the_tables(page, downloads):
    for name, first in (("opportunity_rate_by_source.csv", col("source")),
                        ("opportunity_rate_by_month.csv", col("month"))):
        shown = frame_with(page, first)
        got = csv_frame(downloads[name])
        assert list(got.columns) == list(shown.columns)
        pd.testing.assert_frame_equal(got, shown.reset_index(drop=True), check_dtype=False)


def test_cohort_table_and_maturity(page, engine):
    months, rule = cohorts.cohorts(engine.con)
    df = frame_with(page, col("month"))
    assert df[col("month")].tolist() == [c.month for c in months]
    assert df[col("leads")].tolist() == [c.rate.leads for c in months]
    assert df[col("converted")].tolist() == [c.rate.converted for c in months]
    assert df[col("maturing")].tolist() == [c.maturing for c in months]
    assert rule.basis == "data" and rule.days == 29
    info = " ".join(x.value for x in page.info)
    assert "29 日以内" in info and "2026-03" in info


def test_definition_names_the_link_rule_and_filters(page, engine):
    text = " ".join(x.value for x in page.markdown)
    link = engine.build_result.link
    assert f"MA「{link.ma_column}」" in text and f"SFA「{link.sfa_column}」" in text
    assert "分母（母数）" in text and "初回接点" in text


def test_drill_down_pages_through_the_leads(page, downloads, engine):
    page.selectbox(key="drill_source").set_value("展示会").run()
    assert not page.exception
    email = t("rate.drill.col.email_raw", "ja")
    first = frame_with(page, email)
    assert len(first) == drill.PAGE_SIZE
    assert any("**726** 件中 1–50 件目（1 / 15 ページ）" in x.value for x in page.markdown)
    page_csv = csv_frame(downloads["leads_展示会_p1.csv"])
    assert page_csv[email].tolist() == first[email].tolist()
    page.button(key="drill_next").click().run()
    second = frame_with(page, email)
    assert not set(first[email]) & set(second[email])
    assert any("51–100 件目（2 / 15 ページ）" in x.value for x in page.markdown)
    # The full list is built only when asked for (a callable), and it is every lead of the source.
    everything = downloads["leads_展示会_all.csv"]
    assert callable(everything)
    rows = list(csv.reader(io.StringIO(everything().decode("utf-8-sig"))))
    assert len(rows) == 1 + 726
    assert [r[0] for r in rows[51:101]] == second[email].tolist()


def test_drill_down_filters(page):
    page.selectbox(key="drill_source").set_value("展示会").run()
    page.radio(key="drill_status").set_value("converted").run()
    assert any("**51** 件中" in x.value for x in page.markdown)
    conv = t("rate.drill.col.converted", "ja")
    assert frame_with(page, t("rate.drill.col.email_raw", "ja"))[conv].all()
    page.text_input(key="drill_search").set_value("example.jp").run()
    assert not page.exception
    shown = frame_with(page, t("rate.drill.col.email_raw", "ja"))
    assert len(shown) and shown[t("rate.drill.col.email_raw", "ja")].str.contains("example.jp").all()


def test_filters_are_kept_across_pages(page):
    page.radio(key="touch").set_value("last").run()
    page.multiselect(key="sources").set_value(["紹介"]).run()
    page.switch_page("views/stages.py").run()
    assert not page.exception
    assert [x.value for x in page.title] == ["ファネル"]
    assert page.radio(key="touch").value == "last"
    assert page.multiselect(key="sources").value == ["紹介"]
    page.switch_page("views/rate.py").run()
    assert page.radio(key="touch").value == "last" and page.multiselect(key="sources").value == ["紹介"]
    assert list(shown_rates(page)) == ["紹介"]


def test_english(page):
    # The language switch lives in app.py's sidebar, which AppTest does not list after
    # switch_page; a user's click lands in the same session-state key.
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert [x.value for x in page.title] == ["Opportunity rate"]
    assert "Lead source" in [d.value.columns[0] for d in page.dataframe]
    assert {x.label for x in page.metric} >= {"Leads (base)", "Converted leads", "Opportunity rate"}


def test_long_headers_get_their_width(page):
    """Auto-sized to their numbers, the columns cut their headers ("順位付けの商談…", "月末からの経…")."""
    import json

    from ui.widgets import HEADER_WIDTH
    widths = {}
    for d in page.dataframe:
        for name, conf in json.loads(d.proto.columns).items():
            widths[name] = conf.get("width")
    assert widths[t("rate.col.ranking_rate")] == widths[t("rate.col.age_days")] == HEADER_WIDTH
    assert HEADER_WIDTH >= 14 * len(t("rate.col.ranking_rate"))     # ~14 px per character at the table font
