"""Every page of the app on a real export (Salesforce + Pardot, 10,000 leads), in a real
Chromium at the window sizes a team projects it at: no exception box, no metric card whose
label or value is cut, no page wider than the window.

The walk is scripts/screenshots.py's (one piece of code); the screenshots are kept in a temp
folder whose path is printed (``pytest -s``) for a person to look at. Skips, with the reason,
where Chromium, Playwright or ../shared/real_exports is absent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.conftest import real
from tests.test_browser import CHROMIUM, url_paths

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PARDOT = "crm_analytics_salesforce_pardot"
SIZES = ("1440x900", "1280x720", "1024x768")


def test_every_page_on_the_pardot_export_at_projector_sizes() -> None:
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install chromium); .ci/run installs it")
    pytest.importorskip("playwright.sync_api", reason="playwright not installed (requirements-dev.txt)")
    ma, sfa = real(PARDOT, "Lead.csv"), real(PARDOT, "Oppertuninty Table.csv")
    from scripts.screenshots import run

    out = Path(tempfile.mkdtemp(prefix="funnel-pages-"))
    print(f"\nscreenshots: {out}")
    shots = run(out, [str(ma)], [str(sfa)], SIZES, full=False)   # window shots: < 3 min
    # Every page of app.py's navigation, at every size, was opened and photographed.
    assert len(shots) == len(url_paths()) * len(SIZES)
    assert all(s.path.stat().st_size > 10_000 for s in shots)
    assert [p for s in shots for p in s.problems()] == []
