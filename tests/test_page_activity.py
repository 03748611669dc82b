"""The 行動履歴 page and the activity part of the upload page as a user sees them (AppTest on
the bundled sample, which opens with sample_data/activity_log.csv loaded): the row accounting,
the lead timeline, the MQL hand-off list (masking, downloads) and behaviour → 商談化率.

Reference numbers are computed another way: from the CSV itself with pandas (the accounting,
one lead's events), and in pandas from the built tables (``events``, ``leads``, ``links``,
``opps``) for the hand-off list and the behaviour rates, not by the page's SQL.
"""

from __future__ import annotations

import io
import tomllib
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.measures.metrics import wilson
from funnel.model import saved
from funnel.model.workspace import Workspace
from funnel.present.format import num
from tests.conftest import SAMPLE, switch_to

CSV = SAMPLE / "activity_log.csv"
DATA = SAMPLE.parent / "funnel" / "data"
PERSON = "watanabe.kenta@tokiwa-foods.example.co.jp"


@pytest.fixture(scope="module")
def engine(sample_activity_ws: Workspace) -> Workspace:
    return sample_activity_ws


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(CSV, encoding="cp932", dtype=str, keep_default_na=False)


def table(engine: Workspace, name: str) -> pd.DataFrame:
    return engine.con.execute(f"SELECT * FROM {name}").df()


@pytest.fixture
def page(app: Any, downloads: dict[str | None, Any]) -> Any:
    return switch_to(app, "views/activity.py", "行動履歴")


def c(key: str) -> str:
    return t(f"activity.col.{key}", "ja")


def frame_with(at: Any, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def test_upload_page_accounts_for_every_activity_row(app: Any, raw: pd.DataFrame) -> None:
    assert not app.exception, app.exception
    acc = frame_with(app, t("upload.accounting.events", "ja")).iloc[0]
    blank = (raw.iloc[:, 0].str.strip() == "") | (raw.iloc[:, 1].str.strip() == "")
    assert acc[t("upload.accounting.file_rows", "ja")] == len(raw) == 10_660
    assert acc[t("upload.accounting.set_aside", "ja")] == 0
    assert acc[t("upload.accounting.rows_without_key", "ja")] == int(blank.sum()) == 462
    assert acc[t("upload.accounting.events", "ja")] == len(raw) - int(blank.sum())
    assert acc[t("upload.accounting.events_unlinked", "ja")] == 0
    assert acc[t("upload.accounting.balanced", "ja")] == "✅"
    # The rows that are no event are listed, with why, and the list has as many rows.
    nokey = [d.value for d in app.dataframe if t("upload.col.reason", "ja") in d.value.columns
             and d.value[t("upload.col.reason", "ja")].isin([t("upload.nokey.activity_no_key", "ja"),
                                                              t("upload.nokey.activity_no_date", "ja")]).all()]
    assert len(nokey) == 1 and len(nokey[0]) == 462
    reasons = nokey[0][t("upload.col.reason", "ja")].value_counts()
    assert reasons[t("upload.nokey.activity_no_key", "ja")] == int((raw.iloc[:, 0].str.strip() == "").sum())
    # A mapping tab for the activity files, with its fields.
    assert t("side.activity", "ja") in [x.label for x in app.tabs]


def test_page_headline_is_the_engines_accounting(page: Any, engine: Workspace) -> None:
    a = engine.build_result.activity
    shown = {m.label: m.value for m in page.metric}
    assert shown[t("activity.kpi.rows", "ja")] == num(a.rows)
    assert shown[t("activity.kpi.events", "ja")] == num(a.events)
    assert shown[t("activity.kpi.leads", "ja")] == num(a.leads_with_events) == num(2622)


def test_timeline_of_a_person_holds_their_rows_in_order(page: Any, raw: pd.DataFrame, engine: Workspace,
                                                        downloads: dict) -> None:
    page.text_input(key="activity_search").set_value("常盤食品").run()
    assert not page.exception, page.exception
    picker = page.selectbox(key="activity_person")
    found = [i for i, o in enumerate(picker.options) if PERSON in o and "行動 12 件・商談 1 件" in o]
    assert len(found) == 1
    picker.set_value(found[0]).run()
    assert not page.exception, page.exception
    mine = raw[raw.iloc[:, 0].str.strip().str.lower() == PERSON]
    ev = frame_with(page, c("counted"))
    assert len(ev) == len(mine) == 12
    assert list(ev[c("day")]) == sorted(ev[c("day")])
    assert sorted(ev[t("activity.term.activity", "ja")]) == sorted(mine.iloc[:, 2])
    opps = frame_with(page, c("stage"))
    assert list(opps[c("stage")]) == ["6.受注"]
    # Events after the opportunity's created day are shown but not counted.
    created = opps[c("created")].iloc[0]
    assert list(ev[c("counted")] == "✅") == [d <= created for d in ev[c("day")]]
    assert len(page.get("vega_lite_chart") or page.get("arrow_vega_lite_chart")) >= 1
    data = downloads["lead_timeline.csv"]
    assert data.startswith("\ufeff".encode()) and len(pd.read_csv(io.BytesIO(data))) == 12
    # The whole company: every lead of 株式会社常盤食品 found.
    page.radio(key="activity_scope").set_value("company").run()
    page.selectbox(key="activity_company").set_value("株式会社常盤食品").run()
    ev = frame_with(page, c("counted"))
    leads, events = table(engine, "leads"), table(engine, "events")
    keys = set(leads.lead_key[leads.company == "株式会社常盤食品"])
    assert len(keys) > 1 and len(ev) == int(events.lead_key.isin(keys).sum())


def expected_handoff(engine: Workspace, n: int) -> pd.DataFrame:
    leads, ev = table(engine, "leads"), table(engine, "events")
    mql = leads[(leads.mql_at.notna() | (leads.status_level >= 1)) & ~(leads.sql_at.notna() | (leads.status_level >= 2))
                & (leads.n_opps == 0)]
    words = [p["word"] for p in tomllib.loads((DATA / "activity.toml").read_text(encoding="utf-8"))["passive"]]
    passive = ev.activity.fillna("").str.lower().apply(lambda a: any(w.lower() in a for w in words))
    ev = ev[~passive & ev.lead_key.isin(mql.lead_key)].sort_values(["day", "pos"], ascending=False)
    last = {k: list(g.activity[:n]) for k, g in ev.groupby("lead_key", sort=False)}
    total = ev.groupby("lead_key").size()
    return pd.DataFrame({"lead_key": mql.lead_key, "email": mql.email_raw,
                         "total": [int(total.get(k, 0)) for k in mql.lead_key],
                         "last": [last.get(k, []) for k in mql.lead_key]})


def test_handoff_list_is_every_current_mql_with_its_latest_actions(page: Any, engine: Workspace,
                                                                  downloads: dict) -> None:
    page.number_input(key="activity_last_n").set_value(2).run()
    assert not page.exception, page.exception
    want = expected_handoff(engine, 2)
    shown = frame_with(page, c("actions"))
    assert len(shown) == len(want) == 590
    by_email = dict(zip(want.email, zip(want.total, want["last"], strict=True), strict=True))
    for _, row in shown.iterrows():
        total, last = by_email[row[c("email")]]
        assert row[c("actions_total")] == total
        acts = [a.split(" ", 1)[1].split("（")[0] for a in row[c("actions")].split(" / ")] if row[c("actions")] else []
        assert acts == last
    # Most recently active first.
    days = [d for d in shown[c("last_day")] if d is not None and not pd.isna(d)]
    assert days == sorted(days, reverse=True)
    csv = downloads["mql_handoff.csv"]
    assert csv.startswith("\ufeff".encode())
    assert len(pd.read_csv(io.BytesIO(csv))) == 590
    assert "mql_handoff.xlsx" in downloads


def test_masking_applies_to_the_handoff_list_and_its_download(page: Any, downloads: dict) -> None:
    page.session_state["mask_pii"] = True
    page.run()
    shown = frame_with(page, c("actions"))
    emails = [e for e in shown[c("email")] if isinstance(e, str)]
    assert emails and all("***" in e for e in emails)
    assert all("***" in n for n in shown[c("name")] if isinstance(n, str) and n)
    got = pd.read_csv(io.BytesIO(downloads["mql_handoff.csv"]))
    assert all("***" in e for e in got[c("email")].dropna())


def test_behaviour_rates_equal_a_count_in_pandas(page: Any, engine: Workspace) -> None:
    leads, ev, links, opps = (table(engine, n) for n in ("leads", "events", "links", "opps"))
    cut = links.merge(opps[["opp_key", "created_at"]], on="opp_key").groupby("lead_key").created_at.min().dt.normalize()
    ev = ev[ev.lead_key.notna()].copy()
    ev["cut"] = ev.lead_key.map(cut)
    counted = ev[ev.cut.isna() | (pd.to_datetime(ev.day) <= ev.cut)]
    converted = set(leads.lead_key[leads.n_opps > 0])
    total, total_conv = len(leads), len(converted)
    shown = frame_with(page, c("ci_low"))
    assert len(shown) == counted.activity.nunique()
    for _, row in shown.iterrows():
        did = set(counted.lead_key[counted.activity == row[t("activity.term.activity", "ja")]])
        k = len(did & converted)
        assert row[c("leads")] == len(did) and row[c("converted")] == k
        assert row[c("rate")] == pytest.approx(k / len(did))
        assert (row[c("ci_low")], row[c("ci_high")]) == pytest.approx(wilson(k, len(did)))
        without = (total_conv - k) / (total - len(did))
        assert row[t("activity.term.rate_without", "ja")] == pytest.approx(without)
        assert row[t("activity.term.lift", "ja")] == pytest.approx(round(k / len(did) / without, 2))


def test_behaviour_by_campaign_equals_a_count_in_pandas(page: Any, engine: Workspace,
                                                       downloads: dict[str | None, Any]) -> None:
    page.radio(key="activity_behaviour_by").set_value("campaign").run()
    assert not page.exception, page.exception
    leads, ev, links, opps = (table(engine, n) for n in ("leads", "events", "links", "opps"))
    cut = links.merge(opps[["opp_key", "created_at"]], on="opp_key").groupby("lead_key").created_at.min().dt.date
    ev = ev[ev.lead_key.notna() & ev.campaign.notna()].copy()
    ev["cut"] = pd.to_datetime(ev.lead_key.map(cut))
    counted = ev[ev.cut.isna() | (pd.to_datetime(ev.day) <= ev.cut)]
    converted = set(leads.lead_key[leads.n_opps > 0])
    shown = next(d.value for d in page.dataframe if d.value.columns[0] == c("campaign"))
    assert len(shown) == counted.campaign.nunique() > 10           # the sample has dozens of campaigns
    assert list(shown[c("leads")]) == sorted(shown[c("leads")], reverse=True)
    for _, row in shown.iterrows():
        did = set(counted.lead_key[counted.campaign == row[c("campaign")]])
        k = len(did & converted)
        assert row[c("leads")] == len(did) and row[c("converted")] == k
        without = (len(converted) - k) / (len(leads) - len(did))
        assert row[t("activity.term.rate_without", "ja")] == pytest.approx(without)
    assert any("キャンペーン「" in x.value for x in page.success)
    got = pd.read_csv(io.BytesIO(downloads["behaviour_opportunity_rate_by_campaign.csv"]))
    assert len(got) == len(shown)


def test_english(page: Any) -> None:
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception, page.exception
    assert [x.value for x in page.title] == ["Behaviour history"]


def test_saved_file_keeps_the_activity_files(engine: Workspace) -> None:
    data = saved.save_bytes(engine)
    w = Workspace()
    try:
        restored = saved.restore(w, data, "x.funnel")
        assert [lt.report.file for lt in restored.files["activity"]] == ["activity_log.csv"]
        assert w.build_result.activity == engine.build_result.activity
    finally:
        w.close()
