"""Where ``analyze --json`` spends its time: CPU and wall seconds of every SQL statement.

    PYTHONPATH=$PWD .venv/bin/python -m bench.profile_analyze --ma leads.csv --sfa deals.csv [--top 20]

Runs the CLI's own ``analyze`` (any of its options pass through) in this process with each
statement timed where the engine executes it (:func:`funnel.sql._execute`), and prints the
total, the process CPU (all DuckDB threads), peak RSS and the costliest statements to stderr.
CPU seconds are the figure to compare on a busy machine: wall time there measures the queue.
"""

from __future__ import annotations

import contextlib
import io
import resource
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import funnel.sql as engine_sql


def profile(argv: Sequence[str], top: int = 20) -> list[tuple[float, float, str]]:
    """Run ``analyze --json argv``; returns ``(cpu, wall, statement)`` per statement, costliest first."""
    log: list[tuple[float, float, str]] = []
    execute = engine_sql._execute

    def timed(con: Any, sql: str, params: Any, take: Callable[[Any], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return execute(con, sql, params, take)
        finally:
            log.append((time.process_time() - cpu, time.perf_counter() - wall, " ".join(sql.split())))

    from funnel import cli

    engine_sql._execute = timed     # type: ignore[assignment]
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            rc = cli.main(["analyze", "--json", *argv])
    finally:
        engine_sql._execute = execute
    total = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"exit {rc}: {total:.2f} s wall, {time.process_time():.2f} s CPU in all, "
          f"{sum(c for c, _, _ in log):.2f} s CPU in {len(log)} statements, peak RSS {rss} MB", file=sys.stderr)
    found = sorted(log, reverse=True)
    for cpu, wall, sql in found[:top]:
        print(f"{cpu:7.3f} {wall:7.3f}  {sql[:140]}", file=sys.stderr)
    return found


def top_argument(args: list[str], default: int) -> int:
    """Take ``--top N`` out of ``args`` (the rest is the CLI's own command line); N or ``default``."""
    if "--top" not in args:
        return default
    i = args.index("--top")
    top = int(args[i + 1])
    del args[i:i + 2]
    return top


def main() -> None:
    args = sys.argv[1:]
    top = top_argument(args, 20)
    profile(args, top)


if __name__ == "__main__":
    main()
