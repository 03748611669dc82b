"""One glossary (issue 16): the cost and plan pages name money-per-thing numbers as the
catalogue's glossary does: 受注単価 = average deal size, 商談獲得単価, 受注獲得単価 (CPO)."""

from __future__ import annotations

import pytest

from funnel.i18n import t
from tests.test_page_rate import open_page

pytestmark = pytest.mark.slow


def test_cost_page_uses_the_glossary_terms():
    at = open_page("views/cost.py")
    columns = {c for d in at.dataframe for c in d.value.columns}
    assert {t("glossary.cost_per_opportunity", "ja"), t("glossary.cpo", "ja")} <= columns
    assert "受注単価" not in columns                         # the deal size is not a cost
    cpo = next(m for m in at.metric if m.label == t("cost.kpi.cost_per_won", "ja"))
    assert cpo.proto.help == t("glossary.cpo.def", "ja")


def test_plan_page_says_deal_size_is_revenue_per_deal():
    at = open_page("views/plan.py")
    deal = at.number_input(key="plan_deal_size")
    assert t("glossary.deal_size.def", "ja") in deal.help
    assert "受注単価" in t("glossary.deal_size", "ja") and "費用ではありません" in deal.help
