"""Real-browser smoke test: ``streamlit run app.py`` in a subprocess, every page opened in a
headless Chromium (Debian's, driven by Playwright), failing on any exception element.

Skips, with the reason, where Playwright or a Chromium binary is missing (``.ci/run``
installs Debian's ``chromium``). Set ``FUNNEL_SCREENSHOTS=<dir>`` to keep a screenshot of
each page.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
# Flags that keep a headless Chromium quiet on a machine without network (ecosystem notes).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def url_paths() -> list[str]:
    """The URL of every page registered in app.py; the default page lives at the root."""
    lines = [line for line in (ROOT / "app.py").read_text().splitlines() if "st.Page(" in line]
    out = []
    for line in lines:
        path = re.search(r'url_path="([a-z_]+)"', line)
        assert path, f"every page in app.py has a url_path: {line.strip()}"
        out.append("" if "default=True" in line else path.group(1))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server():
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install chromium); .ci/run installs it")
    pytest.importorskip("playwright.sync_api", reason="playwright not installed (requirements-dev.txt)")
    port = _free_port()
    log = open(ROOT / ".pytest_cache" / "streamlit-smoke.log", "w") if (ROOT / ".pytest_cache").exists() \
        else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 90 s")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_idle(page, timeout: float = 90) -> None:
    """Until the app has rendered and no script run is in progress for a moment."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout * 1000)
    deadline, quiet = time.time() + timeout, 0
    while time.time() < deadline and quiet < 4:
        running = page.locator('[data-testid="stStatusWidget"]').count()
        skeleton = page.locator('[data-testid="stSkeleton"]').count()
        quiet = quiet + 1 if not running and not skeleton and page.locator("h1").count() else 0
        time.sleep(0.5)


def test_every_page_opens_without_an_exception(server):
    from playwright.sync_api import sync_playwright

    shots = os.environ.get("FUNNEL_SCREENSHOTS")
    problems: dict[str, str] = {}
    titles: dict[str, str] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        for path in url_paths():
            page.goto(f"{server}/{path}")
            _wait_idle(page)
            exceptions = page.locator('[data-testid="stException"]')
            if exceptions.count():
                problems[path] = exceptions.first.inner_text()[:500]
            elif not page.locator("h1").count():
                problems[path] = "no page title rendered"
            else:
                titles[path] = page.locator("h1").first.inner_text()
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / f"{path or 'home'}.png"), full_page=True)
        browser.close()
    assert problems == {}
    # Each URL really opened its own page (not the default page again).
    assert len(titles) == len(url_paths()) >= 10
    assert len(set(titles.values())) == len(titles), titles


def test_language_switch_in_the_browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/")
        _wait_idle(page)
        assert "データ取込" in page.locator("h1").first.inner_text()
        page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click(timeout=90000)
        _wait_idle(page)
        page.wait_for_function("() => document.querySelector('h1') && "
                               "document.querySelector('h1').innerText.includes('Upload')", timeout=90000)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
