"""Owner IDs resolved by a users export (issue 16): given on the upload page, held by the
Session, saved with the workspace and applied to the owner columns of the loss and SLA pages.
Expected names come from the users file itself, the counts from the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from funnel.i18n import t
from funnel.measures import loss as L
from funnel.model import saved
from funnel.model.owners import named, read_users
from funnel.model.session import Session
from funnel.model.session_json import read_session_part
from funnel.model.workspace import Workspace
from tests.test_page_rate import open_page
from tests.test_page_rate_sources import upload

# Two Salesforce users: one written in its 15-character form in the export and its 18-character
# form in the users list (the same user), one in the 18-character form on both sides.
ANN, BEN = "0055A000009GjocQAC", "0055A000008Xyz1QAC"
MA = "メールアドレス,リードソース,作成日\na@x.jp,展示会,2025/04/01\nb@x.jp,Web,2025/04/02\nc@x.jp,Web,2025/04/03\n"
SFA = ("商談 ID,フェーズ,メールアドレス,金額,作成日,完了予定日,失注理由,Owner ID\n"
       f"O1,7.失注,a@x.jp,1000,2025/04/05,2025/05/01,価格,{ANN[:15]}\n"
       f"O2,7.失注,b@x.jp,2000,2025/04/06,2025/05/02,競合,{BEN}\n"
       f"O3,7.失注,c@x.jp,3000,2025/04/07,2025/05/03,競合,{BEN}\n")
USERS = f"Id,Name\n{ANN},Ann Abe\n{BEN},Ben Bell\n0055A000001Other,Other Person\n"


def session_with_users() -> Session:
    s = Session()
    s.data.attach(Workspace())
    s.use_uploads("ma", [("ma.csv", MA.encode())])
    s.use_uploads("sfa", [("sfa.csv", SFA.encode())])
    assert s.load_users_file("users.csv", USERS.encode()) is None
    return s


def test_the_users_export_is_held_by_the_session_and_saved_with_the_workspace(tmp_path: Path) -> None:
    s = session_with_users()
    try:
        v = s.version
        assert s.load_users_file("users.csv", USERS.encode()) is None and s.version == v   # read once
        assert s.users is not None and s.users.name(ANN[:15]) == "Ann Abe" and s.users_file == "users.csv"
        s.ensure_built()
        path = saved.save(s.data.workspace, tmp_path / "a.funnel", **s.save_arguments("ja"))
        back = Session()
        back.data.attach(Workspace())
        part = read_session_part(saved.read_manifest(path, path.name)["session"])
        back.apply_saved(part, saved.restore(back.data.workspace, path, path.name, build=False))
        try:
            assert back.user_names == s.user_names == dict(read_users(USERS.encode()).names)
            assert back.users_file == "users.csv" and back.to_json() == s.to_json()
            back.ensure_built()
            owners = {g.group for g in named(back.users, L.breakdown(back.data.workspace.con, "owner", "first"))}
            assert owners == {"Ann Abe", "Ben Bell"}
        finally:
            back.close()
        s.set_users(None, None)
        assert s.users is None and "users" in s.to_json() and s.to_json()["users"] is None
        # The same file given again after a removal is read again.
        assert s.load_users_file("users.csv", USERS.encode()) is None and s.users is not None
        # A file without an ID or a name column is refused with its name, the names kept.
        failed = s.load_users_file("bad.csv", b"foo,bar\n1,2\n")
        assert failed is not None and "bad.csv" in failed.render("ja") and s.users is not None
    finally:
        s.close()


def _upload_users(at: Any, name: str, data: bytes) -> None:
    at.switch_page("views/upload.py").run()
    key = next(u.key for u in at.get("file_uploader") if u.key and u.key.startswith("up_users"))
    at.file_uploader(key=key).set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception


def shown_owners(at: Any) -> dict[str, str]:
    """Deal ID → owner in the loss page's list of lost deals (its most frequent category)."""
    head = t("loss.deals.col.owner", "ja")
    deals = next(d.value for d in at.dataframe if head in d.value.columns)
    return dict(zip(deals[t("loss.deals.col.deal_id", "ja")], deals[head], strict=True))


def test_loss_and_sla_pages_show_owner_names_once_a_users_export_is_added() -> None:
    at = open_page("views/upload.py")
    upload(at, MA.encode(), SFA.encode())
    at.switch_page("views/loss.py").run()
    assert shown_owners(at) == {"O2": BEN, "O3": BEN}                       # IDs, as the export has them
    flag = t("loss.owner_ids", "ja", crm="Salesforce")
    at.session_state["loss_by_tab_ja"] = t("loss.by.owner", "ja")
    at.run()
    assert flag in [c.value for c in at.caption]                              # flagged as IDs
    at.switch_page("views/sla.py").run()
    assert flag in [c.value for c in at.caption]                              # on the SLA page too
    at.switch_page("views/loss.py").run()

    _upload_users(at, "users.csv", USERS.encode())
    shown = at.caption
    assert any("users.csv" in m.value and "3 人" in m.value for m in shown), [m.value for m in shown]
    at.switch_page("views/loss.py").run()
    assert not at.exception, at.exception
    assert shown_owners(at) == {"O2": "Ben Bell", "O3": "Ben Bell"}
    by_owner = next(d.value for d in at.dataframe if t("loss.by.owner", "ja") in d.value.columns)
    assert dict(zip(by_owner[t("loss.by.owner", "ja")], by_owner[t("loss.by.total", "ja")], strict=True)) == {
        "Ben Bell": 2, "Ann Abe": 1}
    assert flag not in [c.value for c in at.caption]                          # nothing left to flag

    at.switch_page("views/sla.py").run()
    assert not at.exception, at.exception
    assert flag not in [c.value for c in at.caption]
    close_head = t("sla.col.owner", "ja")
    tables = [d.value for d in at.dataframe if close_head in d.value.columns]
    assert tables and all(set(df[close_head]) <= {"Ann Abe", "Ben Bell", t("term.no_owner", "ja")} for df in tables)
    assert any("Ben Bell" in set(df[close_head]) for df in tables)

    # Removed on the upload page: IDs again.
    at.switch_page("views/upload.py").run()
    at.button(key="rm_users").click().run()
    at.switch_page("views/loss.py").run()
    assert shown_owners(at) == {"O2": BEN, "O3": BEN}


def test_a_users_file_without_id_and_name_columns_is_named_in_the_error() -> None:
    at = open_page("views/upload.py")
    _upload_users(at, "people.csv", b"foo,bar\n1,2\n")
    assert [e.value for e in at.error] == [f"people.csv: {t('error.users.columns', 'ja', found='foo, bar')}"]
