"""Column mapping: header synonyms (Japanese/English, API names), tolerance, content, overrides."""

from __future__ import annotations

import pytest

from funnel.errors import MappingError
from funnel.model.mapping import ColumnProfile, detect_mapping, resolve_column
from funnel.vocabulary import match_header, normalize_header


def best(side: str, header: str) -> str | None:
    found = match_header(side, header)
    return found[0][0] if found else None


@pytest.mark.parametrize(("side", "header", "field"), [
    ("ma", "メールアドレス", "email"), ("ma", "Eメール", "email"), ("ma", "E-mail", "email"),
    ("ma", "\ufeffEmail", "email"), ("ma", "ＥＭＡＩＬ", "email"), ("ma", "Email Address", "email"),
    ("ma", "リードソース", "source"), ("ma", "流入元", "source"), ("ma", "Lead Source", "source"),
    ("ma", "LeadSource", "source"), ("ma", "lead_source", "source"), ("ma", "Original Source", "source"),
    ("ma", "origin", "source"), ("ma", "最新ソース", "latest_source"),
    ("ma", "作成日", "created_at"), ("ma", "Create Date", "created_at"), ("ma", "first_contact_date", "created_at"),
    ("ma", "Became a Marketing Qualified Lead Date", "mql_date"),
    ("ma", 'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"', "mql_date"),
    ("ma", "SQL日", "sql_date"), ("ma", "Lead ID", "lead_id"), ("ma", "Id", "lead_id"), ("ma", "mql_id", "lead_id"),
    ("ma", "リード所有者", "owner"), ("ma", "Contact owner", "owner"), ("ma", "HubSpot Score", "score"),
    ("ma", "ライフサイクルステージ", "lifecycle_stage"), ("ma", "IsConverted", "converted"),
    ("sfa", "商談 ID", "deal_id"), ("sfa", "Opportunity ID", "deal_id"), ("sfa", "Record ID", "deal_id"),
    ("sfa", "フェーズ", "stage"), ("sfa", "StageName", "stage"), ("sfa", "Deal Stage", "stage"),
    ("sfa", "商談 所有者", "owner"), ("sfa", "商談所有者", "owner"), ("sfa", "Opportunity Owner", "owner"),
    ("sfa", "金額", "amount"), ("sfa", "失注理由", "loss_reason"), ("sfa", "LossReason__c", "loss_reason"),
    ("sfa", "Closed Lost Reason", "loss_reason"), ("sfa", "失注の原因", "loss_reason"),
    ("sfa", "完了予定日", "close_date"), ("sfa", "IsWon", "is_won"), ("sfa", "Is Closed Won", "is_won"),
    ("sfa", "取引先責任者メールアドレス", "email"), ("sfa", "契約金額(管理番号:1234)", "amount"),
    ("sfa", "won_date", "won_date"),
])
def test_header_synonyms(side, header, field):
    assert best(side, header) == field


@pytest.mark.parametrize(("side", "header"), [
    ("sfa", "Account ID"),          # an ID of another object is not the deal's own ID
    ("sfa", "Owner ID: 部署"),
    ("ma", "Do Not Email"),          # contains "email" but is a consent flag
    ("ma", "Email Opt Out"),
    ("ma", "Converted Opportunity ID"),
])
def test_headers_that_must_not_match_an_identity(side, header):
    assert best(side, header) not in ("deal_id", "lead_id", "email")


def test_normalize_header_forms():
    assert normalize_header("  ＬｅａｄＳｏｕｒｃｅ ") == "lead source"
    assert normalize_header("ConvertedOpportunityId") == "converted opportunity id"
    assert normalize_header("Loss_Reason__c") == "loss reason"
    assert normalize_header('"E-mail"') == "e-mail"


def prof(values: list[str | None]) -> ColumnProfile:
    filled = [v for v in values if v and v.strip()]
    return ColumnProfile(len(filled), tuple(v for v in values if v is not None))


def test_blank_email_header_is_passed_over_and_identity_falls_back():
    # A real Salesforce lead export: "Secondary Email" is the only email header and is blank.
    cols = ["Lead ID", "Secondary Email", "Lead Source"]
    profiles = {"Lead ID": prof(["00Q1", "00Q2"]), "Secondary Email": prof(["", ""]),
                "Lead Source": prof(["Web", "Partner"])}
    m = detect_mapping("ma", cols, profiles)
    assert m.column("email") is None
    assert m.column("lead_id") == "Lead ID"
    email = next(c for c in m.choices if c.field == "email")
    assert email.passed_over == ("Secondary Email",)


def test_email_found_by_content_when_no_header_names_it():
    cols = ["Record ID", "Deal Name", "Associated Contact"]
    profiles = {"Record ID": prof(["1", "2", "3"]), "Deal Name": prof(["A", "B", "C"]),
                "Associated Contact": prof(["Taro Yamada (t@example.jp);Hanako (h@example.jp)",
                                            "Jiro (j@example.jp)", ""])}
    m = detect_mapping("sfa", cols, profiles)
    assert m.column("email") == "Associated Contact"
    assert next(c for c in m.choices if c.field == "email").how == "content"


def test_filled_column_preferred_over_empty_synonym():
    cols = ["Loss_Reason__c", "LossReason__c"]
    profiles = {"Loss_Reason__c": prof(["", ""]), "LossReason__c": prof(["No Budget", ""])}
    assert detect_mapping("sfa", cols, profiles).column("loss_reason") == "LossReason__c"


def test_each_column_serves_one_field():
    cols = ["Stage", "Status"]
    profiles = {c: prof(["x"]) for c in cols}
    m = detect_mapping("sfa", cols, profiles)
    assert m.column("stage") == "Stage"
    assert list(m.columns.values()).count("Stage") == 1


def test_overrides_win_and_are_validated():
    cols = ["Email", "E-mail 2", "Lead Source"]
    profiles = {c: prof(["a@x.jp"]) for c in cols}
    m = detect_mapping("ma", cols, profiles, {"email": "E-mail 2", "source": None})
    assert m.column("email") == "E-mail 2" and m.column("source") is None
    with pytest.raises(MappingError) as bad_col:
        detect_mapping("ma", cols, profiles, {"email": "Mail 3"})
    assert "Mail 3" in bad_col.value.render("en")
    with pytest.raises(MappingError) as bad_field:
        detect_mapping("ma", cols, profiles, {"mail": "Email"})
    assert "mail" in bad_field.value.render("ja")


def test_resolve_column_is_tolerant():
    cols = ["Converted Opportunity ID", "Lead ID"]
    assert resolve_column(cols, "converted opportunity id") == "Converted Opportunity ID"
    assert resolve_column(cols, "Lead ID") == "Lead ID"
    assert resolve_column(cols, "Opportunity") is None
