"""No table on a page shows a blank as "None", "nan" or "NaT", nor a date as midnight
("2021-03-05 00:00:00"): blanks are "—" everywhere (funnel/present/format.py ``BLANK``, the
rule ``cell_text`` follows), on the pages a review found them on (AppTest on the bundled
sample, which opens with its activity log loaded)."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd
import pytest

from funnel.present.format import BLANK
from tests.conftest import switch_to

pytestmark = pytest.mark.slow

#: A blank written as text, or a date at midnight ("nana_yoshida@…" is a name, not a blank).
RAW = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT)(?![A-Za-z])|00:00:00")
PAGES = ["views/upload.py", "views/stages.py", "views/benchmarks.py", "views/accounts.py", "views/activity.py"]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT


def raw_blanks(at: Any) -> list[str]:
    """Where the page's tables (read-only and editable) would show a raw blank or a midnight."""
    found = []
    for el in at.dataframe:     # st.dataframe and st.data_editor alike
        frame: pd.DataFrame = el.value
        placeholder = el.proto.placeholder
        for col in frame.columns:
            series = frame[col]
            if pd.api.types.is_datetime64_any_dtype(series) and len(series.dropna()):
                found.append(f"{col}: a datetime column shows its time (format dates as text)")
                continue
            for v in series:
                if _missing(v):
                    if placeholder in ("", "None"):
                        found.append(f"{col}: a blank cell shows {placeholder or 'None'!r}")
                        break
                elif RAW.search(str(v)):
                    found.append(f"{col}: {v!r}")
                    break
    return found


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_blanks_in_tables(app: Any, page: str) -> None:
    at = switch_to(app, page)
    assert len(at.dataframe) > 0
    assert raw_blanks(at) == []


def test_the_check_can_fail() -> None:
    """The scan finds a blank shown without the placeholder (as ``st.dataframe`` alone would)."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import pandas as pd
        import streamlit as st
        st.dataframe(pd.DataFrame({"a": [None, "x"], "b": ["None", "y"]}))

    at = AppTest.from_function(script).run()
    assert raw_blanks(at) == ["a: a blank cell shows 'None'", "b: 'None'"]
    assert BLANK == "—"


def test_a_blank_touch_is_labelled_as_a_missing_source() -> None:
    """One label for a missing source everywhere, the attribution tables included."""
    from funnel.present.charts.attribution import touch_label
    from funnel.present.format import source_label

    assert touch_label(None, "ja") == touch_label("", "ja") == source_label(None, "ja") == "（ソース未入力）"
    assert touch_label("Webinar", "en") == "Webinar"


def test_one_rule_of_decimals_for_days_and_expected_counts() -> None:
    """Measured days all to one decimal (headline "150.0日" beside the tables' "894.0"), and
    ``num``'s fixed decimals for a column of measures."""
    from funnel.present.charts.sla import days_text
    from funnel.present.format import num

    assert [days_text(d, "ja") for d in (150, 894.0, 12.25, None)] == ["150.0日", "894.0日", "12.2日", "—"]
    assert [num(x, 1) for x in (12, 1248.46, 0.05)] == ["12.0", "1,248.5", "0.1"]
    assert num(1248.5) == "1,248.5" and num(3.0) == "3"


@pytest.mark.parametrize("page", ["views/rate.py", "views/stages.py", "views/sla.py", "views/quality.py"])
def test_percent_columns_show_one_decimal(app: Any, page: str) -> None:
    """Every percentage column is formatted to one decimal (the cohort table showed "4%" beside
    "3.92%"): Streamlit's percent format with a step of 0.001."""
    import json

    at = switch_to(app, page)
    percent = [(name, cfg) for d in at.dataframe for name, cfg in json.loads(d.proto.columns or "{}").items()
               if cfg.get("type_config", {}).get("format") == "percent"]
    assert percent
    assert all(cfg["type_config"].get("step") == 0.001 for _, cfg in percent), percent
