"""``python -m bench.spark``: both engines at scale (issue 21, item 4).

    python -m bench.spark --sizes 1000000,10000000 [--activity] [--data DIR] [--driver-memory 8g]

For each size the workload of :mod:`bench.workload` (and with ``--activity`` the events of
:mod:`bench.activity`, ``--events-per-lead`` per lead) is generated once into ``--data`` and
reused; ``--format parquet`` hands the same rows over as Parquet (all text, as a warehouse
export of the CSV would be). Then ``python -m funnel analyze --json`` runs once with
``--engine duckdb`` and once with ``--engine spark``, each in its own process, and the
table gives wall time, CPU time and peak resident memory of each, and whether the two JSON
outputs are equal (floats to 1e-9 relative).

Memory is summed over the whole process tree and sampled (every 0.2 s, from ``/proc``): with
Spark the work happens in the JVM the Python driver starts and in the Python workers the JVM
starts, so the peak RSS of one process (``RUSAGE_CHILDREN``) would miss most of it. CPU is the
tree's user + system seconds (each process's last sample; processes that end between two
samples are counted through ``RUSAGE_CHILDREN`` when they were waited for). On a shared
machine compare CPU seconds; wall time there measures the queue too.

``--driver-memory`` sets ``SPARK_DRIVER_MEMORY`` for the Spark run: in local mode the driver
JVM is the executor too, so its heap (Spark's default 1g) is the job's memory; the standard
launcher reads that variable when it starts the JVM. ``--profile`` also runs the Spark
engine once more at the first size with every statement timed (:mod:`bench.spark_profile`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENGINES = ("duckdb", "spark")
# A file holds at most max_rows (5M) rows, so a bigger MA export is read as parts, as a user
# exporting "in parts" would load it; half the limit keeps each part's read well inside the
# DuckDB workspace's memory cap (1GB), which a 10M-row file at once exceeds.
PART_ROWS = 2_500_000
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def label(leads: int) -> str:
    """``1m``, ``10m``, ``100k``: the folder names the workloads in ``--data`` already have."""
    for unit, name in ((1_000_000, "m"), (1_000, "k")):
        if leads >= unit and leads % unit == 0:
            return f"{leads // unit}{name}"
    return str(leads)


def workload(data: Path, leads: int, fmt: str = "csv", events_per_lead: int = 0) -> dict[str, list[Path]]:
    """The inputs of ``leads`` leads under ``data`` (generated once; each piece is written in a
    temporary folder renamed into place, so an interrupted run never leaves half a file)."""
    from bench.workload import generate

    d = data / label(leads)
    if not (d / "ma_leads.csv").exists() or not (d / "sfa_opportunities.csv").exists():
        _once(d, lambda tmp: generate(tmp, leads))
    files = {"ma": _parts(d / "ma_leads.csv"), "sfa": [d / "sfa_opportunities.csv"], "activity": []}
    if events_per_lead:
        from bench.activity import write_activity

        events = leads * events_per_lead
        a = data / f"{label(leads)}_activity_{label(events)}"
        if not a.exists():
            # One file per 5M rows: within the reader's row limit of one file.
            _once(a, lambda tmp: write_activity(tmp, max(1, int(leads * 0.9)), events, -(-events // 5_000_000)))
        files["activity"] = sorted(a.glob("activity_*.csv"))
    if fmt == "parquet":
        files = {side: [_parquet(data, p) for p in paths] for side, paths in files.items()}
    return files


def _once(target: Path, write: Any) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    write(tmp)
    tmp.chmod(0o755)    # mkdtemp's folder is private: the data is shared
    try:
        tmp.rename(target)
    except OSError:     # another run finished first: the same bytes (fixed seed)
        shutil.rmtree(tmp)


def _parts(csv: Path, rows: int = PART_ROWS) -> list[Path]:
    """``csv`` itself, or when it has more than ``rows`` data rows, its parts of ``rows`` rows
    each (header repeated; written once beside it). The generated exports hold no newline
    inside a cell, so a line is a row."""
    stem = csv.with_suffix("")
    done = csv.with_name(f"{stem.name}.parts")       # written last: the parts are complete
    if done.exists():
        return [csv.with_name(n) for n in done.read_text(encoding="utf-8").split()]
    names: list[str] = []
    with csv.open("rb") as src:
        header = src.readline()
        out = None
        for i, line in enumerate(src):
            if i % rows == 0:
                if out:
                    out.close()
                names.append(f"{stem.name}_part{len(names) + 1}.csv")
                out = csv.with_name(names[-1]).open("wb")
                out.write(header)
            assert out is not None
            out.write(line)
        if out:
            out.close()
    if len(names) <= 1:
        for n in names:
            csv.with_name(n).unlink()
        names = [csv.name]
    done.write_text("\n".join(names), encoding="utf-8")
    return [csv.with_name(n) for n in names]


def _parquet(data: Path, csv: Path) -> Path:
    """The CSV as one Parquet file beside it, every column text (what the CSV holds: the
    engine's own parsing of dates and amounts stays in the measured run)."""
    import duckdb

    out = csv.with_suffix(".parquet")
    if not out.exists():
        tmp = out.with_name(f".{out.name}.tmp")
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_csv('{csv.as_posix()}', all_varchar = true, header = true)) "
                    f"TO '{tmp.as_posix()}' (FORMAT parquet)")
        con.close()
        tmp.rename(out)
    return out


# -- one measured process ----------------------------------------------------------------------

def _tree(root: int) -> dict[int, tuple[int, float]]:
    """``pid → (rss bytes, cpu s)`` of ``root`` and all its descendants, from ``/proc``."""
    parent: dict[int, int] = {}
    stat: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:   # ended while we looked
            continue
        parent[int(entry)] = int(fields[1])
        stat[int(entry)] = fields
    found, todo = {root}, [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parent.items() if pp == pid and p not in found]
        found.update(kids)
        todo.extend(kids)
    # stat fields after the name: [11] utime, [12] stime (ticks), [21] rss (pages).
    return {p: (int(stat[p][21]) * _PAGE, (int(stat[p][11]) + int(stat[p][12])) / _TICK)
            for p in found if p in stat}


def measure(cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.2,
            timeout: float | None = None) -> dict[str, Any]:
    """Run ``cmd``; its wall time, the peak RSS summed over its process tree, the tree's CPU
    seconds, its exit code (``"timeout"`` when it was stopped after ``timeout`` seconds) and
    what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    start = time.perf_counter()
    # Its own session: on timeout the whole tree (the JVM, Spark's Python workers) is stopped.
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    peak = [0]
    cpu: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(interval):
            tree = _tree(proc.pid)
            peak[0] = max(peak[0], sum(rss for rss, _ in tree.values()))
            for pid, (_, c) in tree.items():
                cpu[pid] = max(cpu.get(pid, 0.0), c)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    rc: int | str
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        rc = "timeout"
    wall = time.perf_counter() - start
    done.set()
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    out.seek(0)
    err.seek(0)
    return {"wall": wall, "rss_mb": peak[0] / 2**20, "cpu": max(waited, sum(cpu.values())), "rc": rc,
            "stdout": out.read().decode("utf-8", "replace"), "stderr": _ends(err.read().decode("utf-8", "replace"))}


def _ends(text: str, head: int = 4_000, tail: int = 16_000) -> str:
    """The start (a Java exception's message) and the end (the last statements) of a log."""
    return text if len(text) <= head + tail else f"{text[:head]}\n…\n{text[-tail:]}"


# -- the two outputs ---------------------------------------------------------------------------

def differ(a: Any, b: Any, path: str = "$", rel: float = 1e-9) -> str | None:
    """Where two JSON values first differ (None: equal; numbers to ``rel`` relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a.keys() ^ b.keys())[:5]}"
        return next((d for k in a if (d := differ(a[k], b[k], f"{path}.{k}", rel))), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True)) if (d := differ(x, y, f"{path}[{i}]", rel))),
                    None)
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return None if math.isclose(a, b, rel_tol=rel, abs_tol=1e-12) else f"{path}: {a!r} vs {b!r}"
    same = a == b and (isinstance(a, bool) == isinstance(b, bool))     # True == 1 in Python, not in JSON
    return None if same else f"{path}: {a!r} vs {b!r}"


def analyze(files: dict[str, list[Path]], engine: str, trace: bool = False) -> list[str]:
    """The command line of ``analyze --json`` on ``files``; ``trace``: through
    :mod:`bench.spark_profile` (the same run, each Spark statement timed and logged as it ends)."""
    cmd = [PY, "-m", "bench.spark_profile" if trace else "funnel", "analyze", "--ma", *map(str, files["ma"]), "--sfa", *map(str, files["sfa"]),
           "--json", "--engine", engine]
    return cmd + (["--activity", *map(str, files["activity"])] if files["activity"] else [])


def run(sizes: list[int], data: Path, fmt: str, events_per_lead: int, driver_memory: str | None,
        engines: tuple[str, ...] = ENGINES, timeout: float | None = None, trace: bool = False) -> list[dict[str, Any]]:
    rows = []
    spark_env = {"SPARK_DRIVER_MEMORY": driver_memory} if driver_memory else {}
    for n in sizes:
        t0 = time.perf_counter()
        files = workload(data, n, fmt, events_per_lead)
        sys.stderr.write(f"bench.spark: {n:,} leads ready ({time.perf_counter() - t0:.0f} s)\n")
        outputs: dict[str, Any] = {}
        for engine in engines:
            spark = engine == "spark"
            r = measure(analyze(files, engine, trace and spark), spark_env if spark else None, timeout=timeout)
            r.update(leads=n, engine=engine, events=n * events_per_lead, format=fmt, traced=trace and spark)
            try:
                found = json.loads(r["stdout"]) if r["rc"] == 0 else None
            except json.JSONDecodeError:
                found, r["rc"] = None, "no JSON"
            if found is not None:
                outputs[engine] = found
            else:
                progress = [line for line in r["stderr"].splitlines() if line.startswith("[")]
                r["reached"] = progress[-1] if progress else None
                sys.stderr.write(f"bench.spark: {engine} at {n:,} failed (rc {r['rc']}): {r['stderr'][-2000:]}\n"
                                 f"last statement done: {r['reached']}\n")
            r.pop("stdout")
            sys.stderr.write(f"bench.spark: {n:,} {engine}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
                             f"{r['rss_mb']:.0f} MB\n")
            rows.append(r)
        diff = differ(outputs["duckdb"], outputs["spark"]) if len(outputs) == 2 else "(a run failed)"
        for r in rows[-len(engines):]:
            r["equal"] = diff is None if len(engines) == 2 else None
            r["difference"] = diff
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = ["| leads | events | format | engine | wall s | CPU s | peak RSS MB | equal |",
             "| ---: | ---: | --- | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        eq = "n/a" if r.get("equal") is None else "yes" if r["equal"] else f"no: {r['difference']}"
        rc = ("" if r["rc"] == 0 else f" (rc {r['rc']})") + (" (traced)" if r.get("traced") else "")
        lines.append(f"| {r['leads']:,} | {r['events']:,} | {r['format']} | {r['engine']}{rc} | {r['wall']:.1f} | "
                     f"{r['cpu']:.1f} | {r['rss_mb']:,.0f} | {eq} |")
    with open("/proc/loadavg", encoding="ascii") as fh:
        load = " ".join(fh.read().split()[:3])
    return "\n".join([*lines, "", f"load average after the runs: {load} ({os.cpu_count()} cores)", ""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.spark", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="lead counts, comma-separated")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", ROOT / "bench_out")),
                    help="where the workloads are kept (default: $BENCH_DATA, else bench_out/)")
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--activity", action="store_true", help="with activity events")
    ap.add_argument("--events-per-lead", type=int, default=20, help="with --activity (default 20)")
    ap.add_argument("--driver-memory", help="Spark's driver heap, e.g. 8g (sets SPARK_DRIVER_MEMORY)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="which engines (default both)")
    ap.add_argument("--profile", action="store_true", help="also time Spark statement by statement (first size)")
    ap.add_argument("--trace", action="store_true",
                    help="run Spark through bench.spark_profile (each statement logged: a stopped run says how far it got)")
    ap.add_argument("--timeout", type=float, help="stop a run after this many seconds")
    ap.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = tuple(e for e in args.engines.split(",") if e in ENGINES)
    rows = run(sizes, args.data, args.format, args.events_per_lead if args.activity else 0, args.driver_memory,
               engines, args.timeout, args.trace)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    sys.stdout.write(render(rows))
    if args.profile:
        files = workload(args.data, sizes[0], args.format, args.events_per_lead if args.activity else 0)
        r = measure(analyze(files, "spark", trace=True),
                    {"SPARK_DRIVER_MEMORY": args.driver_memory} if args.driver_memory else None)
        text = r["stderr"]
        at = text.rfind("\nexit ")
        sys.stdout.write(text[at:] if at >= 0 else text)
    return 0 if all(r["rc"] == 0 and r.get("equal") is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
