"""``python -m bench.activity``: behaviour history at scale (issue 18).

Generates (fixed seed) the MA/SFA workload of :mod:`bench.workload` and activity exports of
``--events`` rows over ``--files`` CSV files (every file within the ``max_rows`` limit of one
file), keyed by the leads' emails (3% unknown people, 1% rows without a date), then runs
``python -m funnel analyze --json`` with and without ``--activity`` in its own process and
reports wall time and peak resident memory (RSS) of each, and the activity counts; then the
same analysis step by step (:mod:`bench.activity_phases`), so reading and measuring are
reported apart: ``read`` (MA + SFA), ``read_activity``, ``build`` (normalise, link, stage and
attach the events) and ``measure``. ``--decay`` adds a time-decay run.

The activity files are written by DuckDB (a Python loop would take minutes for 20M rows);
this is the benchmark's data, not the engine's, which reads them like any export.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

from bench.workload import generate

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
TYPES = ["Webページ訪問", "資料ダウンロード", "メール開封", "メールクリック", "セミナー参加", "フォーム送信",
         "価格ページ閲覧", "展示会来場"]
CAMPAIGNS = ["ウェビナー2025春", "展示会2025", "メルマガ4月", "Web広告A", "", "", "", ""]


def write_activity(out: Path, people: int, events: int, files: int, seed: float = 0.18) -> list[Path]:
    """``files`` CSVs of ``events`` rows in total (SATORI-like Japanese headers)."""
    con = duckdb.connect(config={"threads": 2, "memory_limit": "1GB"})
    con.execute("SELECT setseed(?)", [seed])
    paths = []
    per = -(-events // files)
    for f in range(files):
        n = min(per, events - f * per)
        path = out / f"activity_{f + 1}.csv"
        paths.append(path)
        if path.exists():
            continue
        con.execute(f"""
            COPY (SELECT CASE WHEN p % 100 < 3 THEN 'nobody' || p || '@else.example.jp'
                              ELSE 'user' || (p % $people) || '@company' || ((p % $people) % 5000)
                                   || '.example.co.jp' END AS "メールアドレス",
                         CASE WHEN r % 100 = 7 THEN ''
                              ELSE strftime(TIMESTAMP '2025-01-01' + to_minutes((r % 525600)::BIGINT),
                                            '%Y/%m/%d %H:%M') END AS "日時",
                         $types[1 + (r % {len(TYPES)})::INTEGER] AS "アクション",
                         $campaigns[1 + ((r // 7) % {len(CAMPAIGNS)})::INTEGER] AS "キャンペーン",
                         '/lp/' || (r % 50) AS "ページURL"
                  FROM (SELECT (random() * $people * 1.03)::BIGINT AS p, (random() * 1e12)::BIGINT AS r
                        FROM range({n})))
            TO '{path.as_posix()}' (HEADER, DELIMITER ',')""",
                    {"people": people, "types": TYPES, "campaigns": CAMPAIGNS})
    con.close()
    return paths


def measure(cmd: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(HERE / "_child.py"), *cmd], capture_output=True, text=True,
                         cwd=ROOT)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.activity", description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--out", type=Path, default=ROOT / "bench_out")
    ap.add_argument("--decay", action="store_true", help="also time --model time_decay")
    args = ap.parse_args(argv)
    d = args.out / f"data_{args.leads}"
    paths = generate(d, args.leads) if not (d / "ma_leads.csv").exists() else None
    ma = paths.ma_csv if paths else d / "ma_leads.csv"
    sfa = paths.sfa_csv if paths else d / "sfa_opportunities.csv"
    act_dir = args.out / f"activity_{args.leads}_{args.events}"
    act_dir.mkdir(parents=True, exist_ok=True)
    acts = write_activity(act_dir, max(1, int(args.leads * 0.9)), args.events, args.files)
    base = [sys.executable, "-m", "funnel", "analyze", "--ma", str(ma), "--sfa", str(sfa), "--json"]
    runs = [("analyze (no activity)", measure(base)),
            ("analyze --activity (position)", measure([*base, "--activity", *map(str, acts)]))]
    if args.decay:
        runs.append(("analyze --activity --model time_decay",
                     measure([*base, "--activity", *map(str, acts), "--model", "time_decay"])))
    phases_file = args.out / f"activity_phases_{args.leads}_{args.events}.json"
    stepwise = measure([sys.executable, "-m", "bench.activity_phases", str(phases_file), "--ma", str(ma),
                        "--sfa", str(sfa), "--activity", *map(str, acts)])
    runs.append(("the same, step by step (bench.activity_phases)", stepwise))
    found = json.loads(phases_file.read_text(encoding="utf-8")) if stepwise["rc"] == 0 else {"phases": {}, "activity": {}}
    lines = [f"# Behaviour history: {args.leads:,} leads, {args.events:,} activity rows in {args.files} files", "",
             "| run | wall s | peak RSS MB |", "| --- | ---: | ---: |"]
    for name, r in runs:
        lines.append(f"| {name} | {r['wall']:.1f} | {r['rss_mb']:.0f} |" + ("" if r["rc"] == 0 else f" rc={r['rc']}"))
    lines += ["", "| phase (step by step) | s |", "| --- | ---: |"]
    lines += [f"| {name} | {sec:.1f} |" for name, sec in found["phases"].items()]
    lines += ["", f"activity: {json.dumps(found['activity'])}", ""]
    text = "\n".join(lines)
    (args.out / f"activity_report_{args.leads}.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
