"""データ取込 page through AppTest: opens on the sample data, takes a CP932 CSV and an XLSX
through the uploaders, applies a mapping change from the editor, switches language, and
offers downloads whose content is what the page shows."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
from conftest import SAMPLE

from funnel.ingest.reader import Source
from funnel.measures.analysis import run_analysis

MA_CP932 = ("メールアドレス,会社名,リードソース,作成日\r\n"
            "yamada@takahashi.example.jp,㈱髙橋製作所,展示会,2025/04/01\r\n"
            "sato@ichi.example.jp,①商事,Web広告,2025/04/02\r\n"
            ",空メール㈱,展示会,2025/04/03\r\n").encode("cp932")


def sfa_xlsx() -> bytes:
    """A Salesforce-style formatted report: title rows, table from column B, a footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "商談"
    ws.append(["商談レポート"])
    ws.append([])
    ws.append([None, "商談 ID", "フェーズ", "取引先責任者メールアドレス", "失注理由"])
    ws.append([None, "O1", "6.受注", "YAMADA@takahashi.example.jp", None])
    ws.append([None, "O2", "7.失注", "other@else.example.jp", "予算不足"])
    ws.append([])
    ws.append([None, "機密情報 - 配布禁止"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def frame_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def link_summary(at) -> str:
    return next(s.value for s in at.success if "🔗" in str(s.proto.icon) or "紐付" in s.value or "Linked" in s.value)


def test_opens_on_sample_data_with_the_engines_numbers(app):
    assert not app.exception
    assert app.title[0].value == "データ取込"
    assert any("サンプルデータを表示中" in i.value for i in app.info)
    data = run_analysis([Source.from_path(SAMPLE / "ma_leads.csv")],
                        [Source.from_path(SAMPLE / "sfa_opportunities.xlsx")])
    summary = link_summary(app)
    assert f"リード {data['ma']['leads']:,} 件" in summary
    assert f"商談 {data['sfa']['opportunities']:,} 件" in summary
    assert f"紐付いた商談 {data['match']['opportunities_linked']:,} 件" in summary
    acc = frame_with(app, "合計一致")
    assert list(acc["合計一致"]) == ["✅", "✅"]
    assert list(acc["リード数"].dropna())[:1] == [data["ma"]["leads"]]


def test_cp932_csv_and_xlsx_through_the_uploaders(app):
    app.file_uploader(key="up_ma").set_value(("leads_sjis.csv", MA_CP932, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("deals.xlsx", sfa_xlsx(), "application/vnd.ms-excel")).run()
    assert not app.exception
    assert any("アップロードしたデータを表示中" in s.value for s in app.success)
    labels = [e.label for e in app.expander]
    assert any(lab.startswith("leads_sjis.csv — データ 3 行") for lab in labels)
    assert any(lab.startswith("deals.xlsx — データ 2 行（除外 2 行）") for lab in labels)
    summary = link_summary(app)
    assert "リード 2 件" in summary and "商談 2 件" in summary and "紐付いた商談 1 件" in summary
    preview = next(d.value for d in app.dataframe if "会社名" in d.value.columns)
    assert list(preview["会社名"]) == ["㈱髙橋製作所", "①商事", "空メール㈱"]   # CP932-only characters intact
    report = next(d.value for d in app.dataframe if "項目" in d.value.columns and "CP932 (Shift_JIS)" in set(d.value["値"]))
    assert not report.empty
    acc = frame_with(app, "合計一致")
    ma = acc.iloc[0]
    assert (ma["ファイルの行"], ma["除外した行"], ma["データ行"], ma["取り込んだ行"], ma["キーのない行"]) == (3, 0, 3, 2, 1)


def test_mapping_change_in_the_editor_relinks(app):
    ma = ("連絡先A,連絡先B,リードソース\n"
          "a@corp.example.jp,a@home.example.jp,展示会\n"
          "b@corp.example.jp,x@home.example.jp,Web広告\n").encode()
    sfa = b"deal id,stage,email\nD1,Closed Won,a@home.example.jp\n"
    app.file_uploader(key="up_ma").set_value(("m.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("s.csv", sfa, "text/csv")).run()
    assert "紐付いた商談 0 件" in link_summary(app)
    editor = next(e for e in app.data_editor if e.key == "map_ma")
    fields = list(editor.value["field"])
    app.session_state["map_ma"] = {"edited_rows": {fields.index("メールアドレス"): {"column": "連絡先B"}},
                                   "added_rows": [], "deleted_rows": []}
    app.run()
    assert not app.exception
    assert "紐付いた商談 1 件" in link_summary(app)
    assert "連絡先B" in link_summary(app)


def test_link_on_an_id_pair(app):
    ma = b"mql_id,origin\nm1,social\nm2,paid\nm3,paid\n"
    sfa = b"mql_id,won_date\nm2,2025-01-02\nm3,2025-01-05\n"
    app.file_uploader(key="up_ma").set_value(("mql.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("won.csv", sfa, "text/csv")).run()
    summary = link_summary(app)
    assert "mql_id" in summary and "紐付いた商談 2 件" in summary   # chosen automatically: no email


def test_switching_language(app):
    app.radio(key="lang_choice").set_value("en").run()
    assert not app.exception
    assert app.title[0].value == "Upload & mapping"
    assert any("Showing the sample data" in i.value for i in app.info)


def test_back_to_sample_after_upload(app):
    app.file_uploader(key="up_ma").set_value(("leads_sjis.csv", MA_CP932, "text/csv")).run()
    app.button(key="back_to_sample").click().run()
    assert any("サンプルデータを表示中" in i.value for i in app.info)
    assert all(not (u.value or []) for u in app.file_uploader)   # the uploaders were emptied
    app.run()
    assert any("サンプルデータを表示中" in i.value for i in app.info)   # and stay on the sample


def test_unusable_file_gets_a_clear_message_and_the_page_keeps_working(app):
    app.file_uploader(key="up_ma").set_value([("notes.csv", b"", "text/csv"),
                                              ("leads_sjis.csv", MA_CP932, "text/csv")]).run()
    assert not app.exception
    assert any("notes.csv" in e.value and "空" in e.value for e in app.error)
    assert any(lab.startswith("leads_sjis.csv") for lab in [e.label for e in app.expander])


def test_downloads_hold_what_is_shown(app, downloads):
    app.run()
    acc = frame_with(app, "合計一致")
    payload = downloads["row_accounting.csv"]
    assert payload.startswith("\ufeff".encode())                     # Excel-friendly BOM
    got = pd.read_csv(io.BytesIO(payload), encoding="utf-8-sig")
    assert list(got.columns) == list(acc.columns)
    assert got["データ行"].tolist() == acc["データ行"].tolist()
    nokey = downloads.get("rows_without_key_ma.csv")
    assert nokey is not None and len(pd.read_csv(io.BytesIO(nokey), encoding="utf-8-sig")) == acc.iloc[0]["キーのない行"]


def test_after_one_export_the_page_says_in_place_which_is_missing(app):
    app.file_uploader(key="up_ma").set_value(("leads_sjis.csv", MA_CP932, "text/csv")).run()
    assert not app.exception
    warnings = [w.value for w in app.warning]
    assert len(warnings) == 1, warnings
    said = warnings[0]
    assert "SFA（商談）" in said and "この画面" in said and "MA（リード）のファイルは読み込みました" in said
    assert "データ取込ページ" not in said          # not "upload on the page you are on"
    app.radio(key="lang_choice").set_value("en").run()
    said = next(w.value for w in app.warning)
    assert "SFA (opportunities)" in said and "on this page" in said and "Upload page" not in said
    # With both files the warning goes.
    app.file_uploader(key="up_sfa").set_value(("deals.xlsx", sfa_xlsx(), "application/vnd.ms-excel")).run()
    assert not [w.value for w in app.warning if "SFA" in w.value]


def test_the_link_radio_shows_the_rule_in_use(app):
    assert app.radio(key="link_kind").value == "email"        # the sample links on email
    ma = b"mql_id,origin\nm1,social\nm2,paid\nm3,paid\n"
    sfa = b"mql_id,won_date\nm2,2025-01-02\nm3,2025-01-05\n"
    app.file_uploader(key="up_ma").set_value(("mql.csv", ma, "text/csv")).run()
    app.file_uploader(key="up_sfa").set_value(("won.csv", sfa, "text/csv")).run()
    assert not app.exception
    assert "ID" in link_summary(app) and "mql_id" in link_summary(app)
    assert app.radio(key="link_kind").value == "id"           # an auto-chosen ID link shows as ID
    assert any("自動的に紐付け" in c.value and "mql_id" in c.value for c in app.caption)
    app.run()
    assert app.radio(key="link_kind").value == "id"           # and stays so on a rerun
    # Back to the sample (email link): the radio follows.
    app.button(key="back_to_sample").click().run()
    assert app.radio(key="link_kind").value == "email"


def test_choosing_id_then_email_on_the_sample(app):
    app.radio(key="link_kind").set_value("id").run()
    assert not app.exception
    assert app.radio(key="link_kind").value == "id"
    assert app.selectbox(key="link_ma").value and "ID" in link_summary(app)
    app.radio(key="link_kind").set_value("email").run()
    assert not app.exception
    assert app.radio(key="link_kind").value == "email" and "メール" in link_summary(app)


# -- an activity export given while the sample is shown (issue 18) --------------------------------
ACTIVITY_CSV = ("メールアドレス,日時,アクション,キャンペーン\n"
                "watanabe.kenta@tokiwa-foods.example.co.jp,2025/05/01 10:00,資料ダウンロード,自社テスト\n"
                "nobody@unknown.example.jp,2025/05/02 11:00,Webページ訪問,\n").encode()


def test_activity_upload_keeps_the_sample_and_says_so(app):
    app.file_uploader(key="up_activity").set_value(("my_activity.csv", ACTIVITY_CSV, "text/csv")).run()
    assert not app.exception and not app.error
    labels = [e.label for e in app.expander]
    # The sample's MA and SFA stay, measured as before; the sample's activity log was replaced.
    assert any(lab.startswith("ma_leads.csv") for lab in labels)
    assert any(lab.startswith("sfa_opportunities.xlsx") for lab in labels)
    assert any(lab.startswith("my_activity.csv — データ 2 行") for lab in labels)
    assert not any(lab.startswith("activity_log.csv") for lab in labels)
    data = run_analysis([Source.from_path(SAMPLE / "ma_leads.csv")], [Source.from_path(SAMPLE / "sfa_opportunities.xlsx")])
    assert f"リード {data['ma']['leads']:,} 件" in link_summary(app)
    assert any("サンプルのMAリードとSFA商談に、アップロードした行動履歴" in w.value for w in app.warning)
    app.run()                                       # a rerun with the file still in the uploader: nothing changes
    assert any("サンプルのMAリードとSFA商談に" in w.value for w in app.warning)
    app.switch_page("views/activity.py").run()
    assert not app.exception
    shown = {m.label: m.value for m in app.metric}
    assert shown["イベント"] == "2" and shown["リード外のイベント"] == "1"


def test_own_exports_after_an_activity_upload_keep_the_activity(app):
    app.file_uploader(key="up_activity").set_value(("my_activity.csv", ACTIVITY_CSV, "text/csv")).run()
    app.file_uploader(key="up_ma").set_value(("leads_sjis.csv", MA_CP932, "text/csv")).run()
    assert not app.exception
    assert any("アップロードしたデータを表示中" in s.value for s in app.success)
    labels = [e.label for e in app.expander]
    assert any(lab.startswith("my_activity.csv") for lab in labels)            # the user's activity stays
    assert not any(lab.startswith(("ma_leads.csv", "sfa_opportunities.xlsx", "activity_log.csv")) for lab in labels)


def test_back_to_the_sample_activity(app):
    app.file_uploader(key="up_activity").set_value(("my_activity.csv", ACTIVITY_CSV, "text/csv")).run()
    app.button(key="back_to_sample").click().run()
    assert not app.exception
    assert any("サンプルデータを表示中" in i.value for i in app.info) and not app.warning
    labels = [e.label for e in app.expander]
    assert any(lab.startswith("activity_log.csv") for lab in labels)
    assert not any(lab.startswith("my_activity.csv") for lab in labels)
