"""Run one command and print its wall time and peak resident memory as JSON.

The wrapper has a single child, so RUSAGE_CHILDREN's peak RSS is that command's own.
"""

import json
import resource
import subprocess
import sys
import time

if __name__ == "__main__":
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "rss_mb": peak_kb / 1024, "rc": done.returncode,
                      "stderr": done.stderr.decode("utf-8", "replace")[-300:]}))
