"""The i18n catalogue is parsed per file on first lookup (funnel/i18n.py); these tests keep the
lazy path equal to the whole-catalogue parse."""

from __future__ import annotations

import tomllib

from funnel import i18n


def test_header_scan_finds_exactly_the_parsed_keys() -> None:
    """Every key the scan assigns to a file is one tomllib parses from that file, and no other."""
    by_scan: dict[str, set[str]] = {}
    for key, path in i18n._index().items():
        by_scan.setdefault(path.name, set()).add(key)
    for path in sorted(i18n._DIR.glob("*.toml")):
        with path.open("rb") as fh:
            parsed = set(tomllib.load(fh))
        assert by_scan.get(path.name, set()) == parsed, path.name


def test_lookup_equals_the_merged_catalogue() -> None:
    whole = i18n.catalogue()
    assert set(whole) == set(i18n._index())
    for key, texts in whole.items():
        assert i18n._entry(key) == texts
        for lang in i18n.LANGS:
            assert i18n.t(key, lang) == (texts.get(lang) or texts.get(i18n.DEFAULT_LANG) or key)


def test_a_lookup_parses_only_its_file() -> None:
    i18n._file.cache_clear()
    i18n.catalogue.cache_clear()
    try:
        i18n.t("cli.error_prefix", "en")
        assert i18n._file.cache_info().currsize == 1
    finally:
        i18n.catalogue.cache_clear()


def test_unknown_key_and_plural() -> None:
    assert i18n.t("no.such.key", "en") == "no.such.key"
    assert i18n.plural("no.such.key", 1, "en") == "no.such.key"
