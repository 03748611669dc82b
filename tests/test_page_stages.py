"""The ファネル page as a user sees it (AppTest on the bundled sample data): the stage table
and the per-source table are the engine's, the counting mode and the filters change them as
the engine says, the notes explain the numbers, a stage the exports cannot measure is shown
as such, and the downloads hold exactly what is shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.measures import metrics as m
from funnel.measures import stages
from funnel.measures.metrics import FUNNEL_STAGES
from funnel.present.format import num, source_label, stage_label
from tests import test_page_rate as rate_page
from tests.test_page_rate import csv_frame, frame_with, open_page

# The rate page's fixtures, shared: the reference workspace and the download spy.
engine = rate_page.engine
downloads = rate_page.downloads

pytestmark = pytest.mark.slow


@pytest.fixture
def page(downloads: dict[str | None, Any]) -> Any:
    at = open_page("views/stages.py")
    assert [x.value for x in at.title] == ["ファネル"]
    return at


def col(key: str, **params: Any) -> str:
    return t(f"stages.col.{key}", "ja", **params)


def steps_shown(at: Any) -> pd.DataFrame:
    return frame_with(at, col("stage"))


def assert_steps(shown: pd.DataFrame, fn: m.Funnel) -> None:
    assert shown[col("stage")].tolist() == [stage_label(s.stage, "ja") for s in fn.steps]
    for (_, row), s in zip(shown.iterrows(), fn.steps, strict=True):
        assert bool(row[col("measured")]) == s.available
        if not s.available:
            assert pd.isna(row[col("count")])
            continue
        assert row[col("count")] == s.count
        assert row[col("inferred")] == s.inferred
        assert row[col("pct_of_first")] == pytest.approx(s.pct_of_first)
        if s.pct_of_previous is None:
            assert pd.isna(row[col("pct_of_previous")])
        else:
            assert row[col("pct_of_previous")] == pytest.approx(s.pct_of_previous)


def assert_by_source(shown: pd.DataFrame, funnels: list[stages.GroupFunnel]) -> None:
    assert shown[col("source")].tolist() == [source_label(g.group, "ja") for g in funnels]
    for (_, row), g in zip(shown.iterrows(), funnels, strict=True):
        for s in g.steps:
            name = stage_label(s.stage, "ja")
            assert row[name] == s.count
            if s.stage != "lead" and s.pct_of_previous is not None:
                assert row[col("of_previous", stage=name)] == pytest.approx(s.pct_of_previous)
                assert row[col("of_first", stage=name)] == pytest.approx(s.pct_of_first)


def test_opens_on_the_engine_funnel(page, engine):
    fn = m.funnel(engine.con)
    assert_steps(steps_shown(page), fn)
    assert [s.count for s in fn.steps] == [2865, 1001, 411, 253, 59]
    # Why 35 opportunities are missing from the funnel is said in words.
    info = " ".join(x.value for x in page.info)
    assert "どのリードにも紐付かない商談が 35 件" in info
    assert_by_source(frame_with(page, col("source")), stages.funnel_by_source(engine.con))


def test_recorded_mode(page, engine):
    page.radio(key="funnel_mode").set_value("recorded").run()
    assert not page.exception
    assert_steps(steps_shown(page), m.funnel(engine.con, mode="recorded"))
    assert_by_source(frame_with(page, col("source")), stages.funnel_by_source(engine.con, mode="recorded"))
    assert "記録があるリードだけ" in " ".join(x.value for x in page.caption)


def test_touch_and_dates_change_the_numbers(page, engine):
    page.radio(key="touch").set_value("last").run()
    start, end = dt.date(2025, 7, 1), dt.date(2025, 9, 30)
    page.date_input(key="date_range").set_value((start, end)).run()
    assert not page.exception
    f = m.Filters(touch="last", date_from=start, date_to=end)
    assert_steps(steps_shown(page), m.funnel(engine.con, f))
    assert_by_source(frame_with(page, col("source")), stages.funnel_by_source(engine.con, f))
    assert steps_shown(page)[col("count")].iloc[0] == m.overall(engine.con, f).leads


def test_source_filter_narrows_the_funnel(page, engine):
    page.multiselect(key="sources").set_value(["紹介"]).run()
    assert_steps(steps_shown(page), m.funnel(engine.con, m.Filters(sources=("紹介",))))
    assert frame_with(page, col("source"))[col("source")].tolist() == ["紹介"]


def test_downloads_hold_exactly_the_tables(page, downloads):
    page.radio(key="funnel_mode").set_value("recorded").run()
    for name, first in (("funnel_recorded.csv", col("stage")), ("funnel_by_source_recorded.csv", col("source"))):
        shown = frame_with(page, first)
        got = csv_frame(downloads[name])
        assert list(got.columns) == list(shown.columns)
        pd.testing.assert_frame_equal(got, shown.reset_index(drop=True), check_dtype=False)


def test_heat_table_value_switch(page):
    page.radio(key="stages_value").set_value("first").run()
    assert not page.exception
    assert len(page.get("vega_lite_chart")) == 2


def test_stage_the_exports_cannot_measure(downloads):
    at = open_page("views/upload.py")
    # Leads with neither an MQL/SQL date nor a status: those two stages cannot be measured.
    at.file_uploader(key="up_ma").set_value(("leads.csv", b"email,lead source\na@x.jp,Web\nb@x.jp,Web\n"
                                                          b"c@x.jp,Event\n", "text/csv")).run()
    at.file_uploader(key="up_sfa").set_value(("deals.csv", b"deal id,stage,email\n1,Closed Won,a@x.jp\n"
                                                           b"2,Proposal,c@x.jp\n", "text/csv")).run()
    assert not at.exception
    at.switch_page("views/stages.py").run()
    assert not at.exception
    shown = steps_shown(at)
    assert shown[col("measured")].tolist() == [True, False, False, True, True]
    assert shown[col("count")].isna().tolist() == [False, True, True, False, False]   # not shown as 0
    assert shown[col("pct_of_previous")].iloc[3] == pytest.approx(2 / 3)             # 商談 vs leads
    info = " ".join(x.value for x in at.info)
    assert "MQL の段階は、エクスポートに日付もステータスもないため測れません" in info
    assert "SQL の段階は" in info


def test_english(page):
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert [x.value for x in page.title] == ["Stage funnel"]
    assert steps_shown_en(page)[t("stages.col.stage", "en")].tolist() == [stage_label(s, "en") for s in FUNNEL_STAGES]
    assert "opportunities are linked to no lead" in " ".join(x.value for x in page.info)
    assert num(35) in " ".join(x.value for x in page.info)


def steps_shown_en(at: Any) -> pd.DataFrame:
    return frame_with(at, t("stages.col.stage", "en"))
