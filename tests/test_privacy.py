"""Masking for screen sharing, and no personal data in logs or left behind.

- The engine's maskers (``t***@example.co.jp``, ``山***``, ``J***``) and which columns they apply
  to: declared roles (emails, lead/contact names) — never sales owners or company names — and,
  by content, any email address wherever it is. A property test: a masked frame holds no
  original local part.
- The app with the switch on: no page registered in app.py shows an unmasked email of the
  sample data, in any element (tables, editors, markdown, metrics, captions, charts), and no
  download (CSV or Excel) holds one; name columns show only masked names; the switch stays
  on across page switches. With the switch off, the same pages do show the addresses (the
  check can see them).
- Logs: a load + build + analysis at DEBUG, and CLI runs (a success and an error), write no
  email or name of the data.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from funnel.i18n import catalogue
from funnel.measures.analysis import measure
from funnel.model.workspace import Workspace
from funnel.present import privacy
from funnel.present.privacy import mask_email, mask_frame, mask_name, mask_phone, mask_value, role_of
from funnel.vocabulary import fields
from tests.conftest import ROOT, SAMPLE, load_sample

# -- the maskers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "want"), [
    ("taro@example.co.jp", "t***@example.co.jp"),
    ("TARO.YAMADA+news@Example.CO.JP", "T***@Example.CO.JP"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "ｔ***＠ｅｘａｍｐｌｅ．ｊｐ"),          # full-width, as exported
    ("mailto:taro@example.jp", "mailto:t***@example.jp"),
    ("a@b.jp; c@d.jp", "a***@b.jp; c***@d.jp"),
    ("「taro@x.jp␣」 / 「TARO@X.JP」", "「t***@x.jp␣」 / 「T***@X.JP」"),
    ("tanaka@example", "t***@example"),                                  # invalid, still personal
    ("no address here", "no address here"),
    ("@SUM(A1)", "@SUM(A1)"),
])
def test_mask_email(raw: str, want: str) -> None:
    assert mask_email(raw) == want
    assert mask_email(want) == want                                      # idempotent


@pytest.mark.parametrize(("raw", "want"), [
    ("山田 太郎", "山***"), ("John Smith", "J***"), ("  髙橋", "髙***"), ("彩", "***"), ("", ""),
])
def test_mask_name(raw: str, want: str) -> None:
    assert mask_name(raw) == want


def test_mask_phone() -> None:
    assert mask_phone("03-1234-5678") == "03-****-****"
    assert mask_phone("+81 90 1234 5678") == "+81 ** **** ****"


@pytest.mark.parametrize(("raw", "want"), [
    ("山田 太郎 <taro@x.jp>", "山*** 太*** <t***@x.jp>"),          # a display name goes too
    ("tanaka", "t***"),                                                 # a bare local part
    ("「tanaka」", "「t***」"),
    ("なし", "なし"), ("-", "-"), ("不明", "不明"),                       # placeholders stay
])
def test_cells_of_an_email_column(raw: str, want: str) -> None:
    assert mask_value(raw, "email") == want


def test_values_that_are_not_text_are_untouched() -> None:
    for v in (None, -1, 2.5, True, pd.Timestamp("2025-04-01")):
        assert mask_value(v, "email") is v and mask_value(v, "name") is v and mask_value(v) is v


@pytest.mark.parametrize(("header", "role"), [
    ("メールアドレス", "email"), ("取引先責任者: メール", "email"), ("E-mail 2", "email"), ("Email", "email"),
    ("email_raw", "email"), ("メールアドレス（正規化後）", "email"), ("Email (as exported)", "email"),
    ("氏名", "name"), ("苗字", "name"), ("名前", "name"), ("Last Name", "name"), ("Contact Name", "name"),
    ("電話番号", "phone"),
    # not personal: the sales owner is an employee; the company is the point of B2B
    ("担当者", None), ("商談 所有者", None), ("Lead Owner", None), ("Contact Owner", None), ("owner", None),
    ("会社名", None), ("企業名", None), ("Account Name", None), ("company", None),
    ("商談名", None), ("流入元", None), ("部署名", None), ("スコア", None),
])
def test_column_roles(header: str, role: str | None) -> None:
    assert role_of(header) == role


def test_declared_roles_refer_to_real_fields_and_messages() -> None:
    known = catalogue()
    for role, keys in privacy.declared_labels().items():
        assert all(k in known for k in keys), (role, [k for k in keys if k not in known])
    for role in privacy.roles():
        for side, name in privacy._roles()[role].fields:
            assert name in fields(side)
    for side, name in privacy._not_personal():
        assert name in fields(side)


def test_mask_frame_by_role_and_by_content() -> None:
    df = pd.DataFrame({
        "メールアドレス": ["taro@a.example.jp", None, "なし"],
        "苗字": ["山田", "林", None],
        "担当者": ["中島 美穂", "石田 翔", "sato@ours.example.jp"],           # owner: only an address goes
        "会社名": ["株式会社青葉工業", "髙橋商事株式会社", "X"],
        "理由": ["元の行: hanako@b.example.jp,花子", "ok", None],             # a set-aside raw row
        "金額": [-1200, 0, 3],
        "作成日": pd.to_datetime(["2025-04-01", None, "2025-04-03"]),
    })
    out = mask_frame(df)
    assert list(out["メールアドレス"].fillna("∅")) == ["t***@a.example.jp", "∅", "なし"]
    assert list(out["苗字"].fillna("∅")) == ["山***", "***", "∅"]
    assert list(out["担当者"]) == ["中島 美穂", "石田 翔", "s***@ours.example.jp"]
    assert list(out["会社名"]) == list(df["会社名"])
    assert out["理由"][0] == "元の行: h***@b.example.jp,花子"
    assert out["金額"].tolist() == [-1200, 0, 3] and out["金額"].dtype == df["金額"].dtype
    assert out["作成日"].equals(df["作成日"])
    assert df["メールアドレス"][0] == "taro@a.example.jp"                   # the input is not changed


def test_mask_frame_explicit_roles_and_headers() -> None:
    df = pd.DataFrame({"a": ["山田 太郎"], "b": ["taro@x.jp"], "c@x.jp": [1]})
    out = mask_frame(df, {"a": "name", "b": None})
    assert out["a"][0] == "山***" and out["b"][0] == "t***@x.jp"             # content beats "not personal"
    assert list(out.columns) == ["a", "b", "c***@x.jp"]


LOCAL = hs.text(alphabet="abcdefghijklm0123456789._-+", min_size=2, max_size=12).filter(
    lambda s: s[0].isalnum())
DOMAIN = hs.from_regex(r"[n-z]{1,8}(\.[n-z]{2,5}){1,2}", fullmatch=True)
FILLER = hs.text(alphabet="あいうえお 株式会社、,;<>「」（）", max_size=6)


@settings(max_examples=150, deadline=None)
@given(hs.lists(hs.tuples(LOCAL, DOMAIN, FILLER, FILLER, hs.booleans()), min_size=1, max_size=12))
def test_masked_frame_holds_no_original_local_part(people: list[tuple[str, str, str, str, bool]]) -> None:
    # Addresses in an email column, inside free text of an unknown column, and in an owner
    # column; locals (a–m) and domains (n–z) never share letters, so a local part found in the
    # masked text can only be a leak.
    emails = [f"{loc}@{dom}" for loc, dom, *_ in people]
    df = pd.DataFrame({
        "メールアドレス": [e.upper() if up else e for e, (*_, up) in zip(emails, people, strict=True)],
        "メモ": [f"{a}{e}{b}" for e, (_, _, a, b, _) in zip(emails, people, strict=True)],
        "担当者": [f"担当 <{e}>" for e in emails],
        "n": range(len(emails)),
    })
    text = mask_frame(df).to_csv(index=False).casefold()
    for loc, *_ in people:
        assert f"{loc.casefold()}@" not in text
        assert loc.casefold() not in text.replace("***", "\0")     # not even the local part alone
    for email in emails:
        assert email.split("@")[1] in text                          # the domain (the company) stays


# -- the app, masking on and off ----------------------------------------------------------------

PAGES = re.findall(r'st\.Page\("(views/[^"]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))
_TOKEN = re.compile(r"([^\s@<>()\[\]{};,:\"'`「」『』（）＜＞【】、，；：|\\]+)@")


def sample_people() -> tuple[set[str], set[str]]:
    """Local parts of every address in the sample exports, and every lead's name."""
    locals_: set[str] = set()
    names: set[str] = set()
    with (SAMPLE / "ma_leads.csv").open(encoding="cp932", newline="") as fh:
        for row in csv.DictReader(fh):
            locals_ |= local_parts(row["メールアドレス"] or "")
            names.add(f"{row['苗字']} {row['名前']}")
    ws = openpyxl.load_workbook(SAMPLE / "sfa_opportunities.xlsx", read_only=True).active
    for row in ws.iter_rows(values_only=True):
        for cell in row:
            if isinstance(cell, str) and "@" in cell:
                locals_ |= local_parts(cell)
    return {x for x in locals_ if len(x) >= 2}, names


def local_parts(text: str) -> set[str]:
    return {m.group(1) for m in _TOKEN.finditer(unicodedata.normalize("NFKC", text).casefold())}


LOCALS, NAMES = sample_people()


def leaks(text: str) -> set[str]:
    """Sample local parts that ``text`` shows unmasked."""
    return local_parts(text) & LOCALS


def tree_texts(at: Any) -> Iterator[str]:
    """Every string, table and raw element message the app drew (any element, any depth)."""
    def walk(node: Any) -> Iterator[str]:
        for attr in ("value", "label", "body", "help"):
            try:
                v = getattr(node, attr)
            except Exception:        # widgets without state, elements without the attribute
                continue
            if isinstance(v, str):
                yield v
            elif isinstance(v, pd.DataFrame):
                yield " ".join(map(str, v.columns))
                yield v.astype(str).to_csv(index=False)
        proto = getattr(node, "proto", None)
        if proto is not None and not getattr(node, "children", None):
            yield str(proto)         # charts' data, editors, anything AppTest does not parse
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    yield from walk(at._tree)


def name_columns(at: Any) -> Iterator[tuple[str, pd.Series]]:
    for el in [*at.dataframe, *at.data_editor, *at.table]:
        frame = el.value
        for col in frame.columns:
            if role_of(col) == "name":
                yield col, frame[col]


def payload_text(data: Any) -> str:
    data = data() if callable(data) else data
    if isinstance(data, str):
        return data
    if data[:2] == b"PK":                                   # an .xlsx workbook
        wb = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    return bytes(data).decode("utf-8-sig", errors="replace")


def open_pages(app: Any) -> Iterator[tuple[str, Any]]:
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        yield page, app


@pytest.mark.slow
def test_masking_on_every_page_and_download(app: Any, downloads: dict[str | None, Any]) -> None:
    app.session_state["mask_pii"] = True
    app.run()
    assert PAGES and "views/upload.py" in PAGES
    found: dict[str, set[str]] = {}
    names_checked = 0
    for page, at in open_pages(app):
        found[page] = set().union(*(leaks(x) for x in tree_texts(at)))
        for col, values in name_columns(at):
            shown = [v for v in values.dropna() if isinstance(v, str) and v.strip()]
            assert all(v.endswith("***") for v in shown), (page, col, shown[:5])
            names_checked += len(shown)
            assert not set(shown) & NAMES
    assert {p: f for p, f in found.items() if f} == {}
    assert names_checked > 0, "the upload preview and the lead lists have name columns"

    assert any(str(name).endswith(".xlsx") for name in downloads), "tables offer Excel too"
    # A saved workspace (.funnel) is the user's own data kept to be opened again, not a view
    # of it: masking it would make it useless, so the switch does not apply to it.
    views = {name: payload_text(data) for name, data in downloads.items() if not str(name).endswith(".funnel")}
    assert {n: leaks(v) for n, v in views.items() if leaks(v)} == {}
    shown = "\n".join(views.values())
    assert "***@" in shown and "example.co.jp" in shown       # masked, domains kept


@pytest.mark.slow
def test_masking_off_shows_the_addresses(app: Any) -> None:
    seen = set()
    for page in ("views/upload.py", "views/quality.py", "views/rate.py"):
        app.switch_page(page).run()
        seen |= set().union(*(leaks(x) for x in tree_texts(app)))
    assert len(seen) > 20, "without masking, the previews and lists show addresses (the check works)"


@pytest.mark.slow
def test_the_switch_in_the_sidebar_stays_on_across_pages(app: Any) -> None:
    toggle = app.sidebar.toggle(key="mask_pii_choice")
    assert toggle.label == "個人情報をマスク（画面共有用）" and toggle.value is False
    toggle.set_value(True).run()
    assert app.session_state["mask_pii"] is True
    preview = next(d.value for d in app.dataframe if "メールアドレス" in d.value.columns)
    assert preview["メールアドレス"].str.contains(r"\*\*\*@").all()
    app.switch_page("views/rate.py").run()                   # the page runs without the sidebar
    drill = next(d.value for d in app.dataframe if "氏名" in d.value.columns)
    assert drill["氏名"].dropna().str.endswith("***").all()
    assert drill["担当者"].dropna().map(lambda v: "***" not in v).all()   # owners stay readable
    app.session_state["lang"] = "en"
    app.run()
    assert app.session_state["mask_pii"] is True


@pytest.mark.slow
def test_the_switch_is_drawn_on_from_the_session_key() -> None:
    # (Under AppTest only the first run goes through app.py; later runs run the page alone.)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["mask_pii"] = True
    at.run()
    assert at.sidebar.toggle(key="mask_pii_choice").value is True
    assert any("マスク" in c.value for c in at.sidebar.caption)


def test_the_switch_label_in_both_languages() -> None:
    texts = catalogue()["privacy.toggle"]
    assert texts["ja"] == "個人情報をマスク（画面共有用）" and texts["en"]


# -- logs and leftovers ---------------------------------------------------------------------------


def test_no_personal_data_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Workspace() as ws:
        load_sample(ws)
        ws.build()
        measure(ws)
        workdir = ws.workdir
    assert not workdir.exists(), "closing the workspace deletes its temporary files"
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert leaks(logged) == set()
    assert not [n for n in NAMES if n in logged]


PERSON_MA = ("メールアドレス,氏名,会社名,リードソース\n"
             "hanako.suzuki@secret-corp.example.jp,鈴木 花子,シークレット㈱,展示会\n"
             "ichiro.tanaka@secret-corp.example.jp,田中 一郎,シークレット㈱,Web広告\n")


@pytest.mark.parametrize("sfa", [
    "商談 ID,フェーズ,メール\nD1,受注,hanako.suzuki@secret-corp.example.jp\n",   # a normal run
    "商談 ID,フェーズ,担当\nD1,受注,鈴木 花子\n",                                   # an error: no email column
])
def test_cli_writes_no_personal_data_to_stderr(tmp_path: Any, sfa: str) -> None:
    (tmp_path / "ma.csv").write_text(PERSON_MA, encoding="utf-8")
    (tmp_path / "sfa.csv").write_text(sfa, encoding="utf-8")
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "FUNNEL_LANG": "ja"}
    (tmp_path / "tmp").mkdir()
    run = subprocess.run([sys.executable, "-m", "funnel", "analyze", "--ma", str(tmp_path / "ma.csv"),
                          "--sfa", str(tmp_path / "sfa.csv")], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    assert run.returncode in (0, 2), run.stderr
    for secret in ("hanako", "ichiro", "鈴木", "田中", "花子"):
        assert secret not in run.stderr
    assert list((tmp_path / "tmp").iterdir()) == [], "the CLI's workspace leaves nothing behind"
