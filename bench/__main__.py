"""``python -m bench``: the performance benchmark of issue 5.

Generates (fixed seed) an MA export of 1,000,000 leads (~120 MB UTF-8 CSV, Japanese headers,
messy emails) and an SFA export of ~100,000 opportunities, a CP932 copy and a 100,000-row XLSX,
then measures, interleaved over ``--repeat`` rounds, medians of:

1. ``python -m funnel analyze --json`` end to end, against the least DuckDB pipeline and the
   pandas script (``baseline_duckdb.py``, ``baseline_pandas.py``);
2. loading the CP932 file and the XLSX against a bare decode / bare calamine read;
3. the app: load + build, and the filter changes of the 商談化率 and 失注分析 pages
   (engine queries and whole AppTest page runs; each round a fresh process, so no click
   answers from results an earlier round kept);
4. peak memory (RSS) of each;
5. ``analyze`` at 10k, 100k and 1M leads, to show how the cost grows;
6. with ``--browser``: filter changes as the user feels them, in a real browser
   (``bench/browser_bench.py``, its own ``browser.md``).

Every command runs in its own process. ``--smoke`` runs 10k leads once (used by CI to keep the
script working; no timing is asserted anywhere). The report goes to ``bench_out/report.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.workload import generate, to_cp932, to_xlsx

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PY = sys.executable


def _measure(cmd: list[str]) -> dict[str, Any]:
    out = subprocess.run([PY, str(HERE / "_child.py"), *cmd], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result['stderr']}")
    return result


def _workload(out: Path, leads: int) -> dict[str, Path]:
    d = out / f"data_{leads}"
    paths = {"ma": d / "ma_leads.csv", "sfa": d / "sfa_opportunities.csv",
             "cp932": d / "ma_leads_cp932.csv", "xlsx": d / "ma_leads.xlsx"}
    if not all(p.exists() for p in paths.values()):
        generated = generate(d, leads)
        to_cp932(generated.ma_csv, paths["cp932"])
        to_xlsx(generated.ma_csv, paths["xlsx"], min(leads, 100_000))
    return paths


def _rounds(commands: dict[str, list[str]], repeat: int) -> dict[str, dict[str, float]]:
    """Run every command once per round (interleaved), then take medians."""
    seen: dict[str, list[dict[str, Any]]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            seen[name].append(_measure(cmd))
    return {k: {"wall": statistics.median(r["wall"] for r in v), "rss_mb": max(r["rss_mb"] for r in v),
                "runs": len(v)} for k, v in seen.items()}


def _analyze(p: dict[str, Path]) -> list[str]:
    return [PY, "-m", "funnel", "analyze", "--ma", str(p["ma"]), "--sfa", str(p["sfa"]), "--json"]


def run(sizes: list[int], repeat: int, out: Path, app: bool, apptest: bool) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    big = max(sizes)
    data = {n: _workload(out, n) for n in sizes}
    p = data[big]
    report: dict[str, Any] = {"leads": big, "repeat": repeat}
    report["analyze"] = _rounds({
        "analyze": _analyze(p),
        "duckdb_baseline": [PY, str(HERE / "baseline_duckdb.py"), str(p["ma"]), str(p["sfa"])],
        "pandas_baseline": [PY, str(HERE / "baseline_pandas.py"), str(p["ma"]), str(p["sfa"])],
    }, repeat)
    report["inputs"] = _rounds({
        "load_utf8": [PY, str(HERE / "load_only.py"), str(p["ma"])],
        "load_cp932": [PY, str(HERE / "load_only.py"), str(p["cp932"])],
        "bare_decode_cp932": [PY, str(HERE / "bare.py"), "cp932", str(p["cp932"])],
        "load_xlsx": [PY, str(HERE / "load_only.py"), str(p["xlsx"])],
        "bare_calamine_xlsx": [PY, str(HERE / "bare.py"), "xlsx", str(p["xlsx"])],
        "python_start": [PY, "-c", "import funnel.cli, funnel.measures.analysis, funnel.model.workspace"],
    }, repeat)
    report["scaling"] = {n: _rounds({"analyze": _analyze(data[n])}, repeat)["analyze"] for n in sizes}
    if app:
        cmd = [PY, str(HERE / "app_bench.py"), str(p["ma"]), str(p["sfa"])] + ([] if apptest else ["--no-apptest"])
        report["app"] = _app_rounds(cmd, repeat)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "report.md").write_text(render(report))
    return report


def _app_rounds(cmd: list[str], repeat: int) -> dict[str, Any]:
    """The app measurements ``repeat`` times, each in a fresh process (so every click is a
    first one, nothing kept from an earlier run): the median of each click, the peak RSS."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={
            **__import__("os").environ, "PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            return {"error": done.stderr[-500:]}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out: dict[str, Any] = {k: max(r[k] for r in runs) for k in ("engine_rss_mb", "rss_mb") if k in runs[0]}
    for part in ("engine", "apptest"):
        if part in runs[0]:
            out[part] = {k: statistics.median(r[part][k] for r in runs) for k in runs[0][part]}
    return out


def _s(x: float) -> str:
    return f"{x:.2f} s"


def _vs(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.1f}× faster than" if ours <= theirs else f"{ours / theirs:.1f}× slower than"


def render(r: dict[str, Any]) -> str:
    a, i = r["analyze"], r["inputs"]
    lines = [f"# Benchmark: {r['leads']:,} leads (median of {r['repeat']} interleaved runs)", "",
             "| measure | time | peak RSS | compared with |", "|---|---|---|---|"]
    base, pandas, ours = a["duckdb_baseline"]["wall"], a["pandas_baseline"]["wall"], a["analyze"]["wall"]
    lines += [f"| `analyze --json` | {_s(ours)} | {a['analyze']['rss_mb']:.0f} MB | "
              f"{ours / base:.1f}× the DuckDB baseline ({_s(base)}); {_vs(pandas, ours)} pandas "
              f"({_s(pandas)}, {a['pandas_baseline']['rss_mb']:.0f} MB) |"]
    utf8 = i["load_utf8"]["wall"]
    for kind, bare in (("cp932", "bare_decode_cp932"), ("xlsx", "bare_calamine_xlsx")):
        load, b = i[f"load_{kind}"]["wall"], i[bare]["wall"]
        extra = f"; above the UTF-8 load: {(load - utf8) / b:.2f}× the bare operation" if kind == "cp932" else ""
        lines.append(f"| load {kind.upper()} | {_s(load)} | {i[f'load_{kind}']['rss_mb']:.0f} MB | "
                     f"{load / b:.2f}× the bare {'decode' if kind == 'cp932' else 'calamine read'} ({_s(b)}){extra} |")
    lines.append(f"| load UTF-8 CSV | {_s(utf8)} | {i['load_utf8']['rss_mb']:.0f} MB | — |")
    lines.append(f"| Python start + imports | {_s(i['python_start']['wall'])} | — | — |")
    if "app" in r and "engine" in r["app"]:
        e = r["app"]["engine"]
        lines += ["", f"## App ({r['leads']:,} leads)", "", "| click | engine queries | whole page (AppTest) |", "|---|---|---|"]
        at = r["app"].get("apptest", {})
        for key, label in (("load_and_build", "upload → linked"), ("upload_sfa_first_full_page", "first full page after upload"),
                           ("rate_first_page", "open 商談化率"), ("rate_touch_last", "商談化率: touch → last"),
                           ("rate_date_range", "商談化率: date range"), ("rate_sources", "商談化率: sources"),
                           ("loss_first_page", "open 失注分析"), ("loss_touch_last", "失注分析: touch → last")):
            ev, av = e.get(key), at.get(key)
            lines.append(f"| {label} | {_s(ev) if ev is not None else '—'} | {_s(av) if av is not None else '—'} |")
        lines.append(f"\nPeak RSS of the app process: {r['app'].get('rss_mb', 0):.0f} MB.")
    lines += ["", "## Scaling of `analyze`", "", "| leads | time | per 100k leads | peak RSS |", "|---|---|---|---|"]
    for n, m in sorted(r["scaling"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {int(n):,} | {_s(m['wall'])} | {_s(m['wall'] / int(n) * 100_000)} | {m['rss_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="lead counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench_out")
    ap.add_argument("--no-app", action="store_true", help="skip the app measurements")
    ap.add_argument("--no-apptest", action="store_true", help="app: engine queries only")
    ap.add_argument("--smoke", action="store_true", help="10k leads, one round (CI)")
    ap.add_argument("--browser", action="store_true",
                    help="also filter changes in a real browser at 10k and the largest size (bench/browser_bench.py)")
    args = ap.parse_args(argv)
    sizes = [10_000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    report = run(sizes, 1 if args.smoke else args.repeat, args.out, not args.no_app, not args.no_apptest)
    sys.stdout.write(render(report))
    if args.browser:
        from bench import browser_bench

        browser = browser_bench.run(sorted({10_000, max(sizes)}), args.out, args.out, 2 if args.smoke else 10)
        sys.stdout.write(browser_bench.render(browser))
    return 0


if __name__ == "__main__":
    sys.exit(main())
