"""The app at scale: upload two exports, open the 商談化率 and 失注分析 pages, change filters.

Two views of each click: the engine queries the page makes (what a filter change must
cost), and the whole page run through Streamlit's AppTest (queries, charts, tables). Prints
one JSON object. Run as ``python bench/app_bench.py MA_FILE SFA_FILE``.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn: Any, repeat: int = 3) -> float:
    found = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        found.append(time.perf_counter() - start)
    return statistics.median(found)


def engine_clicks(ma: Path, sfa: Path) -> dict[str, float]:
    """Load + build once, then the queries a filter change on each page makes."""
    from funnel.ingest.reader import Source
    from funnel.measures import cohorts, drill, metrics
    from funnel.measures import loss as losses
    from funnel.model.workspace import Workspace

    out: dict[str, float] = {}
    ws = Workspace()
    start = time.perf_counter()
    ws.load("ma", Source.from_path(ma))
    ws.load("sfa", Source.from_path(sfa))
    ws.build()
    out["load_and_build"] = time.perf_counter() - start
    con = ws.con
    lo, hi = cohorts.created_range(con) or (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    mid = lo + (hi - lo) / 2
    sources = [r.group for r in metrics.by_source(con)][:3]

    def rate_page(f: metrics.Filters) -> None:
        metrics.overall(con, f)
        metrics.by_source(con, f)
        cohorts.cohorts(con, f)
        drill.lead_page(con, f, sources[0], page=1)

    def loss_page(touch: str) -> None:
        # What a touch change queries: the open breakdown tab (only it is drawn) and the page of
        # lost deals. The page's other reads are kept per build (Workspace.remember).
        losses.breakdown(con, "source", touch)
        losses.lost_opportunities(con, touch=touch)

    out["rate_touch_last"] = _timed(lambda: rate_page(metrics.Filters(touch="last")))
    out["rate_date_range"] = _timed(lambda: rate_page(metrics.Filters(date_from=lo, date_to=mid)))
    out["rate_sources"] = _timed(lambda: rate_page(metrics.Filters(sources=tuple(sources[:2]))))
    out["loss_touch_last"] = _timed(lambda: loss_page("last"))
    ws.close()
    return out


def app_clicks(ma: Path, sfa: Path) -> dict[str, float]:
    """The same through AppTest: an upload, the first page after it, and filter changes."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    out: dict[str, float] = {}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()

    def run(step: str, action: Any) -> None:
        start = time.perf_counter()
        action().run()
        out[step] = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"{step}: {at.exception[0].value}")

    run("upload_ma", lambda: at.file_uploader(key="up_ma").set_value((ma.name, ma.read_bytes(), "text/csv")))
    run("upload_sfa_first_full_page",
        lambda: at.file_uploader(key="up_sfa").set_value((sfa.name, sfa.read_bytes(), "text/csv")))
    run("rate_first_page", lambda: at.switch_page("views/rate.py"))
    run("rate_touch_last", lambda: at.radio(key="touch").set_value("last"))
    lo, hi = at.date_input(key="date_range").value
    run("rate_date_range", lambda: at.date_input(key="date_range").set_value((lo, lo + (hi - lo) / 2)))
    options = at.multiselect(key="sources").options
    run("rate_sources", lambda: at.multiselect(key="sources").set_value(options[:2]))
    run("loss_first_page", lambda: at.switch_page("views/loss.py"))
    run("loss_touch_last", lambda: at.radio(key="loss_touch_ja").set_value("last"))
    run("rate_again", lambda: at.switch_page("views/rate.py"))
    return out


if __name__ == "__main__":
    ma_file, sfa_file = Path(sys.argv[1]), Path(sys.argv[2])
    result: dict[str, Any] = {"engine": engine_clicks(ma_file, sfa_file)}
    result["engine_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if "--no-apptest" not in sys.argv:
        result["apptest"] = app_clicks(ma_file, sfa_file)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
