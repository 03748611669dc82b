"""On an ID-linked export without emails (the real Salesforce + Pardot one), the tables that
list leads name their key column after what identifies a lead (the record ID), not
"email", and the 商談化率 drill-down shows it, so every row is identifiable."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.present.format import lead_key_label, lead_key_text
from tests.conftest import real
from tests.test_page_rate_sources import PARDOT, PARDOT_NAMES, open_uploaded, pardot_exports

pytestmark = pytest.mark.slow


def test_lead_key_text_strips_the_kind_prefix() -> None:
    assert [lead_key_text(k) for k in ("e:taro@x.jp", "i:00Q1", "r:leads.csv:12", "plain")] == [
        "taro@x.jp", "00Q1", "leads.csv:12", "plain"]
    assert lead_key_label("id", "ja") == "リードID"
    assert lead_key_label("email", "ja") == "メールアドレス（正規化後）"


@pytest.fixture(scope="module")
def lead_ids() -> set[str]:
    raw = pd.read_csv(real(PARDOT) / PARDOT_NAMES[0], dtype=str, usecols=["Lead ID"])
    return set(raw["Lead ID"].dropna())


def test_quality_never_linked_leads_are_named_by_lead_id(lead_ids: set[str]) -> None:
    at = open_uploaded("views/quality.py", *pardot_exports(real(PARDOT)), PARDOT_NAMES)
    firsts = [d.value.columns[0] for d in at.dataframe]
    assert "メールアドレス（正規化後）" not in firsts
    leads = [d.value for d in at.dataframe if d.value.columns[0] == "リードID"]
    assert leads                    # never-linked leads (and duplicate people, where any)
    for frame in leads:
        assert len(frame) and set(frame["リードID"]) <= lead_ids


def test_rate_drill_shows_the_lead_id_first(lead_ids: set[str]) -> None:
    at = open_uploaded("views/rate.py", *pardot_exports(real(PARDOT)), PARDOT_NAMES)
    email = t("rate.drill.col.email_raw", "ja")
    drill = [d.value for d in at.dataframe if email in d.value.columns]
    assert len(drill) == 1
    frame = drill[0]
    assert frame.columns[0] == "リードID"
    keys = list(frame["リードID"])
    assert len(keys) == len(set(keys)) > 0 and set(keys) <= lead_ids
