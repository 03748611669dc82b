"""Screenshots of every page on a real export, at the sizes a team projects it at.

``python scripts/screenshots.py OUT_DIR [--ma FILE ...] [--sfa FILE ...] [--activity FILE ...]
[--sizes 1440x900,1280x720] [--only attribution,activity] [--port N]`` starts ``streamlit run
app.py``, uploads the given exports on the upload page (the bundled sample when none are
given), then opens every page (or those whose address contains one of ``--only``) through the navigation (a URL change
would start a new browser session) and saves ``<size>/<page>.png``. It prints the pages that
showed an exception box. For looking at what we ship, not a test: tests/test_browser.py is
the test.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _wait_idle  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = port or _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("streamlit did not start")


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
    only = [x for x in args.only.split(",") if x]
    from playwright.sync_api import sync_playwright

    proc, base = _serve(args.port)
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size in args.sizes.split(","):
                w, h = (int(x) for x in size.split("x"))
                page = browser.new_page(viewport={"width": w, "height": h}, locale="ja-JP")
                page.goto(base)
                _wait_idle(page)
                if args.lang == "en":
                    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
                    _wait_idle(page)
                # The activity uploader first (it keeps the sample's MA and SFA until they come).
                for index, files in ((2, args.activity), (1, args.sfa), (0, args.ma)):
                    if files:
                        inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
                        inputs.nth(index).set_input_files(files)
                        _wait_idle(page, 300)
                out = Path(args.out) / size
                out.mkdir(parents=True, exist_ok=True)
                links = page.locator('[data-testid="stSidebarNav"] a')
                names = [links.nth(i).get_attribute("href") or str(i) for i in range(links.count())]
                for i, href in enumerate(names):
                    if only and not any(o in href for o in only):
                        continue
                    page.locator('[data-testid="stSidebarNav"] a').nth(i).click()
                    _wait_idle(page, 300)
                    name = href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
                    name = "upload" if not name or ":" in name else name
                    if page.locator('[data-testid="stException"]').count():
                        problems.append(f"{size} {name}: {page.locator('[data-testid=stException]').first.inner_text()[:200]}")
                    page.screenshot(path=str(out / f"{i:02d}_{name}.png"), full_page=False)
                    page.screenshot(path=str(out / f"{i:02d}_{name}_full.png"), full_page=True)
                page.close()
            browser.close()
    finally:
        proc.terminate()
    print("\n".join(problems) or "no exception box on any page")


if __name__ == "__main__":
    main()
