"""``python -m bench.activity_phases OUT.json --ma F --sfa F --activity F... [--model M]``: the
steps of ``analyze --activity --json`` timed one by one in this process (what the CLI does,
in the same order: :func:`funnel.cli._built` with ``keep_raw=False``, then the measures).

Phases: ``read`` (the MA and SFA exports read into DuckDB), ``read_activity`` (the activity
exports read), ``build`` (normalise and link the leads and deals, stage the activity rows,
attach the events to leads), ``measure`` (every measure of the JSON: funnel, behaviour,
attribution). Written as JSON to OUT with the activity counts, for :mod:`bench.activity`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from funnel.ingest.reader import Source
from funnel.measures import analysis
from funnel.model.workspace import Workspace


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.activity_phases")
    ap.add_argument("out", type=Path)
    ap.add_argument("--ma", nargs="+", required=True)
    ap.add_argument("--sfa", nargs="+", required=True)
    ap.add_argument("--activity", nargs="+", required=True)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    times: dict[str, float] = {}
    start = last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times[name] = now - last
        last = now

    with Workspace() as ws:
        for path in args.ma:
            ws.load("ma", Source.from_path(path))
        for path in args.sfa:
            ws.load("sfa", Source.from_path(path))
        lap("read")
        for path in args.activity:
            ws.load("activity", Source.from_path(path))
        lap("read_activity")
        ws.build(keep_raw=False)
        lap("build")
        data = analysis.to_json(analysis.measure(ws, model=args.model))
        json.dumps(data, ensure_ascii=False, default=str)    # the CLI prints it: part of the measuring
        lap("measure")
    times["total"] = time.perf_counter() - start
    args.out.write_text(json.dumps({"phases": times, "activity": data["activity"]}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
