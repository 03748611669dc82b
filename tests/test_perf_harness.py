"""The benchmark harness (``python -m bench``) keeps working, and its workload means the
same thing in every encoding it is measured in.

No timing is asserted here: speed is reported by the harness, not checked by a unit test that
would flake on a busy CI machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import counts, fair_duckdb, fair_polars
from bench.workload import COMPANY, generate, to_cp932, to_xlsx, without_column
from funnel.ingest.reader import Source
from funnel.measures.analysis import run_analysis

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bench")
    paths = generate(d, 2_000)
    return {"ma": paths.ma_csv, "sfa": paths.sfa_csv,
            "cp932": to_cp932(paths.ma_csv, d / "ma_cp932.csv"),
            "xlsx": to_xlsx(paths.ma_csv, d / "ma.xlsx", 2_000),
            "ma_no_company": without_column(paths.ma_csv, d / "ma_no_company.csv", COMPANY)}


def _analyze(ma: Path, sfa: Path) -> dict:
    return run_analysis([Source.from_path(ma)], [Source.from_path(sfa)])


def _numbers(result: dict) -> dict:
    return {k: result[k] for k in ("overall", "by_source", "outcomes", "loss_reasons", "match", "link")}


def test_workload_gives_the_same_numbers_in_utf8_cp932_and_xlsx(workload: dict[str, Path]) -> None:
    utf8 = _analyze(workload["ma"], workload["sfa"])
    assert utf8["files"]["ma"][0]["rows_read"] == 2_000
    assert utf8["overall"]["leads"] > 1_500  # duplicates and invalid addresses merge or drop some
    for other in ("cp932", "xlsx"):
        result = _analyze(workload[other], workload["sfa"])
        assert result["files"]["ma"][0]["rows_read"] == 2_000, other
        assert _numbers(result) == _numbers(utf8), other


def test_the_export_without_its_company_column_is_the_fair_pipelines_job(workload: dict[str, Path]) -> None:
    """The bench's same-job run: every column but the company one as written, every row, and
    the same numbers without the accounts the contract builds from a company column."""
    full, same = _analyze(workload["ma"], workload["sfa"]), _analyze(workload["ma_no_company"], workload["sfa"])
    lines = [ln.split(",") for ln in workload["ma"].read_text(encoding="utf-8").splitlines()]
    cut = [ln.split(",") for ln in workload["ma_no_company"].read_text(encoding="utf-8").splitlines()]
    i = lines[0].index(COMPANY)
    assert len(cut) == len(lines) == 2_001
    assert [r[:i] + r[i + 1:] for r in lines if len(r) == len(lines[0])] == [r for r in cut if len(r) == len(cut[0])]
    assert "accounts" in full and "accounts" not in same
    assert _numbers(same) == _numbers(full) and counts.of_tool(same) == counts.of_tool(full)


FAIR = {"fair_duckdb": fair_duckdb.counts, "fair_polars": fair_polars.counts}


@pytest.mark.parametrize("name", FAIR)
def test_fair_pipelines_count_what_the_tool_counts_on_the_workload(workload: dict[str, Path], name: str) -> None:
    tool = counts.of_tool(_analyze(workload["ma"], workload["sfa"]))
    assert tool["rows_without_key"] > 0 and tool["outcomes"]["won"] > 0 and tool["overall"]["converted"] > 0
    counts.check(name, tool, FAIR[name](str(workload["ma"]), str(workload["sfa"])))


def _csv(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


@pytest.fixture(scope="module")
def edge_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every key rule of cli.md that the generated workload leaves out, with the numbers
    worked out by hand below."""
    d = tmp_path_factory.mktemp("edge")
    ma_header = ["メールアドレス", "会社名", "流入元", "登録日時", "スコア", "ステータス", "MQL日", "担当者"]
    ma = [["mailto:A@Ex.co.jp", "展示会", "2025/03/01 10:00"],
          ["a@ex.co.jp", "ウェビナー", "2025/02/01 10:00"],          # a's first touch
          ["山田 <B@ex.co.jp>; c@ex.co.jp", " 紹介\u3000", "2025/01/05 09:00"],   # lead b, links b and c
          ["Ｃ＠ＥＸ．ＣＯ．ＪＰ", "Web広告", "2025/01/05 09:00"],       # lead c
          ["\u00a0d@ex.co.jp\t", "", "2025/01/06 09:00"],                # source blank: null
          ["Taro (e@ex.co.jp)", "メルマガ", ""],                      # undated tie: file order
          ["e@ex.co.jp", "自然検索", ""],
          ["f@ex.co.jp", "展示会", "2025/04/01 00:00"],
          ["f@ex.co.jp", "紹介", "2025/04/01 00:00"],                # same time: file order
          ["bad@nodot", "展示会", "2025/01/01 00:00"], ["two@@ex.jp", "展示会", "2025/01/01 00:00"],
          ["@ex.jp", "展示会", "2025/01/01 00:00"], ["", "展示会", "2025/01/01 00:00"],
          ["x@bad, g@ex.co.jp", "問い合わせ", "2025/05/01 00:00"],
          ["MAILTO:h@ex.co.jp , i@ex.co.jp", "資料ダウンロード", "2025/05/02 00:00"],
          ["ｊ＠ｅｘ．ｃｏ．ｊｐ；k@ex.co.jp", "展示会", "2025/05/03 00:00"],
          ["\u3000L@EX.CO.JP\u3000", "ウェビナー", "2025/05/04 00:00"]]
    ma += [[f"p{i}@ex{i}.co.jp", "展示会", f"2025/06/{i % 28 + 1:02d} 00:00"] for i in range(40)]
    sfa_header = ["商談 ID", "商談名", "取引先責任者メールアドレス", "商談 所有者", "フェーズ", "金額", "完了予定日",
                  "作成日", "失注理由"]
    sfa = [["OPP-1", "c@ex.co.jp", "6.受注"], ["OPP-2", "i@ex.co.jp; zz@ex.co.jp", "3.提案"],
           ["OPP-2", "k@ex.co.jp", "7.失注"],               # one deal, the last row's stage
           ["", "Ｐ１＠ＥＸ１．ＣＯ．ＪＰ", "6.受注"], ["", "Sales <p2@ex2.co.jp>", "7.失注"],
           ["OPP-3", "mailto:nobody@else.jp", "2.ヒアリング"], ["OPP-4", "e@ex.co.jp", "5.交渉"]]
    sfa += [[f"OPP-{10 + i}", f"p{10 + i}@ex{10 + i}.co.jp", "6.受注" if i % 2 else "1.アプローチ"] for i in range(20)]
    return (_csv(d / "ma.csv", [ma_header] + [[e, "c", s, t, "1", "", "", ""] for e, s, t in ma]),
            _csv(d / "sfa.csv", [sfa_header] + [[i, "n", e, "o", st, "¥100", "2025/02/01", "2025/01/10", ""]
                                                for i, e, st in sfa]))


@pytest.mark.parametrize("name", ["analyze", *FAIR])
def test_every_contender_applies_the_key_rules_of_the_contract(edge_cases: tuple[Path, Path], name: str) -> None:
    ma, sfa = edge_cases
    got = counts.of_tool(_analyze(ma, sfa)) if name == "analyze" else FAIR[name](str(ma), str(sfa))
    # 17 hand-made rows give 10 leads (a b c d e f g h j l) and 4 rows without a key; 40 more, 40
    # leads. Converted: b (OPP-1 on c, an address of b's row), c, e, h (i on its row), j (k);
    # p10-p29 by ID and p1, p2 by their blank-ID rows: 5 + 22 = 27.
    assert got["overall"] == {"leads": 50, "converted": 27}
    assert got["rows_without_key"] == 4
    assert got["outcomes"] == {"won": 12, "lost": 2, "open": 12}
    assert got["by_source"] == {'"ウェビナー"': [2, 0], '"紹介"': [1, 1], '"Web広告"': [1, 1], "null": [1, 0],
                                '"メルマガ"': [1, 1], '"展示会"': [42, 23], '"問い合わせ"': [1, 0],
                                '"資料ダウンロード"': [1, 1]}


@pytest.mark.slow
def test_smoke_run_writes_a_complete_report(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--no-apptest", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    for name in ("analyze", "analyze_same_job", "fair_duckdb", "fair_polars", "least_duckdb", "pandas"):
        assert report["analyze"][name]["wall"] > 0 and report["analyze"][name]["rss_mb"] > 0
    for name in ("load_utf8", "load_cp932", "load_xlsx", "bare_decode_cp932", "bare_calamine_xlsx", "bare_checked_xlsx"):
        assert report["inputs"][name]["wall"] > 0, name
    assert report["inputs"]["xlsx_warm"]["load"] > 0 and report["inputs"]["xlsx_warm"]["bare"] > 0
    assert report["app"]["engine"]["load_and_build"] > 0
    # The harness checked the fair pipelines' counts against the tool's JSON at 10k.
    assert report["counts"]["10000"]["overall"]["leads"] > 8_000
    markdown = (tmp_path / "report.md").read_text()
    assert "| tool `analyze --json` |" in markdown and "tool ÷ fair DuckDB" in markdown
    assert "Counts checked equal in every round" in markdown
    assert "| load XLSX in a warm process" in markdown
    assert "on their job (the export without its company column)" in markdown


@pytest.mark.browser
@pytest.mark.slow
def test_browser_bench_smoke_run_writes_a_report(tmp_path: Path) -> None:
    """One click of each kind at 2,000 leads: the real-browser benchmark keeps working (its
    settled signal, its widget locators, the upload). Nothing about its times is asserted."""
    from tests.test_browser import CHROMIUM

    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright not installed (requirements-dev.txt)")
    done = subprocess.run([sys.executable, "-m", "bench.browser_bench", "--sizes", "2000", "--clicks", "1",
                           "--data", str(tmp_path), "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "browser.json").read_text())["2000"]
    assert report["upload_to_first_page_s"] > report["upload_settled_s"] > 0
    for page, kinds in (("rate", ("touch", "target_step")), ("loss", ("touch", "mode"))):
        for kind in kinds:
            assert report[page][kind]["n"] == 1 and report[page][kind]["median_s"] > 0, (page, kind)
        assert report[page]["all"]["n"] == len(kinds)
    assert report["server_peak_rss_mb"] > 100
    assert "| 2,000 |" in (tmp_path / "browser.md").read_text()
