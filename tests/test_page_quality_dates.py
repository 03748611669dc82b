"""データ品質・名寄せ lists implausible dates (issue 16): far-past and far-future dates are
counted per date field, as the engine counts them, rather than left to sort first."""

from __future__ import annotations

import json
from typing import Any

import pytest

from funnel.i18n import t
from funnel.measures.dates import implausible_dates
from funnel.present.format import date_text
from tests.conftest import built_workspace, real
from tests.test_page_rate import open_page
from tests.test_page_rate_sources import PARDOT, PARDOT_NAMES, open_uploaded, pardot_exports

pytestmark = pytest.mark.slow


def dates_table(at: Any) -> Any:
    return next(d.value for d in at.dataframe if d.value.columns[0] == t("quality.dates.col.field", "ja"))


def assert_is_engine(at: Any, checks: list[Any]) -> None:
    df = dates_table(at)
    c = {k: t(f"quality.dates.col.{k}", "ja") for k in ("field", "dated", "too_old", "too_new", "first", "last")}
    assert df[c["field"]].tolist() == [t(f"quality.dates.field.{x.table}.{x.column}", "ja") for x in checks]
    assert df[c["dated"]].tolist() == [x.dated for x in checks]
    assert df[c["too_old"]].tolist() == [x.too_old for x in checks]
    assert df[c["too_new"]].tolist() == [x.too_new for x in checks]
    assert df[c["last"]].tolist() == [date_text(x.last) for x in checks]


def test_sample_has_no_implausible_dates(sample_ws):
    at = open_page("views/quality.py")
    checks = implausible_dates(sample_ws.con)
    assert not any(x.implausible for x in checks)
    assert_is_engine(at, checks)
    assert t("quality.dates.none", "ja", floor=1990, future=2) in [x.value for x in at.caption]


def test_the_pardot_2030_close_date_is_flagged():
    ma, sfa = pardot_exports(real(PARDOT))
    at = open_uploaded("views/quality.py", ma, sfa, PARDOT_NAMES)
    with built_workspace(ma, sfa, PARDOT_NAMES) as ws:
        checks = implausible_dates(ws.con)
    close = next(x for x in checks if x.column == "close_at")
    assert close.too_new > 0 and close.last.year == 2030
    assert_is_engine(at, checks)
    n = sum(x.implausible for x in checks)
    assert any(f"あり得ない日付が {n:,} 件" in w.value for w in at.warning)
    # The deals without a lead on this US export: amounts in dollars, dates without 00:00:00,
    # blanks as — (Streamlit's placeholder), never "None".
    opps = next(d for d in at.dataframe if d.value.columns[0] == t("quality.col.reason", "ja"))
    config = json.loads(opps.proto.columns)
    assert config[t("quality.col.amount", "ja")]["type_config"]["format"] == "dollar"
    created = opps.value[t("quality.col.created", "ja")].tolist()
    assert created and all(c == "—" or ":00:00" not in c for c in created)
    assert not any(str(c) == "None" for c in opps.value.drop(columns=[t("quality.col.amount", "ja")]).to_numpy().ravel()
                   if c is not None)
