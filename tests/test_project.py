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
from funnel.vocabulary import SIDES, fields

ROOT = Path(__file__).resolve().parents[1]
ENGINE = sorted((ROOT / "funnel").rglob("*.py"))
UI = [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py"))]


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


# -- the layout follows the data path ---------------------------------------------------------
def _imports() -> dict[str, set[str]]:
    """Module → project modules it imports, counting every import statement wherever it is
    (inside a function or under ``TYPE_CHECKING`` too): an import moved into a function to
    dodge a cycle is still a cycle."""
    import ast

    mods: dict[str, Path] = {}
    for pkg in ("funnel", "ui"):
        for p in (ROOT / pkg).rglob("*.py"):
            name = ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            mods[name] = p

    def owner(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {owner(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else owner(node.module)
                         for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_no_import_cycles():
    graph = _imports()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        for dep in sorted(graph[node]):
            visit(dep, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []


# Each stage of the data path may use the stages before it, never one after it.
LAYERS = ["funnel.config", "funnel.i18n", "funnel.errors", "funnel.vocabulary", "funnel.sql", "funnel.ingest",
          "funnel.model", "funnel.measures", "funnel.planning", "funnel.present", "funnel.report", "funnel.cli"]
# present.format/export/privacy/paging are leaf helpers (number formats, safe cells, masking,
# paging) that the measures use to shape what they return; the charts are the presenting layer.
LEAF_HELPERS = {"funnel.present", "funnel.present.format", "funnel.present.export", "funnel.present.privacy",
                "funnel.present.paging"}


def _layer(module: str) -> int | None:
    found = [i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + ".")]
    return found[-1] if found else None


def test_the_engine_imports_only_along_the_data_path():
    backwards = []
    for module, deps in _imports().items():
        here = _layer(module)
        if here is None:
            continue
        for dep in deps:
            there = _layer(dep)
            if there is not None and there > here and dep not in LEAF_HELPERS:
                backwards.append(f"{module} -> {dep}")
    assert sorted(backwards) == []


def test_pages_never_touch_the_session_state():
    """Pages and the router keep what they need on the engine's Session through ui helpers
    (ui.state.keep, page_value, pager …): one place holds a user's session."""
    files = [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py"))]
    assert len(files) > 10
    assert [f.name for f in files if "session_state" in f.read_text(encoding="utf-8")] == []


def test_languages_are_data():
    """The languages offered and how lists and sentences join come from the message catalogue:
    no code picks a text or a separator by comparing the language code."""
    pattern = re.compile(r"""lang(?:\(\))?\s*[!=]=\s*["'](?:ja|en)["']|\[\s*["']ja["']\s*,\s*["']en["']\s*\]"""
                         r"""|\(\s*["']ja["']\s*,\s*["']en["']\s*\)""")
    files = [ROOT / "app.py", *sorted(ROOT.glob("funnel/**/*.py")), *sorted(ROOT.glob("ui/*.py")),
             *sorted(ROOT.glob("views/*.py"))]
    found = [f"{f.relative_to(ROOT)}: {m.group(0)}" for f in files
             for m in pattern.finditer(f.read_text(encoding="utf-8"))]
    assert found == []


def test_every_select_box_says_its_placeholder_in_the_ui_language():
    """An empty selectbox or multiselect shows Streamlit's own English "Choose an option"
    unless the call passes ``placeholder=`` (a catalogue text)."""
    missing = []
    for p in [*sorted((ROOT / "views").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]:
        text = p.read_text()
        for m in re.finditer(r"\b(?:selectbox|multiselect)\(", text):
            depth, i = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            if not re.search(r"\bplaceholder\s*=\s*t\(", text[m.start():i]):
                missing.append(f"{p.name}:{text.count(chr(10), 0, m.start()) + 1}")
    assert missing == []
