"""A choice stays ticked across the language switch.

The browser remembers a radio's or selectbox's choice by its label text; switching the
language changes every label in place, so unless the script sends the value along with the
widget (``ui.state.restate``), the browser shows no option ticked and sends back a label
that no longer exists. What the browser receives is the widget's proto: after the switch it
must carry ``set_value`` and the chosen option's label in the new language.
"""

from __future__ import annotations

import pytest

CHOICES = [
    # page, widget key, option chosen in Japanese
    ("views/stages.py", "funnel_mode", "recorded"),
    ("views/stages.py", "stages_value", "first"),
    ("views/stages.py", "touch", "last"),
    ("views/rate.py", "rate_sort", "leads"),
    ("views/rate.py", "drill_status", "converted"),
    ("views/upload.py", "link_kind", "id"),
    ("views/sla.py", "sla_basis", "mql"),
    ("views/mql.py", "mql_criterion", "youden"),
    ("views/accounts.py", "touch", "last"),
]


@pytest.mark.parametrize(("page", "key", "choice"), CHOICES)
def test_choice_survives_the_language_switch(app, page: str, key: str, choice: str) -> None:
    app.switch_page(page).run()
    app.radio(key=key).set_value(choice).run()
    assert not app.exception
    ja = app.radio(key=key).proto
    ja_labels = list(ja.options)
    position = ja_labels.index(ja.raw_value)

    app.session_state["lang"] = "en"
    app.run()
    assert not app.exception
    en = app.radio(key=key).proto
    assert app.session_state[key] == choice
    assert list(en.options) != ja_labels                  # the labels did change language
    assert en.set_value                                    # the value is sent along …
    assert en.raw_value == en.options[position]            # … as the same option, in English


def test_drill_source_survives_the_language_switch(app) -> None:
    app.switch_page("views/rate.py").run()
    box = app.selectbox(key="drill_source")
    picked = box.options[2]                                # a label: source name and count
    box.select(picked).run()
    chosen = app.session_state["drill_source"]
    position = list(app.selectbox(key="drill_source").proto.options).index(picked)

    app.session_state["lang"] = "en"
    app.run()
    assert not app.exception
    en = app.selectbox(key="drill_source").proto
    assert app.session_state["drill_source"] == chosen
    assert en.set_value and en.raw_value == en.options[position]
