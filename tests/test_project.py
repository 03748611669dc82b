"""Project rules that keep the code honest: the engine never imports Streamlit, SQL only lives
in funnel/sql, every message exists in both languages and every key the code uses is declared,
settings agree with the Streamlit config, modules stay small."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from funnel.config import SETTINGS, setting
from funnel.i18n import LANGS, catalogue
from funnel.mapping import SIDES, fields

ROOT = Path(__file__).resolve().parents[1]
ENGINE = sorted((ROOT / "funnel").rglob("*.py"))
UI = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def test_engine_never_imports_streamlit():
    offenders = [p for p in ENGINE if re.search(r"^\s*(import streamlit|from streamlit)", p.read_text(), re.M)]
    assert offenders == []


def test_no_global_duckdb_connection():
    pattern = re.compile(r"duckdb\.(sql|query|execute|read_csv|from_df)\(")
    offenders = [p for p in [*ENGINE, *[u for u in UI if u.exists()]] if pattern.search(p.read_text())]
    assert offenders == []


def test_sql_is_only_executed_in_the_sql_package():
    # Outside funnel/sql, code calls the helpers (funnel.sql.run/rows/…), never con.execute().
    outside = [p for p in ENGINE if "sql" not in p.relative_to(ROOT / "funnel").parts[:1]]
    offenders = [p.name for p in outside if re.search(r"\.execute(many)?\(", p.read_text())]
    assert offenders == []


def test_every_message_has_both_languages():
    missing = [k for k, v in catalogue().items() if any(not v.get(lang) for lang in LANGS)]
    assert missing == []


def test_every_message_key_used_in_code_is_declared():
    used: set[str] = set()
    sources = [*ENGINE, *[u for u in UI if u.exists()]]
    for p in sources:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""", p.read_text()))
        used |= set(re.findall(r"""key\s*=\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""", p.read_text()))
        used |= set(re.findall(r"""\(\s*["']((?:notice|funnel\.note)\.[a-z0-9_.]+)["']\s*,""", p.read_text()))
    assert sorted(used - set(catalogue())) == []


@pytest.mark.parametrize("side", SIDES)
def test_every_field_has_a_label(side):
    assert [f for f in fields(side) if f"field.{f}" not in catalogue()] == []


def test_settings_are_declared_once_with_help():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.help for s in SETTINGS)


def test_streamlit_upload_limit_mirrors_the_setting():
    cfg = ROOT / ".streamlit" / "config.toml"
    if not cfg.exists():
        pytest.skip("no Streamlit config yet")
    with cfg.open("rb") as fh:
        assert tomllib.load(fh)["server"]["maxUploadSize"] == setting("max_upload_mb")


def test_modules_stay_small():
    big = {p.relative_to(ROOT).as_posix(): n for p in [*ENGINE, *[u for u in UI if u.exists()]]
           if (n := len(p.read_text().splitlines())) > 450}
    assert big == {}
