"""Screenshots of every page on a real export, at the sizes a team projects it at.

``python scripts/screenshots.py OUT_DIR [--ma FILE ...] [--sfa FILE ...] [--activity FILE ...]
[--sizes 1440x900,1280x720] [--only attribution,activity] [--port N]`` starts ``streamlit run
app.py``, uploads the given exports on the upload page (the bundled sample when none are
given), then opens every page (or those whose address contains one of ``--only``) through the navigation (a URL change
would start a new browser session) and saves ``<size>/<page>.png``. It prints what it found
wrong on each page: an exception box, a metric card whose label or value is cut, a page wider
than the window. tests/test_browser_pages.py runs the same walk (:func:`walk`) as a test.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _wait_idle  # noqa: E402

#: What is measured on each page, in the browser. A metric card (or its label / value) whose
#: content is wider than its box is cut on screen (ellipsis or clipped); the main area wider
#: than the window means the whole page scrolls sideways on a projector.
_CHECK_JS = """() => {
  const cut = [];
  for (const card of document.querySelectorAll('[data-testid="stMetric"]')) {
    const parts = [card, ...card.querySelectorAll(
      '[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, [data-testid="stMetricLabel"] *')];
    if (parts.some(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1))
      cut.push(card.innerText.replace(/\\s+/g, ' ').slice(0, 80));
  }
  const doc = document.documentElement, main = document.querySelector('[data-testid="stMain"]');
  const wide = doc.scrollWidth > doc.clientWidth + 1 || (main && main.scrollWidth > main.clientWidth + 1);
  return {cut: cut, wide: wide ? `${Math.max(doc.scrollWidth, main ? main.scrollWidth : 0)}px` : ''};
}"""


@dataclass
class PageShot:
    """One page at one window size: its screenshot and what was wrong on it."""

    size: str
    name: str
    path: Path
    exception: str = ""
    cut_metrics: list[str] = field(default_factory=list)
    overflow: str = ""

    def problems(self) -> list[str]:
        out = [f"exception: {self.exception}"] if self.exception else []
        out += [f"metric cut: {m}" for m in self.cut_metrics]
        out += [f"page wider than the window: {self.overflow}"] if self.overflow else []
        return [f"{self.size} {self.name}: {p}" for p in out]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(timeout: float = 90, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``streamlit run app.py`` on ``port`` (default: a free one); (process, base URL) once it answers."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def upload(page: Any, ma: Sequence[str], sfa: Sequence[str], activity: Sequence[str] = ()) -> None:
    """Give the upload page's activity, SFA and MA inputs these files, in that order (the
    activity uploader keeps the sample's MA and SFA until they come; SFA before MA: one
    rebuild fewer)."""
    for index, files in ((2, activity), (1, sfa), (0, ma)):
        if files:
            inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
            inputs.nth(index).set_input_files(list(files))
            _wait_idle(page, 300)


def _full_page(page: Any, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main area, so Playwright's ``full_page``
    would give the window again; the window is made as tall as the content instead (same
    width, so the layout is the same), then put back."""
    size = page.viewport_size
    tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(tall) + 40, 12000)})
    time.sleep(1)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def walk(page: Any, size: str, out: Path, full: bool = True, only: Sequence[str] = ()) -> list[PageShot]:
    """Open every page (or those whose address holds one of ``only``) through the sidebar
    navigation, check it and save ``NN_page.png`` (the window) and, with ``full``,
    ``NN_page_full.png`` (the whole page) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    links = page.locator('[data-testid="stSidebarNav"] a')
    hrefs = [links.nth(i).get_attribute("href") or str(i) for i in range(links.count())]
    shots = []
    for i, href in enumerate(hrefs):
        if only and not any(o in href for o in only):
            continue
        page.locator('[data-testid="stSidebarNav"] a').nth(i).click()
        _wait_idle(page, 300)
        name = href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        name = "upload" if not name or ":" in name else name
        shot = PageShot(size, name, out / f"{i:02d}_{name}.png")
        boxes = page.locator('[data-testid="stException"]')
        if boxes.count():
            shot.exception = boxes.first.inner_text()[:300]
        found = page.evaluate(_CHECK_JS)
        shot.cut_metrics, shot.overflow = list(found["cut"]), str(found["wide"])
        page.screenshot(path=str(shot.path), full_page=False)
        if full:
            _full_page(page, out / f"{i:02d}_{name}_full.png")
        shots.append(shot)
    return shots


def run(out: Path, ma: Sequence[str], sfa: Sequence[str], sizes: Sequence[str], lang: str = "ja",
        base: str | None = None, full: bool = True, activity: Sequence[str] = (),
        only: Sequence[str] = (), port: int | None = None) -> list[PageShot]:
    """Every page at every size (``1440x900``), each size in a fresh browser session."""
    from playwright.sync_api import sync_playwright

    proc = None
    if base is None:
        proc, base = serve(port=port)
    shots: list[PageShot] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size in sizes:
                w, h = (int(x) for x in size.split("x"))
                page = browser.new_page(viewport={"width": w, "height": h}, locale="ja-JP")
                page.goto(base)
                _wait_idle(page)
                if lang == "en":
                    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
                    _wait_idle(page)
                upload(page, ma, sfa, activity)
                shots += walk(page, size, out / size, full, only)
                page.close()
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    return shots


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--ma", nargs="*", default=[])
    ap.add_argument("--sfa", nargs="*", default=[])
    ap.add_argument("--sizes", default="1440x900,1280x720")
    ap.add_argument("--activity", nargs="*", default=[])
    ap.add_argument("--only", default="", help="comma-separated parts of page addresses to shoot (default: all)")
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--lang", default="ja")
    args = ap.parse_args()
    shots = run(Path(args.out), args.ma, args.sfa, args.sizes.split(","), args.lang, activity=args.activity,
                only=[x for x in args.only.split(",") if x], port=args.port)
    problems = [p for s in shots for p in s.problems()]
    print("\n".join(problems) or f"{len(shots)} pages: no exception box, cut metric or sideways scroll")


if __name__ == "__main__":
    main()
