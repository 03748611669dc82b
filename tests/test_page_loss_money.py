"""The 失注分析 page shows amounts in the export's currency (issue 16): dollars on a US export,
never yen; amounts in several currencies flagged and not summed. Numbers are the engine's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from funnel.i18n import t
from funnel.measures import loss as L
from tests.conftest import built_workspace, real
from tests.test_page_rate import open_page
from tests.test_page_rate_sources import PARDOT, PARDOT_NAMES, open_uploaded, pardot_exports

pytestmark = pytest.mark.slow


def pareto_of(at: Any) -> Any:
    found = [d for d in at.dataframe if d.value.columns[0] == t("loss.col.category", "ja")
             and t("loss.col.cumulative", "ja") in d.value.columns]
    assert len(found) == 1
    return found[0]


def amount_format(element: Any) -> str | None:
    """The number format the page gave the amount column (Streamlit's column config)."""
    config = json.loads(element.proto.columns or "{}")
    return (config.get(t("loss.col.amount", "ja")) or {}).get("type_config", {}).get("format")


def engine_pareto(ma: bytes, sfa: bytes, names: tuple[str, str]) -> tuple[list[Any], Any]:
    with built_workspace(ma, sfa, names) as ws:
        return L.pareto(ws.con), ws.build_result


def test_mixed_currencies_are_flagged_not_summed():
    ma = "メールアドレス,流入元\na@x.jp,展示会\nb@x.jp,展示会\nc@x.jp,紹介\n".encode()
    sfa = ("商談 ID,フェーズ,メール,金額,失注理由\nO1,7.失注,a@x.jp,$1000,価格\nO2,7.失注,b@x.jp,¥5000,価格\n"
           "O3,7.失注,c@x.jp,$200,競合\n").encode()
    at = open_uploaded("views/loss.py", ma, sfa)
    rows, build = engine_pareto(ma, sfa, ("ma.csv", "sfa.csv"))
    assert build.mixed_currency and build.currency is None
    assert any("複数の通貨" in w.value and "JPY/USD" in w.value for w in at.warning), [w.value for w in at.warning]
    df = pareto_of(at).value
    assert t("loss.col.amount", "ja") not in df.columns
    assert df[t("loss.col.count", "ja")].tolist() == [r.count for r in rows]


def test_a_us_export_shows_dollars():
    ma, sfa = pardot_exports(real(PARDOT))
    at = open_uploaded("views/loss.py", ma, sfa, PARDOT_NAMES)
    rows, build = engine_pareto(ma, sfa, PARDOT_NAMES)
    assert build.currency == "USD" and not build.mixed_currency
    element = pareto_of(at)
    assert amount_format(element) == "dollar"
    assert element.value[t("loss.col.amount", "ja")].tolist() == pytest.approx([r.amount for r in rows])
    assert not any("複数の通貨" in w.value for w in at.warning)
    # The lost deals: dates without 00:00:00, blanks as — (never None), amounts in dollars.
    deals = next(d for d in at.dataframe if d.value.columns[0] == t("loss.deals.col.deal_id", "ja"))
    close = deals.value[t("loss.deals.col.close_at", "ja")].tolist()
    assert close and all(c == "—" or (len(c) == 10 and c[4] == "-") for c in close)
    cells = deals.value.drop(columns=[t("loss.deals.col.amount", "ja")]).astype(str).to_numpy().ravel().tolist()
    assert not any(c in ("None", "nan", "NaT") or "00:00:00" in c for c in cells)
    assert json.loads(deals.proto.columns)[t("loss.deals.col.amount", "ja")]["type_config"]["format"] == "dollar"


def test_the_sample_stays_in_yen():
    at = open_page("views/loss.py")
    assert amount_format(pareto_of(at)) == "yen"


def test_owner_ids_are_flagged_on_a_salesforce_export():
    at = open_uploaded("views/loss.py", *pardot_exports(real(PARDOT)), PARDOT_NAMES)
    at.session_state["loss_by_tab_ja"] = t("loss.by.owner", "ja")        # what a click on the tab sets
    at.run()
    assert not at.exception
    flag = t("loss.owner_ids", "ja", crm="Salesforce")
    assert flag in [c.value for c in at.caption]
    # The sample's owners are names: no flag.
    at.switch_page("views/upload.py").run()
    sample = open_page("views/loss.py")
    sample.session_state["loss_by_tab_ja"] = t("loss.by.owner", "ja")
    sample.run()
    assert not any("ユーザーID" in c.value for c in sample.caption)
