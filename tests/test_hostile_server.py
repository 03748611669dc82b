"""The real server against a crafted workbook (issue 15): ``streamlit run app.py`` in a
subprocess, one browser session uploads the 1.4 KB xlsb bomb (and the xlsx whose sheet part
was moved), which used to abort the whole server (SIGABRT in calamine); it gets one message,
and another session, opened afterwards, works. Also checks that the table toolbar offers no
unsafe "Download as CSV".
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests import hostile_files as hf
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _wait_idle, server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _healthy(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as r:
        return r.read().strip() == b"ok"


def test_the_xlsb_bomb_does_not_stop_the_server_and_another_session_works(server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    # The uploader takes .xlsx; the format is recognised from the content (a binary workbook).
    bombs = {"far_xlsb.xlsx": hf.xlsb_far_cell(), "moved.xlsx": hf.xlsx_moved_sheet()}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        attacker = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP").new_page()
        attacker.goto(f"{server}/")
        _wait_idle(attacker)
        for name, data in bombs.items():
            attacker.locator('input[type="file"]').first.set_input_files(
                files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
            attacker.get_by_text("安全に読み込めません").first.wait_for(timeout=90_000)
            assert attacker.get_by_text(name).count() >= 1
            assert _healthy(server)
        assert attacker.locator('[data-testid="stException"]').count() == 0

        other = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP").new_page()
        start = time.monotonic()
        other.goto(f"{server}/rate")
        _wait_idle(other)
        assert time.monotonic() - start < 90
        assert other.locator('[data-testid="stException"]').count() == 0
        assert "商談化率" in other.locator("h1").first.inner_text()
        assert other.locator('[data-testid="stMetric"]').count() >= 1
        # The table toolbar: search is offered, its raw "Download as CSV" is not.
        table = other.locator('[data-testid="stDataFrame"]').first
        table.hover()
        other.wait_for_timeout(500)
        toolbar = other.locator('[data-testid="stElementContainer"]:has([data-testid="stDataFrame"]) '
                                '[data-testid="stElementToolbar"]').first
        labels = [b.get_attribute("aria-label") or b.inner_text() for b in toolbar.locator("button").all()]
        assert "Search" in labels and "Download as CSV" not in labels, labels
        browser.close()
    assert _healthy(server)
