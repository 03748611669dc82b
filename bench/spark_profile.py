"""Where ``analyze --engine spark`` spends its time, statement by statement.

    PYTHONPATH=$PWD .venv/bin/python -m bench.spark_profile analyze --ma F --sfa F --engine spark [--top 10]

Runs the CLI's own ``analyze`` in this process with :meth:`SparkConnection._run` wrapped (the
class is not changed: the hook is set on it here, for this process only). For every statement
run on Spark it records the wall seconds, the CPU seconds of the JVM and the Python workers
(this process's descendants, from ``/proc``: the work is done there, not in the driver), and
how much of the wall time went to handing DuckDB tables to Spark as Parquet (``_ship``).
Prints (to stderr) a line per statement as it ends, then the total, the time before the first
Spark statement (reading the files locally and starting the JVM) and the costliest statements;
the CLI's own output (the JSON) goes to stdout as usual.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from typing import Any

from bench.profile_analyze import top_argument
from bench.spark import _tree


def _children_cpu() -> float:
    me = os.getpid()
    return sum(cpu for pid, (_, cpu) in _tree(me).items() if pid != me)


def profile(argv: list[str], top: int = 10) -> tuple[int, list[dict[str, Any]]]:
    from funnel import cli
    from funnel.sql.spark import SparkConnection

    log: list[dict[str, Any]] = []
    run, ship = SparkConnection._run, SparkConnection._ship
    shipping = [0.0]

    def timed_ship(self: SparkConnection, tree: Any) -> None:
        t = time.perf_counter()
        try:
            ship(self, tree)
        finally:
            shipping[0] += time.perf_counter() - t

    def timed_run(self: SparkConnection, sql: str, params: Any) -> Any:
        shipping[0] = 0.0
        wall, cpu, jvm = time.perf_counter(), time.process_time(), _children_cpu()
        try:
            return run(self, sql, params)
        finally:
            log.append({"wall": time.perf_counter() - wall, "driver_cpu": time.process_time() - cpu,
                        "jvm_cpu": _children_cpu() - jvm, "ship": shipping[0], "at": wall - start,
                        "sql": " ".join(sql.split())})
            # A line per statement as it ends: a run stopped for taking too long still says
            # how far it got.
            r = log[-1]
            print(f"[{time.perf_counter() - start:7.1f} s] #{len(log)} {r['wall']:.2f} s {r['sql'][:100]}",
                  file=sys.stderr, flush=True)

    SparkConnection._run = timed_run      # type: ignore[method-assign]
    SparkConnection._ship = timed_ship    # type: ignore[method-assign]
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            rc = cli.main(argv)
        sys.stdout.write(printed.getvalue())    # the JSON, for whoever compares it
    finally:
        SparkConnection._run, SparkConnection._ship = run, ship  # type: ignore[method-assign]
    total = time.perf_counter() - start
    in_sql = sum(r["wall"] for r in log)
    first = log[0]["at"] if log else total
    report = sys.stderr
    print(f"exit {rc}: {total:.1f} s wall; before the first Spark statement (local read, JVM start) {first:.1f} s; "
          f"{len(log)} statements on Spark {in_sql:.1f} s (of which Parquet hand-over {sum(r['ship'] for r in log):.1f} s)"
          f"; driver CPU {time.process_time():.1f} s, JVM + workers CPU {_children_cpu():.1f} s", file=report)
    print("| # | wall s | JVM CPU s | ship s | statement |", file=report)
    print("| ---: | ---: | ---: | ---: | --- |", file=report)
    ranked = sorted(enumerate(log, 1), key=lambda r: -r[1]["wall"])
    for i, r in ranked[:top]:
        print(f"| {i} | {r['wall']:.2f} | {r['jvm_cpu']:.1f} | {r['ship']:.2f} | `{r['sql'][:160]}` |", file=report)
    return rc, log


def main() -> int:
    args = sys.argv[1:]
    top = top_argument(args, 10)
    return profile(args, top)[0]


if __name__ == "__main__":
    sys.exit(main())
