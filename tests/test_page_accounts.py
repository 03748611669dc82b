"""The 企業（アカウント） page as a user sees it (AppTest on the bundled sample data): its numbers
are the CLI's ``accounts`` object, and the month, depth, company-only and match tables equal
what this test computes itself from the account tables (pandas over the rows, not the page's
SQL); the touch switch moves the sources; downloads hold what is shown; masking hides people
but keeps company names; a pair of exports without a company column gets a clear message.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

from funnel.i18n import t
from funnel.measures import accounts as acc
from funnel.measures.analysis import measure, to_json
from funnel.model.workspace import Workspace
from funnel.present.format import num, pct, source_label

PAGE = "views/accounts.py"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def engine(sample_ws: Workspace) -> Workspace:
    return sample_ws


@pytest.fixture(scope="module")
def contract(engine: Workspace) -> dict[str, dict[str, Any]]:
    """The CLI's ``accounts`` object for both touches (builds the account tables)."""
    return {touch: to_json(measure(engine, touch))["accounts"] for touch in ("first", "last")}


@pytest.fixture(scope="module")
def tables(engine: Workspace, contract: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The account tables and the rows they join, as plain frames."""
    con = engine.con
    return {"leads": con.sql("SELECT a.account, l.lead_key, l.created_at FROM account_leads a "
                             "JOIN leads l USING (lead_key)").df(),
            "opps": con.sql("SELECT a.account, a.by_lead, a.by_company, o.deal_id, o.outcome, o.created_at, "
                            "o.n_leads FROM account_opps a JOIN opps o USING (opp_key)").df(),
            "keys": con.sql("SELECT account, k FROM account_keys").df()}


@pytest.fixture
def page(app: Any, downloads: dict[str | None, Any]) -> Any:
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert [x.value for x in app.title] == ["企業（アカウント）"]
    return app


def col(key: str) -> str:
    return t(key, "ja")


def frame_with(at: Any, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if d.value.columns[0] == column]
    assert len(found) == 1, [d.value.columns[0] for d in at.dataframe]
    return found[0]


def csv_frame(data: bytes) -> pd.DataFrame:
    assert data.startswith("\ufeff".encode())
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, na_values=[""])


def test_kpis_are_the_contract(page, contract, engine):
    c = contract["first"]
    shown = {x.label: x.value for x in page.metric}
    assert shown[col("accounts.kpi.accounts")] == num(c["accounts"]) == "780"
    assert shown[col("accounts.kpi.converted")] == num(c["converted"]) == "212"
    assert shown[col("accounts.kpi.won")] == num(c["won"]) == "62"
    assert shown[col("accounts.kpi.rate")] == pct(c["account_rate"])
    lead = to_json(measure(engine, "first"))["overall"]
    assert shown[col("accounts.kpi.lead_rate")] == pct(lead["opportunity_rate"])
    assert c["account_rate"] > lead["opportunity_rate"]                     # people of one company share a deal
    text = " ".join(x.value for x in page.markdown)
    assert "商談のある企業 ÷ 企業数 ＝ 212 ÷ 780" in text and "商談に紐付いたリード ÷ リード" in text


def test_by_source_and_touch(page, contract):
    for touch in ("first", "last"):
        if touch == "last":
            page.radio(key="touch").set_value("last").run()
            assert not page.exception
        df = frame_with(page, col("accounts.page.col.source"))
        want = contract[touch]["by_source"]
        assert df[col("accounts.page.col.source")].tolist() == [source_label(r["source"], "ja") for r in want]
        assert df[col("accounts.page.col.accounts")].tolist() == [r["accounts"] for r in want]
        assert df[col("accounts.page.col.converted")].tolist() == [r["converted"] for r in want]
        assert df[col("accounts.page.col.rate")].tolist() == pytest.approx([r["account_rate"] for r in want])
    assert contract["first"]["by_source"] != contract["last"]["by_source"]


def test_by_month(page, tables, contract):
    leads, opps = tables["leads"], tables["opps"]
    month = leads.groupby("account")["created_at"].min().dt.strftime("%Y-%m")
    won = set(opps.loc[opps.outcome == "won", "account"])
    conv = set(opps["account"])
    want = (pd.DataFrame({"month": month, "conv": month.index.isin(conv), "won": month.index.isin(won)})
            .groupby("month").agg(accounts=("conv", "size"), converted=("conv", "sum"), won=("won", "sum")))
    df = frame_with(page, col("accounts.page.col.month"))
    assert df[col("accounts.page.col.month")].tolist() == want.index.tolist()
    assert df[col("accounts.page.col.accounts")].tolist() == want["accounts"].tolist()
    assert df[col("accounts.page.col.converted")].tolist() == want["converted"].tolist()
    assert df[col("accounts.page.col.won")].tolist() == want["won"].tolist()
    assert sum(df[col("accounts.page.col.accounts")]) == contract["first"]["accounts"]


def test_buying_group_depth(page, tables):
    leads, opps = tables["leads"], tables["opps"]
    first_opp = opps.groupby("account")["created_at"].min()
    depth = {}
    for account, group in leads.groupby("account"):
        at = first_opp.get(account)
        depth[account] = len(group) if at is None or pd.isna(at) else int(
            (group.created_at.isna() | (group.created_at <= at)).sum())
    band = {a: (str(d) if d <= 3 else "4–5" if d <= 5 else "6+") for a, d in depth.items()}
    conv = set(opps["account"])
    want: dict[str, list[int]] = {}
    for a, b in band.items():
        want.setdefault(b, [0, 0])
        want[b][0] += 1
        want[b][1] += a in conv
    labels = {"0": "0人", "1": "1人", "2": "2人", "3": "3人", "4–5": "4–5人", "6+": "6人以上"}
    df = frame_with(page, col("accounts.page.col.depth"))
    order = [b for b in ("0", "1", "2", "3", "4–5", "6+") if b in want]
    assert df[col("accounts.page.col.depth")].tolist() == [labels[b] for b in order]
    assert df[col("accounts.page.col.accounts")].tolist() == [want[b][0] for b in order]
    assert df[col("accounts.page.col.converted")].tolist() == [want[b][1] for b in order]
    assert df[col("accounts.page.col.rate")].tolist() == pytest.approx([want[b][1] / want[b][0] for b in order])


def test_deals_tied_by_company_only(page, tables, contract):
    opps = tables["opps"]
    want = opps[opps.by_company & (opps.n_leads == 0)]
    df = frame_with(page, col("accounts.col.account_name"))
    assert len(df) == len(want) == contract["first"]["opportunities_by_account_only"] == 31
    assert sorted(df[col("accounts.col.deal_id")]) == sorted(want["deal_id"])
    text = " ".join(x.value for x in page.markdown)
    assert f"**{len(want)}** 件（{want['account'].nunique()} 社）" in text


def test_match_report(page, tables, contract):
    keys = tables["keys"]
    kinds = keys.assign(kind=keys.k.str[:1]).groupby("account")["kind"].agg(lambda s: "".join(sorted(set(s))))
    assert (kinds == "cd").all()                 # every sample account: a name and a domain, no number
    df = frame_with(page, col("accounts.match.col.formed"))
    assert df.to_dict("records") == [{col("accounts.match.col.formed"): "企業名 + ドメイン",
                                      col("accounts.match.col.accounts"): contract["first"]["accounts"],
                                      col("accounts.match.col.share"): 1.0}]
    assert [s.value for s in page.success] == [col("accounts.match.none_to_check")]
    every = frame_with(page, col("accounts.match.col.company"))
    assert len(every) == 780 and every[col("accounts.match.col.leads")].sum() == len(tables["leads"])
    assert every.iloc[0][col("accounts.match.col.company")] == "株式会社柏木システムズ"
    assert col("accounts.edit.none") in " ".join(c.value for c in page.caption)


def test_merge_and_split_edit_the_page_not_the_contract(page, engine, contract):
    """Merging the two largest accounts takes one account off the page; splitting a lead off the
    merged one adds one back; undo restores the automatic rule. The CLI's object stays the raw
    rule (the contract fixture, and a fresh measure of the engine after the edits)."""
    def accounts() -> str:
        return {x.label: x.value for x in page.metric}[col("accounts.kpi.accounts")]

    largest = [m for m in acc.matches(engine.con)][:2]
    page.selectbox(key="accounts_merge_from").set_value(largest[1].key)
    page.selectbox(key="accounts_merge_into").set_value(largest[0].key).run()
    page.button(key="accounts_merge").click().run()
    assert not page.exception
    assert accounts() == num(contract["first"]["accounts"] - 1)
    merged = frame_with(page, col("accounts.match.col.company")).iloc[0]
    assert merged[col("accounts.match.col.leads")] == largest[0].leads + largest[1].leads
    assert "統合" in " ".join(x.value for x in page.markdown)

    page.selectbox(key="accounts_split_account").set_value(largest[0].key).run()
    people = acc.members(engine.con, largest[0].account)
    assert len(page.selectbox(key="accounts_split_lead").options) == largest[0].leads + largest[1].leads
    page.selectbox(key="accounts_split_lead").set_value(people[0]["lead_key"]).run()
    page.button(key="accounts_split_lead_go").click().run()
    assert not page.exception
    assert accounts() == num(contract["first"]["accounts"])
    # Splitting the domain off: every sample lead also holds its company name, which keeps it
    # where it was (the engine's tests split accounts by a key).
    page.selectbox(key="accounts_split_key").set_value(f"d:{largest[0].domain_list}").run()
    page.button(key="accounts_split_key_go").click().run()
    assert not page.exception
    assert accounts() == num(contract["first"]["accounts"])
    assert f"キー {largest[0].domain_list} を切り離し" in " ".join(x.value for x in page.markdown)
    for kind in ("split_keys", "split_leads", "merges"):
        page.button(key=f"accounts_undo_{kind}_0").click().run()
    assert accounts() == num(contract["first"]["accounts"])
    assert col("accounts.edit.none") in " ".join(c.value for c in page.caption)
    assert to_json(measure(engine, "first"))["accounts"] == contract["first"]


def test_downloads_hold_what_is_shown(page, downloads):
    for name, first in (("accounts_by_source.csv", "accounts.page.col.source"),
                        ("accounts_by_month.csv", "accounts.page.col.month"),
                        ("accounts_buying_group_depth.csv", "accounts.page.col.depth"),
                        ("opportunities_by_account_only.csv", "accounts.col.account_name"),
                        ("account_formation.csv", "accounts.match.col.formed"),
                        ("account_match_report.csv", "accounts.match.col.company")):
        shown = frame_with(page, col(first))
        got = csv_frame(downloads[name])
        assert list(got.columns) == list(shown.columns), name
        assert len(got) == len(shown), name
        assert got.iloc[:, 0].tolist() == shown.iloc[:, 0].tolist(), name


def test_masking_keeps_companies_and_hides_people(page, downloads):
    before = frame_with(page, col("accounts.col.account_name"))
    contact = col("accounts.col.contact")
    assert before[contact].dropna().str.contains(r"^[a-z.\-]+@", regex=True).any()
    page.session_state["mask_pii"] = True
    page.run()
    assert not page.exception
    after = frame_with(page, col("accounts.col.account_name"))
    # The table shown and the download (masked as the switch stands at click time).
    got = csv_frame(downloads["opportunities_by_account_only.csv"])
    for frame in (got, after):
        assert frame[col("accounts.col.account_name")].tolist() == before[col("accounts.col.account_name")].tolist()
        addresses = frame[contact].dropna()
        assert len(addresses) and addresses.str.contains(r"\*\*\*@", regex=True).all()


def test_english(page):
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert [x.value for x in page.title] == ["Accounts"]
    assert {"Accounts", "Accounts with an opportunity", "Won accounts", "Account opportunity rate"} <= {
        x.label for x in page.metric}
    assert "People engaged before the deal" in [d.value.columns[0] for d in page.dataframe]


def test_exports_without_a_company_column_say_so(app):
    ma = "メールアドレス,リードソース,作成日\na@x.jp,展示会,2025/04/01\nb@x.jp,Web広告,2025/04/02\n".encode()
    sfa = "商談 ID,フェーズ,メールアドレス\nO1,6.受注,a@x.jp\n".encode()
    app.file_uploader(key="up_ma").set_value(("leads.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("deals.csv", sfa, "text/csv")).run()
    assert not app.exception
    app.switch_page(PAGE).run()
    assert not app.exception
    assert [i.value for i in app.info] == [t("accounts.none", "ja")]
    assert not app.dataframe and not app.metric


def test_merges_to_check_on_uploaded_exports(app, tmp_path, downloads):
    """The hand-worked world of tests/test_accounts.py: three accounts to check, each with its
    reason, as the engine finds them; the list downloads as shown."""
    from test_accounts import MA_HEADER, PAGE_MA, PAGE_SFA, SFA_HEADER, _csv

    from funnel.ingest.reader import Source
    from funnel.measures import accounts as acc

    ma = _csv(MA_HEADER, PAGE_MA).encode()
    sfa = _csv({**SFA_HEADER, "created": "作成日"}, PAGE_SFA).encode()
    app.file_uploader(key="up_ma").set_value(("leads.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("deals.csv", sfa, "text/csv")).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    (tmp_path / "ma.csv").write_bytes(ma)
    (tmp_path / "sfa.csv").write_bytes(sfa)
    ws = Workspace()
    try:
        ws.load("ma", Source.from_path(tmp_path / "ma.csv"))
        ws.load("sfa", Source.from_path(tmp_path / "sfa.csv"))
        acc.build(ws.con, ws.build().mappings)
        flagged = [m for m in acc.matches(ws.con) if m.checks]
    finally:
        ws.close()
    shown = {x.label: x.value for x in app.metric}
    for c in acc.CHECKS:
        assert shown[t(f"accounts.check.{c}", "ja")] == num(sum(c in m.checks for m in flagged)) == "1"
    # The list to check, then every account (in an expander).
    df, every = [d.value for d in app.dataframe if d.value.columns[0] == col("accounts.match.col.company")]
    assert len(every) == 5 and len(df) == 3
    assert df[col("accounts.match.col.company")].tolist() == [m.company or "（企業名なし）" for m in flagged]
    assert df[col("accounts.match.col.checks")].tolist() == [
        " / ".join(t(f"accounts.check.{c}", "ja") for c in m.checks) for m in flagged]
    assert set(df[col("accounts.match.col.checks")]) == {"ドメインのみで合流した社名", "複数の法人番号", "プレースホルダーの企業名"}
    got = csv_frame(downloads["accounts_to_check.csv"])
    pd.testing.assert_frame_equal(got, df.reset_index(drop=True), check_dtype=False)


def test_target_account_list(page, engine, contract):
    listed = "企業名\n株式会社柏木システムズ\nhttps://www.takahashi-shoji.example.com/about\n㈱翠光不動産\n存在しない株式会社\n" \
             "foo@kirishima-tsusho.example.jp\n"
    page.file_uploader(key="accounts_targets").set_value(("targets.csv", listed.encode(), "text/csv")).run()
    assert not page.exception, page.exception
    # Deals and wins of these four accounts, as the report's account list (another query) has them.
    from funnel.sql import accounts as q
    by_name = {r["company"]: r for r in q.account_list(engine.con, 1000)}
    names = ["株式会社柏木システムズ", "髙橋商事株式会社", "株式会社翠光不動産", "有限会社霧島通商"]
    shown = {x.label: x.value for x in page.metric}
    assert shown["リストの企業"] == "5" and shown["接点あり"] == "4"
    assert shown["商談あり"] == num(sum(by_name[n]["opps"] > 0 for n in names)) == "4"
    assert shown["受注"] == num(sum(by_name[n]["won"] > 0 for n in names)) == "3"
    df = frame_with(page, col("accounts.abm.col.target"))
    assert df[col("accounts.abm.col.company")].tolist()[:3] == names[:3]
    assert df[col("accounts.abm.col.found_by")].tolist() == ["企業名", "ドメイン", "企業名", "接点なし", "ドメイン"]
    assert df[col("accounts.abm.col.opps")].tolist() == [by_name[n]["opps"] for n in names[:3]] + [0, by_name[names[3]]["opps"]]


def test_an_unreadable_target_list_gets_a_message(page):
    page.file_uploader(key="accounts_targets").set_value(("targets.xlsx", b"not a workbook at all", XLSX)).run()
    assert not page.exception, page.exception
    assert len(page.error) == 1 and "targets.xlsx" in page.error[0].value
    assert not any(d.value.columns[0] == col("accounts.abm.col.target") for d in page.dataframe)
