"""One glossary (issue 16): the money-per-thing words of the report and the CLI are those of
the catalogue's glossary (messages/glossary.toml), so 受注単価 means the average deal size
everywhere and a cost per won deal is always 受注獲得単価 (CPO)."""

from __future__ import annotations

from funnel.i18n import catalogue, t


def _texts(prefixes: tuple[str, ...], lang: str) -> dict[str, str]:
    return {k: v[lang] for k, v in catalogue().items() if k.startswith(prefixes) and lang in v}


def test_report_and_cli_say_deal_size_as_the_glossary_does() -> None:
    term = t("glossary.deal_size", "ja")
    assert term == "受注単価"
    ja = _texts(("report.", "cli.", "plan."), "ja")
    # The deal size is called by the glossary's term, never a variant of it.
    assert not [k for k, v in ja.items() if "平均受注単価" in v]
    assert term in ja["report.plan.note"] and term in ja["cli.plan.deals"]
    en = _texts(("report.", "cli."), "en")
    assert "average deal size" in en["report.plan.note"] and "average deal size" in en["cli.plan.deals"]


def test_a_cost_per_won_deal_is_never_called_the_deal_size() -> None:
    ja = {k: v["ja"] for k, v in catalogue().items() if "ja" in v}
    # 受注単価 after 商談・ (a cost per opportunity / won deal) would read as the deal size.
    assert not [k for k, v in ja.items() if "商談・受注単価" in v]
    assert t("glossary.cpo", "ja") in ja["report.sheet.cost.about"]
    assert t("glossary.cost_per_opportunity", "ja") in ja["report.sheet.cost.about"]
