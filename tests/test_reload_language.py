"""A reload (F5) keeps the UI language: the browser session starts anew, the token in the URL
finds the engine Session again, and with it the language chosen (ui/state.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _app(token: str | None = None, page: str | None = None) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if token:
        at.query_params["s"] = token
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _title(at: Any) -> str:
    return at.title[0].value if at.title else ""


def test_a_reload_keeps_the_language_chosen() -> None:
    import ui.state

    first = _app()
    assert "データ取込" in _title(first)
    first.radio(key="lang_choice").set_value("en").run()
    assert not first.exception
    assert "Upload" in _title(first)
    token = first.session_state[ui.state.TOKEN]

    reloaded = _app(token)                                  # a new browser session, the same URL
    assert reloaded.session_state[ui.state.TOKEN] == token
    assert reloaded.session_state["lang"] == "en"
    assert "Upload" in _title(reloaded)

    # Back to Japanese, reloaded again: Japanese. (On a page without choice widgets: outside a
    # script run AppTest formats their labels in the default language.)
    back = _app(token, "views/workspace.py")
    assert back.session_state["lang"] == "en"
    back.radio(key="lang_choice").set_value("ja").run()
    assert not back.exception
    again = _app(token)
    assert "データ取込" in _title(again)

    # A browser without the token opens in the default language.
    other = _app()
    assert other.session_state[ui.state.TOKEN] != token
    assert "データ取込" in _title(other)
    for at in (first, other):        # what the registry does on expiry
        ui.state.registry().close(at.session_state[ui.state.TOKEN])
