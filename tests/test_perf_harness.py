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

from bench.workload import generate, to_cp932, to_xlsx
from funnel.ingest.reader import Source
from funnel.measures.analysis import run_analysis

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bench")
    paths = generate(d, 2_000)
    return {"ma": paths.ma_csv, "sfa": paths.sfa_csv,
            "cp932": to_cp932(paths.ma_csv, d / "ma_cp932.csv"),
            "xlsx": to_xlsx(paths.ma_csv, d / "ma.xlsx", 2_000)}


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


@pytest.mark.slow
def test_smoke_run_writes_a_complete_report(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--no-apptest", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    for name in ("analyze", "duckdb_baseline", "pandas_baseline"):
        assert report["analyze"][name]["wall"] > 0 and report["analyze"][name]["rss_mb"] > 0
    for name in ("load_utf8", "load_cp932", "load_xlsx", "bare_decode_cp932", "bare_calamine_xlsx"):
        assert report["inputs"][name]["wall"] > 0, name
    assert report["app"]["engine"]["load_and_build"] > 0
    markdown = (tmp_path / "report.md").read_text()
    assert "| `analyze --json` |" in markdown and "## Scaling of `analyze`" in markdown


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
