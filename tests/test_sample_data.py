"""The bundled sample data (sample_data/): the formats a user relies on, the generator's
determinism, and the engine's reading of it checked against counts computed here with plain
pandas/Python (emails normalised independently: NFKC, strip, lower-case). Last month's exports
(``sample_data/previous/``): the same formats, an earlier state of the same data, and the
comparison (funnel.measures.diff) against changes counted from the two months' files (tests/sample_months.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sample_months import PREVIOUS, count_changes, read_month

from funnel.ingest.reader import Source
from funnel.measures import diff as D
from funnel.measures.analysis import run_analysis
from funnel.model.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
MA, SFA, COST = SAMPLE / "ma_leads.csv", SAMPLE / "sfa_opportunities.xlsx", SAMPLE / "cost_by_source.csv"
FILES = ("ma_leads.csv", "sfa_opportunities.xlsx", "cost_by_source.csv", "README.md",
         "previous/ma_leads.csv", "previous/sfa_opportunities.xlsx", "activity_log.csv")
SFA_HEADER = ["商談 ID", "商談名", "取引先名", "取引先責任者: メール", "商談 所有者", "フェーズ", "金額",
              "完了予定日", "作成日", "リードソース", "失注理由"]


def generator() -> ModuleType:
    path = ROOT / "scripts" / "make_sample_data.py"
    spec = importlib.util.spec_from_file_location("make_sample_data", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def norm(cell: str) -> str | None:
    """An address as a linking key, or None when the cell holds no usable address."""
    e = unicodedata.normalize("NFKC", cell).strip().lower()
    return e if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e) else None


@pytest.fixture(scope="module")
def ma() -> pd.DataFrame:
    df = pd.read_csv(MA, encoding="cp932", dtype=str, keep_default_na=False)
    df["key"] = df["メールアドレス"].map(norm)
    return df


@pytest.fixture(scope="module")
def sheet() -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(SFA)
    assert wb.sheetnames == ["商談レポート"]
    return [tuple(r) for r in wb["商談レポート"].iter_rows(values_only=True)]


@pytest.fixture(scope="module")
def deals(sheet: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The report's table: from the header row down to the 総計 row (exclusive)."""
    top = next(i for i, r in enumerate(sheet) if r[1] == "商談 ID")
    end = next(i for i, r in enumerate(sheet) if r[1] == "総計")
    df = pd.DataFrame([r[1:] for r in sheet[top + 1:end]], columns=SFA_HEADER)
    df["key"] = df["取引先責任者: メール"].map(lambda v: norm(v) if isinstance(v, str) else None)
    return df


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The generator run afresh into a temporary folder, and the counts it returns."""
    out = tmp_path_factory.mktemp("sample")
    return out, generator().main(out)


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return run_analysis([Source.from_path(MA)], [Source.from_path(SFA)])


def test_ma_csv_is_cp932_with_crlf() -> None:
    raw = MA.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("shift_jis")           # ㈱/髙/① are CP932 extensions: plain Shift_JIS fails
    text = raw.decode("cp932")
    assert "㈱" in text and "髙" in text and "①" in text
    assert raw.count(b"\n") == raw.count(b"\r\n") > 3000
    assert text.splitlines()[0].split(",")[:4] == ["メールアドレス", "苗字", "名前", "企業名"]


def test_xlsx_is_a_formatted_report(sheet: list[tuple[Any, ...]]) -> None:
    assert all(r[0] is None for r in sheet), "column A is empty"
    assert sheet[0][1] == "商談一覧（リードソース別）"
    assert sheet[1][1].startswith("フィルタ条件: 作成日 2025/04/01")
    assert not any(sheet[2])
    assert list(sheet[3][1:]) == SFA_HEADER
    body = sheet[4:]
    total = next(i for i, r in enumerate(body) if r[1] == "総計")
    data, tail = body[:total], body[total:]
    assert all(isinstance(r[8], dt.datetime) and isinstance(r[9], dt.datetime) for r in data)
    numeric = sum(isinstance(r[7], int | float) for r in data)
    texts = [r[7] for r in data if isinstance(r[7], str)]
    assert numeric > 0.9 * len(data) and texts and all(t.startswith("¥") for t in texts)
    assert tail[0][7] == sum(r[7] for r in data if isinstance(r[7], int | float)) + sum(
        int(t.strip("¥").replace(",", "")) for t in texts)
    assert not any(tail[1])
    footer = [r[1] for r in tail[2:]]
    assert footer[:2] == ["機密情報 - 配布禁止", "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."]
    assert footer[2].startswith("作成者: ") and len(footer) == 4
    assert all(not any(r[2:]) for r in tail[1:])


def test_cost_csv_is_utf8_bom_with_plausible_cpa(ma: pd.DataFrame) -> None:
    raw = COST.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    cost = pd.read_csv(COST, encoding="utf-8-sig", dtype={"月": str})
    assert list(cost.columns) == ["月", "流入元", "費用"]
    assert cost["月"].str.fullmatch(r"2025-(0[4-9]|1[0-2])|2026-0[1-3]").all()
    regs = ma["流入元"].value_counts()
    for source, spent in cost.groupby("流入元")["費用"].sum().items():
        assert 5_000 <= spent / regs[source] <= 30_000, source


def test_generator_reproduces_the_committed_files(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    for name in FILES:
        if name.endswith(".xlsx"):        # compare the parts, not the zlib stream of this machine
            with zipfile.ZipFile(out / name) as new, zipfile.ZipFile(SAMPLE / name) as old:
                assert new.namelist() == old.namelist()
                assert all(new.read(n) == old.read(n) for n in new.namelist()), name
        else:
            assert (out / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_engine_finds_what_the_generator_made(result: dict[str, Any], generated: tuple[Path, dict[str, int]]) -> None:
    _, made = generated
    assert result["ma"]["leads"] == made["expected_leads"]
    assert result["ma"]["rows_without_key"] == made["ma_blank_email"] + made["ma_invalid_email"]
    assert result["overall"]["converted"] == made["expected_converted"]
    assert result["match"]["opportunities_linked"] == made["expected_linked"]
    assert result["match"]["opportunities_unlinked"] == made["sfa_unlinked_email"] + made["sfa_unlinked_blank_email"]
    assert result["sfa"]["rows"] - result["sfa"]["opportunities"] == made["sfa_contact_role_repeats"]
    assert result["ma"]["rows"] - result["ma"]["leads"] - result["ma"]["rows_without_key"] == made["ma_duplicate_rows"]


def test_engine_reads_the_layout(result: dict[str, Any]) -> None:
    (ma_file,), (sfa_file,) = result["files"]["ma"], result["files"]["sfa"]
    assert ma_file["encoding"].startswith("CP932") and ma_file["dropped"] == {}
    assert (sfa_file["header_row"], sfa_file["first_column"]) == (4, 2)
    # exactly the 総計 row, the blank row after it and the four footer lines
    assert sfa_file["dropped"] == {"total": 1, "blank": 1, "footer": 4}
    assert result["link"]["kind"] == "email"


def test_engine_counts_match_plain_python(result: dict[str, Any], ma: pd.DataFrame, deals: pd.DataFrame) -> None:
    keys = set(ma["key"].dropna())
    assert result["ma"]["rows"] == len(ma)
    assert result["ma"]["leads"] == len(keys)
    assert result["ma"]["rows_without_key"] == int(ma["key"].isna().sum())
    assert result["sfa"]["rows"] == len(deals)
    assert result["sfa"]["opportunities"] == deals["商談 ID"].nunique() < len(deals)
    linked = {d for d, k in zip(deals["商談 ID"], deals["key"], strict=True) if k in keys}
    assert result["match"] == {"opportunities_linked": len(linked),
                               "opportunities_unlinked": deals["商談 ID"].nunique() - len(linked)}
    converted = keys & set(deals["key"].dropna())
    assert result["overall"]["leads"] == len(keys)
    assert result["overall"]["converted"] == len(converted)
    stage = deals.drop_duplicates("商談 ID")["フェーズ"]
    won, lost = int((stage == "6.受注").sum()), int((stage == "7.失注").sum())
    assert result["outcomes"] == {"won": won, "lost": lost, "open": len(stage) - won - lost,
                                  "win_rate": won / (won + lost)}
    lost_reasons = deals.drop_duplicates("商談 ID").query("フェーズ == '7.失注'")["失注理由"]
    blank = next(x["count"] for x in result["loss_reasons"] if x["category"] == "blank")
    assert blank == int(lost_reasons.isna().sum())


def test_first_touch_sources_match(result: dict[str, Any], ma: pd.DataFrame, deals: pd.DataFrame) -> None:
    """A person's source is the one of their earliest registration (duplicates come later)."""
    keyed = ma.dropna(subset=["key"]).assign(at=lambda d: pd.to_datetime(d["登録日時"], format="%Y/%m/%d %H:%M"))
    first = keyed.sort_values("at", kind="stable").drop_duplicates("key")
    converted = set(deals["key"].dropna())
    leads = Counter(s or None for s in first["流入元"])
    conv = Counter(s or None for s in first.loc[first["key"].isin(converted), "流入元"])
    got = {r["source"]: (r["leads"], r["converted"]) for r in result["by_source"]}
    assert got == {s: (n, conv[s]) for s, n in leads.items()}


def test_sample_tells_a_believable_story(result: dict[str, Any]) -> None:
    rate = {r["source"]: r["opportunity_rate"] for r in result["by_source"]}
    assert rate["問い合わせ"] > rate["Web広告"] > rate["資料ダウンロード"] > rate["メルマガ"]
    assert rate["問い合わせ"] > 2 * rate["展示会"]
    assert 0.20 <= result["outcomes"]["win_rate"] <= 0.35
    assert 0.85 <= result["match"]["opportunities_linked"] / result["sfa"]["opportunities"] <= 0.92
    assert {x["category"] for x in result["loss_reasons"]} == {"budget", "timing", "competitor", "no_need",
                                                               "other", "blank"}


# -- last month's exports (sample_data/previous/) ----------------------------------------------

PREVIOUS_AT = dt.datetime(2026, 3, 2, 9, 15)


@pytest.fixture(scope="module")
def previous_ma() -> pd.DataFrame:
    df = pd.read_csv(PREVIOUS / "ma_leads.csv", encoding="cp932", dtype=str, keep_default_na=False)
    df["key"] = df["メールアドレス"].map(norm)
    return df


@pytest.fixture(scope="module")
def previous_sheet() -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(PREVIOUS / "sfa_opportunities.xlsx")
    assert wb.sheetnames == ["商談レポート"]
    return [tuple(r) for r in wb["商談レポート"].iter_rows(values_only=True)]


def test_previous_files_have_the_same_formats(previous_sheet: list[tuple[Any, ...]], sheet: list[tuple[Any, ...]]) -> None:
    raw = (PREVIOUS / "ma_leads.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp932")
    assert text.splitlines()[0] == MA.read_bytes().decode("cp932").splitlines()[0]
    assert raw.count(b"\n") == raw.count(b"\r\n") and "㈱" in text and "髙" in text
    assert previous_sheet[:4] == sheet[:4]             # title, filter line, blank row, header at B4
    total = next(i for i, r in enumerate(previous_sheet) if r[1] == "総計")
    footer = [r[1] for r in previous_sheet[total + 2:]]
    assert footer[0] == "機密情報 - 配布禁止" and footer[2] == "作成者: 佐藤 健一 / 2026/03/02 9:15" and len(footer) == 4
    body = previous_sheet[4:total]
    assert previous_sheet[total][7] == sum(r[7] for r in body if isinstance(r[7], int | float)) + sum(
        int(r[7].strip("¥").replace(",", "")) for r in body if isinstance(r[7], str))


def test_previous_is_an_earlier_state_of_the_same_data(previous_ma: pd.DataFrame, ma: pd.DataFrame,
                                                       previous_sheet: list[tuple[Any, ...]],
                                                       deals: pd.DataFrame) -> None:
    at = PREVIOUS_AT.strftime("%Y/%m/%d %H:%M")
    assert (previous_ma["登録日時"] < at).all()
    same = ["メールアドレス", "苗字", "名前", "企業名", "部署名", "流入元", "登録日時"]
    then = previous_ma[same].apply(tuple, axis=1)
    now = ma.loc[ma["登録日時"] < at, same].apply(tuple, axis=1)
    assert set(now) <= set(then)                       # every earlier registration, as written
    assert 0 < len(set(then) - set(now)) <= 5          # a few leads deleted since
    for day in ("MQL日", "SQL日"):                     # no date after the export
        assert (previous_ma[day] < "2026/03/02").all()
    top = next(i for i, r in enumerate(previous_sheet) if r[1] == "商談 ID")
    end = next(i for i, r in enumerate(previous_sheet) if r[1] == "総計")
    old = pd.DataFrame([r[1:] for r in previous_sheet[top + 1:end]], columns=SFA_HEADER).drop_duplicates("商談 ID")
    assert (old["作成日"] < PREVIOUS_AT).all() and set(old["商談 ID"]) <= set(deals["商談 ID"])
    now_stage = dict(zip(deals["商談 ID"], deals["フェーズ"], strict=True))
    closed = old[old["フェーズ"].isin(["6.受注", "7.失注"])]
    assert all(now_stage[d] == s for d, s in zip(closed["商談 ID"], closed["フェーズ"], strict=True))
    assert old.loc[~old["フェーズ"].isin(["6.受注", "7.失注"]), "失注理由"].isna().all()


@pytest.fixture(scope="module")
def sample_diff() -> Any:
    sides = []
    for folder in (PREVIOUS, SAMPLE):
        ws = Workspace()
        ws.load("ma", Source.from_path(folder / "ma_leads.csv"))
        ws.load("sfa", Source.from_path(folder / "sfa_opportunities.xlsx"))
        ws.build()
        sides.append(ws)
    yield D.compare(*sides), sides[1]
    for ws in sides:
        ws.close()


def test_comparison_of_the_sample_months_finds_the_planned_changes(
        sample_diff: Any, generated: tuple[Path, dict[str, int]]) -> None:
    d, cur = sample_diff
    s = d.summary
    want = count_changes(read_month(PREVIOUS), read_month(SAMPLE))
    assert {k: getattr(s, k) for k in want.counts} == want.counts
    _, made = generated                                # and the generator's own plan
    assert {k: made[f"previous_{k}"] for k in ("new_leads", "new_converted", "newly_converted", "removed_leads",
                                                "new_opps", "moved", "won", "lost")} == {
        k: want.counts[k] for k in ("new_leads", "new_converted", "newly_converted", "removed_leads", "new_opps",
                                    "moved", "won", "lost")}
    assert (made["previous_leads"], made["previous_opps"]) == (s.leads_before, s.opps_before)
    # what the page shows: every kind of change the sample is meant to demonstrate is there
    assert min(s.new_leads, s.new_converted, s.newly_converted, s.moved, s.won, s.lost, s.removed_leads) > 0
    assert s.unconverted == s.removed_opps == s.reopened == 0
    assert (s.rate_before.converted, s.rate_before.leads) == want.rate_before
    assert (s.rate_after.converted, s.rate_after.leads) == want.rate_after
    assert {r.group: (r.leads, r.converted) for r in d.new_leads_by_source} == want.new_by_source
    assert {r.group: (r.leads, r.converted) for r in d.newly_converted} == want.conv_by_source
    assert {(m.from_stage, m.to_stage): m.count for m in d.stage_moves} == want.stage_moves
    lost = D.changes(cur.con, "lost", page_size=None).items
    assert {r["deal_id"]: r["loss_reason"] for r in lost} == want.lost_reasons
    assert d.opp_method == "deal_id" and not d.notices
