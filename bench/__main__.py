"""``python -m bench``: the performance benchmark (issues 5 and 20).

Generates (fixed seed) MA exports of 100,000, 1,000,000 and 5,000,000 leads (the 1M one ~120
MB of UTF-8 CSV, Japanese headers, messy emails), each with an SFA export of about a tenth as
many opportunities, a CP932 copy and an XLSX of its first 100,000 rows, then measures,
interleaved over ``--repeat`` rounds, medians of:

1. at every size, ``python -m funnel analyze --json`` end to end against the two fair
   pipelines (``fair_duckdb.py``, ``fair_polars.py``: the contract's whole job, written without
   the project's code), the least DuckDB pipeline (lower/trim only) and the pandas script an
   analyst writes; and ``analyze`` on the same MA export without its company column, which is
   the fair pipelines' job (the contract builds accounts only where a company column is, and
   they build none); the counts of both fair pipelines and of that run are checked against the
   tool's JSON in every round, and the run stops if they differ;
2. the cost per 100k leads, fitted over the sizes (least squares);
3. at 1M: loading the CP932 file and the XLSX against a bare decode / a bare calamine read
   (and that read plus the far-cell safety check the engine keeps), each in a fresh process;
   and the XLSX loaded again in one process, as the app reads an upload (``load_warm.py``);
4. at 1M, the app: load + build, and the filter changes of the 商談化率 and 失注分析 pages
   (engine queries and whole AppTest page runs; each round a fresh process, so no click
   answers from results an earlier round kept);
5. peak memory (RSS) of each, and the disk DuckDB spilled to.
6. with ``--browser``: filter changes as the user feels them, in a real browser
   (``bench/browser_bench.py``, its own ``browser.md``).

The two engines (``--engine duckdb`` / ``--engine spark``, issue 21) are measured apart by
``python -m bench.spark --sizes 1000000,10000000 [--activity]`` (time, CPU and memory of the
whole process tree, the two JSON outputs checked equal; ``bench/spark_profile.py``: Spark's
time per statement).

Every command runs in its own process. ``--smoke`` runs 10k leads once (used by the tests to
keep the script working and the counts equal; no timing is asserted anywhere). The report
goes to ``bench_out/report.md`` (and ``report.json``).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import counts
from bench.report import SAME_JOB, render
from bench.workload import COMPANY, generate, to_cp932, to_xlsx, without_column

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PY = sys.executable
FAIR = ("fair_duckdb", "fair_polars")
REFERENCE = 1_000_000


def _measure(cmd: list[str]) -> dict[str, Any]:
    out = subprocess.run([PY, str(HERE / "_child.py"), *cmd], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result['stderr']}")
    return result


FILES = {"ma": "ma_leads.csv", "sfa": "sfa_opportunities.csv", "cp932": "ma_leads_cp932.csv", "xlsx": "ma_leads.xlsx",
         "ma_no_company": "ma_leads_no_company.csv"}


def workload(data: Path, leads: int) -> dict[str, Path]:
    """The workload of ``leads`` leads under ``data``, generated once and then reused.

    The two exports are written into a temporary folder beside it and renamed into place, so a
    second run (or another engineer sharing ``data``) never reads half a file; the files made
    from them are written beside their final name and renamed too, each when it is missing (a
    folder of an older harness gets the new ones without generating the exports again).
    """
    d = data / f"data_{leads}"
    if not all((d / FILES[k]).exists() for k in ("ma", "sfa")):
        data.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=data, prefix=f".data_{leads}-"))
        generate(tmp, leads)
        tmp.chmod(0o755)    # mkdtemp's folder is private: the data is shared
        try:
            tmp.rename(d)
        except OSError:   # someone else finished first: theirs is the same bytes
            shutil.rmtree(tmp)
    ma = d / FILES["ma"]
    made = {"cp932": lambda dst: to_cp932(ma, dst), "xlsx": lambda dst: to_xlsx(ma, dst, min(leads, 100_000)),
            "ma_no_company": lambda dst: without_column(ma, dst, COMPANY)}
    for key, make in made.items():
        final = d / FILES[key]
        if not final.exists():
            part = d / f".{FILES[key]}.{os.getpid()}"
            make(part)
            part.chmod(0o644)
            part.replace(final)
    return {k: d / f for k, f in FILES.items()}


def _rounds(commands: dict[str, list[str]], repeat: int) -> tuple[dict[str, dict[str, float]], dict[str, list[str]]]:
    """Run every command once per round (interleaved), then take medians; also what each run
    printed, for the count checks."""
    seen: dict[str, list[dict[str, Any]]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            seen[name].append(_measure(cmd))
    stats = {k: {"wall": statistics.median(r["wall"] for r in v), "rss_mb": max(r["rss_mb"] for r in v),
                 "spill_mb": max(r["spill_mb"] for r in v), "runs": len(v)} for k, v in seen.items()}
    return stats, {k: [r["stdout"] for r in v] for k, v in seen.items()}


def _analyze(p: dict[str, Path], ma: str = "ma") -> list[str]:
    return [PY, "-m", "funnel", "analyze", "--ma", str(p[ma]), "--sfa", str(p["sfa"]), "--json"]


def _contenders(p: dict[str, Path]) -> dict[str, list[str]]:
    """``analyze`` and what it is measured against, on one workload. Every one runs as a module
    (``-m``), so from the bytecode :func:`_bytecode` wrote, as the tool does."""
    files = [str(p["ma"]), str(p["sfa"])]
    return {"analyze": _analyze(p), SAME_JOB: _analyze(p, "ma_no_company"),
            "fair_duckdb": [PY, "-m", "bench.fair_duckdb", *files],
            "fair_polars": [PY, "-m", "bench.fair_polars", *files],
            "least_duckdb": [PY, "-m", "bench.baseline_duckdb", *files],
            "pandas": [PY, "-m", "bench.baseline_pandas", *files]}


def _bytecode() -> None:
    """Compile the tool's and the contenders' modules first, as ``pip install`` does: with
    PYTHONDONTWRITEBYTECODE set (this machine's shell sets it), every run compiled the
    engine's ~120 modules from source, 0.08 s of each ``analyze`` that no user pays."""
    for folder in ("funnel", "bench"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)


def _checked(outputs: dict[str, list[str]]) -> dict[str, Any]:
    """The tool's counts, once every run of every fair pipeline is found to print the same."""
    tool = counts.of_tool(json.loads(outputs["analyze"][0]))
    for i, out in enumerate(outputs["analyze"][1:], 2):
        counts.check(f"analyze (run {i})", tool, counts.of_tool(json.loads(out)))
    for i, out in enumerate(outputs[SAME_JOB], 1):
        counts.check(f"{SAME_JOB} (run {i})", tool, counts.of_tool(json.loads(out)))
    for name in FAIR:
        for i, out in enumerate(outputs[name], 1):
            counts.check(f"{name} (run {i})", tool, json.loads(out))
    return tool


def _engine() -> str:
    """The commit whose engine is measured (with ``+changes`` when the tree is not clean)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else ""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no", "funnel") else "")


def run(sizes: list[int], repeat: int, out: Path, data: Path, app: bool, apptest: bool) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    _bytecode()
    files = {n: workload(data, n) for n in sizes}
    # The inputs and the app are measured on one size: 1M leads when it is in the series.
    ref = REFERENCE if REFERENCE in sizes else max(sizes)
    p = files[ref]
    report: dict[str, Any] = {"leads": ref, "sizes": sizes, "repeat": repeat, "engine": _engine(),
                              "contest": {}, "counts": {}}
    for n in sizes:
        stats, outputs = _rounds(_contenders(files[n]), repeat)
        report["counts"][n] = _checked(outputs)
        report["contest"][n] = stats
    report["analyze"] = report["contest"][ref]
    report["scaling"] = {name: fit({n: report["contest"][n][name]["wall"] for n in sizes})
                         for name in ("analyze", SAME_JOB, *FAIR)}
    report["inputs"] = _rounds({
        "load_utf8": [PY, str(HERE / "load_only.py"), str(p["ma"])],
        "load_cp932": [PY, str(HERE / "load_only.py"), str(p["cp932"])],
        "bare_decode_cp932": [PY, str(HERE / "bare.py"), "cp932", str(p["cp932"])],
        "load_xlsx": [PY, str(HERE / "load_only.py"), str(p["xlsx"])],
        "bare_calamine_xlsx": [PY, str(HERE / "bare.py"), "xlsx", str(p["xlsx"])],
        "bare_checked_xlsx": [PY, str(HERE / "bare.py"), "xlsx_checked", str(p["xlsx"])],
        "python_start": [PY, "-c", "import funnel.cli, funnel.measures.analysis, funnel.model.workspace"],
    }, repeat)[0]
    # The app reads an upload in a warm process: the same file, loaded again in one process.
    warm = [json.loads(_measure([PY, "-m", "bench.load_warm", str(p["xlsx"])])["stdout"]) for _ in range(repeat)]
    report["inputs"]["xlsx_warm"] = {k: statistics.median(w[k] for w in warm) for k in ("load", "bare")}
    if app:
        cmd = [PY, str(HERE / "app_bench.py"), str(p["ma"]), str(p["sfa"])] + ([] if apptest else ["--no-apptest"])
        report["app"] = _app_rounds(cmd, repeat)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False))
    (out / "report.md").write_text(render(report))
    return report


def fit(walls: dict[int, float]) -> dict[str, float] | None:
    """Least-squares ``time = fixed + per_100k × leads / 100k`` over a size series (None for
    fewer than two sizes)."""
    if len(walls) < 2:
        return None
    xs, ys = [n / 100_000 for n in walls], list(walls.values())
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return {"fixed": my - slope * mx, "per_100k": slope}


def _app_rounds(cmd: list[str], repeat: int) -> dict[str, Any]:
    """The app measurements ``repeat`` times, each in a fresh process (so every click is a
    first one, nothing kept from an earlier run): the median of each click, the peak RSS."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={
            **os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            return {"error": done.stderr[-500:]}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out: dict[str, Any] = {k: max(r[k] for r in runs) for k in ("engine_rss_mb", "rss_mb") if k in runs[0]}
    for part in ("engine", "apptest"):
        if part in runs[0]:
            out[part] = {k: statistics.median(r[part][k] for r in runs) for k in runs[0][part]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,5000000", help="lead counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench_out")
    ap.add_argument("--data", type=Path, help="where the workloads are kept (default: --out)")
    ap.add_argument("--no-app", action="store_true", help="skip the app measurements")
    ap.add_argument("--no-apptest", action="store_true", help="app: engine queries only")
    ap.add_argument("--smoke", action="store_true", help="10k leads, one round (CI)")
    ap.add_argument("--browser", action="store_true",
                    help="also filter changes in a real browser at 10k and the largest size (bench/browser_bench.py)")
    args = ap.parse_args(argv)
    sizes = [10_000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    try:
        report = run(sizes, 1 if args.smoke else args.repeat, args.out, args.data or args.out,
                     not args.no_app, not args.no_apptest)
    except counts.CountsDiffer as exc:
        sys.stderr.write(f"bench: {exc}\n")
        return 1
    sys.stdout.write(render(report))
    if args.browser:
        from bench import browser_bench

        browser = browser_bench.run(sorted({10_000, max(sizes)}), args.out, args.out, 2 if args.smoke else 10)
        sys.stdout.write(browser_bench.render(browser))
    return 0


if __name__ == "__main__":
    sys.exit(main())
