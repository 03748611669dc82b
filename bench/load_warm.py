"""Load one export ``--rounds`` times in one process, each after the bare checked read of the
same file: what the app pays for an upload, with the engine imported and the parsing worker
running (the first load, which pays both, is left out). Prints the medians as JSON
(``{"load": s, "bare": s}``). Run as ``python -m bench.load_warm FILE [--rounds N]``."""

import argparse
import json
import statistics
import time
from collections.abc import Callable

from bench.bare import xlsx
from bench.load_only import load


def _timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    load(args.file)
    loads, bares = [], []
    for _ in range(args.rounds):
        bares.append(_timed(xlsx, args.file, True))
        loads.append(_timed(load, args.file))
    print(json.dumps({"load": statistics.median(loads), "bare": statistics.median(bares)}))
