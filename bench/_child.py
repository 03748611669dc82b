"""Run one command and print its wall time, peak resident memory and disk spill as JSON.

The wrapper has a single child, so RUSAGE_CHILDREN's peak RSS is that command's own. The
child gets a fresh, empty TMPDIR (DuckDB spills into its workspace folder there, and the fair
pipeline's connection into its own temporary folder there): the largest size that folder
reaches in DuckDB's spill files (``duckdb_temp*``) while the command runs is the spill,
sampled every 50 ms. The command's stdout comes
back too (the harness checks the counts it prints).
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def _size(folder: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if not name.startswith("duckdb_temp"):
                continue
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:   # deleted while we looked
                pass
    return total


if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="bench-tmp-")
    peak = [0]
    done_flag = threading.Event()

    def watch() -> None:
        while not done_flag.wait(0.05):
            peak[0] = max(peak[0], _size(tmp))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, env={**os.environ, "TMPDIR": tmp})
    wall = time.perf_counter() - start
    done_flag.set()
    watcher.join()
    shutil.rmtree(tmp, ignore_errors=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "rss_mb": peak_kb / 1024, "rc": done.returncode, "spill_mb": peak[0] / 2**20,
                      "stdout": done.stdout.decode("utf-8", "replace")[-200_000:],
                      "stderr": done.stderr.decode("utf-8", "replace")[-300:]}))
