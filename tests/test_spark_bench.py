"""The two-engine benchmark (``python -m bench.spark``): its JSON comparison, its process-tree
measurement and a small run. No timing is asserted (the harness reports speed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import spark as sb


def test_differ_allows_float_noise_only() -> None:
    a = {"rate": 0.1 + 0.2, "n": 3, "rows": [{"s": "x", "r": 1e-300}], "none": None}
    assert sb.differ(a, {"rate": 0.3, "n": 3, "rows": [{"s": "x", "r": 0.0}], "none": None}) is None
    assert sb.differ(a, {**a, "rate": 0.3001}) == "$.rate: 0.30000000000000004 vs 0.3001"
    assert sb.differ(a, {**a, "rows": []}) == "$.rows: 1 vs 0 items"
    assert sb.differ(a, {**a, "extra": 1}) == "$: keys ['extra']"
    assert sb.differ({"b": True}, {"b": 1}) == "$.b: True vs 1"
    assert sb.differ({"s": "1"}, {"s": 1}) == "$.s: '1' vs 1"


def test_labels_match_the_data_folders() -> None:
    assert [sb.label(n) for n in (100_000, 1_000_000, 10_000_000, 2_500)] == ["100k", "1m", "10m", "2500"]


def test_memory_and_cpu_are_summed_over_the_process_tree() -> None:
    # A parent that holds ~100 MB and starts a child that holds ~200 MB: the peak is their sum.
    child = "b = bytearray(200 * 2**20); import time; time.sleep(1.5)"
    parent = (f"import subprocess, sys; a = bytearray(100 * 2**20); "
              f"subprocess.run([sys.executable, '-c', {child!r}])")
    r = sb.measure([sys.executable, "-c", parent], interval=0.1)
    assert r["rc"] == 0 and r["rss_mb"] > 300 and r["cpu"] > 0


def test_a_run_past_its_timeout_is_stopped_with_its_children() -> None:
    r = sb.measure([sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', "
                    "'import time; time.sleep(60)'])"], timeout=1)
    assert r["rc"] == "timeout" and r["wall"] < 30


def test_small_run_writes_the_table(tmp_path: Path) -> None:
    rows = sb.run([2_000], tmp_path, "parquet", 0, None, engines=("duckdb",))
    assert [(r["leads"], r["engine"], r["rc"]) for r in rows] == [(2_000, "duckdb", 0)]
    assert (tmp_path / "2k" / "ma_leads.parquet").exists()
    assert "| 2,000 | 0 | parquet | duckdb |" in sb.render(rows)
    assert json.dumps(rows)


def test_an_export_over_the_part_size_is_read_as_parts(tmp_path: Path) -> None:
    csv = tmp_path / "ma.csv"
    csv.write_text("h\n" + "".join(f"{i}\n" for i in range(5)), encoding="utf-8")
    parts = sb._parts(csv, rows=2)
    assert [p.read_text(encoding="utf-8") for p in parts] == ["h\n0\n1\n", "h\n2\n3\n", "h\n4\n"]
    assert sb._parts(csv, rows=2) == parts          # written once, then reused
    small = tmp_path / "sfa.csv"
    small.write_text("h\n1\n", encoding="utf-8")
    assert sb._parts(small, rows=2) == [small]
