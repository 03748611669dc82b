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
        # F5 keeps the language (the session's token in the URL finds it again).
        page.wait_for_function("() => new URLSearchParams(location.search).get('s')", timeout=30000)
        page.reload()
        _wait_idle(page)
        page.wait_for_function("() => document.querySelector('h1') && "
                               "document.querySelector('h1').innerText.includes('Upload')", timeout=90000)
        assert "データ取込" not in page.locator("h1").first.inner_text()
        browser.close()


def test_a_reload_keeps_the_uploads_and_another_browser_never_sees_them(server, tmp_path):
    """Issue 16 item 6: F5 returns to the session's own data (its token is in the URL); a
    second browser context without the token opens on the sample."""
    from playwright.sync_api import sync_playwright

    ma = tmp_path / "reload_leads.csv"
    ma.write_text("mql_id,origin\nm1,social\nm2,paid\nm3,paid\n")
    sfa = tmp_path / "reload_deals.csv"
    sfa.write_text("mql_id,won_date\nm2,2025-01-02\nm3,2025-01-05\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        page = first.new_page()
        page.goto(f"{server}/")
        _wait_idle(page)
        main = page.locator('[data-testid="stMain"]')
        assert "サンプルデータを表示中" in main.inner_text()
        page.wait_for_function("() => new URLSearchParams(location.search).get('s')", timeout=30000)
        token = re.search(r"[?&]s=([\w-]+)", page.url).group(1)
        inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        inputs.nth(0).set_input_files(str(ma))
        _wait_idle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(1).set_input_files(str(sfa))
        _wait_idle(page)
        page.wait_for_function("() => document.body.innerText.includes('紐付いた商談 2 件')", timeout=90000)
        assert "アップロードしたデータを表示中" in main.inner_text()

        page.reload()                                        # F5
        _wait_idle(page)
        page.wait_for_function("() => document.body.innerText.includes('reload_leads.csv')", timeout=90000)
        shown = page.locator('[data-testid="stMain"]').inner_text()
        assert "アップロードしたデータを表示中" in shown and "reload_deals.csv" in shown
        assert "紐付いた商談 2 件" in shown and "サンプルデータを表示中" not in shown
        assert f"s={token}" in page.url                      # the same session, the same token
        # Another page of the app, reloaded there, still shows the uploads.
        page.goto(f"{server}/rate?s={token}")
        _wait_idle(page)
        page.reload()
        _wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.goto(f"{server}/?s={token}")
        _wait_idle(page)
        assert "reload_leads.csv" in page.locator('[data-testid="stMain"]').inner_text()

        # A second browser without the token: its own new session on the sample.
        other = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP").new_page()
        other.goto(f"{server}/")
        _wait_idle(other)
        seen = other.locator('[data-testid="stMain"]').inner_text()
        assert "サンプルデータを表示中" in seen and "reload_leads.csv" not in seen
        other.wait_for_function("() => new URLSearchParams(location.search).get('s')", timeout=30000)
        assert token not in other.url
        # A made-up token is not a way in either.
        other.goto(f"{server}/?s={token[:-2]}xx")
        _wait_idle(other)
        seen = other.locator('[data-testid="stMain"]').inner_text()
        assert "サンプルデータを表示中" in seen and "reload_leads.csv" not in seen
        browser.close()
