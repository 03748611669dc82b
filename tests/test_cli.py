"""The command line as contracts/cli.md specifies it, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_metrics import MA, SFA

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_KEYS = {"ma", "sfa", "link", "overall", "by_source", "outcomes", "loss_reasons", "match"}


def run_cli(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FUNNEL_LANG", None)
    if lang:
        env["FUNNEL_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "funnel", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "leads.csv").write_text(MA, encoding="utf-8")
    (d / "deals.csv").write_bytes(SFA.encode("cp932"))
    return d


def test_analyze_json_is_one_object_with_the_contract_keys(files):
    r = run_cli("analyze", "--ma", str(files / "leads.csv"), "--sfa", str(files / "deals.csv"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)          # exactly one JSON object: loads() refuses trailing data
    assert CONTRACT_KEYS <= set(data)
    assert data["ma"] == {"rows": 8, "leads": 5, "rows_without_key": 2, "rows_dropped": 0}
    assert {k: data["sfa"][k] for k in ("rows", "opportunities", "rows_without_key")} == {
        "rows": 6, "opportunities": 5, "rows_without_key": 0}
    assert data["link"]["kind"] == "email"
    assert data["overall"] == {"leads": 5, "converted": 3, "opportunity_rate": 0.6}
    first = {d["source"]: d for d in data["by_source"]}
    assert first["展示会"]["leads"] == 2 and first[None]["converted"] == 0
    assert set(first["展示会"]) == {"source", "leads", "converted", "opportunity_rate", "ci_low", "ci_high"}
    assert data["outcomes"] == {"won": 1, "lost": 3, "open": 1, "win_rate": 0.25}
    assert sum(x["share"] for x in data["loss_reasons"]) == pytest.approx(1.0)
    assert data["match"] == {"opportunities_linked": 4, "opportunities_unlinked": 1}


def test_touch_last_and_map_override(files):
    r = run_cli("analyze", "--ma", str(files / "leads.csv"), "--sfa", str(files / "deals.csv"),
                "--touch", "last", "--map", "ma.owner=", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {d["source"]: d["leads"] for d in data["by_source"]}["Web広告"] == 2
    assert "owner" not in data["mapping"]["ma"][0]


def test_summary_japanese_by_default_and_english_on_switch(files):
    ja = run_cli("analyze", "--ma", str(files / "leads.csv"), "--sfa", str(files / "deals.csv"))
    assert ja.returncode == 0 and "商談化率" in ja.stdout and "60.0%" in ja.stdout
    en = run_cli("analyze", "--ma", str(files / "leads.csv"), "--sfa", str(files / "deals.csv"), lang="en")
    assert en.returncode == 0 and "Opportunity rate" in en.stdout and "商談化率" not in en.stdout


@pytest.mark.parametrize(("make", "args", "needle"), [
    (None, ["--ma", "missing.csv", "--sfa", "deals.csv"], "missing.csv"),
    ("header_only", ["--ma", "header_only.csv", "--sfa", "deals.csv"], "header_only.csv"),
    ("empty", ["--ma", "empty.csv", "--sfa", "deals.csv"], "empty.csv"),
    ("png", ["--ma", "picture.csv", "--sfa", "deals.csv"], "picture.csv"),
    (None, ["--ma", "leads.csv", "--sfa", "deals.csv", "--map", "ma.email=Mail 9"], "Mail 9"),
    (None, ["--ma", "leads.csv", "--sfa", "deals.csv", "--map", "nonsense"], "nonsense"),
    (None, ["--ma", "leads.csv", "--sfa", "deals.csv", "--link", "Lead=Deal"], "Lead"),
    ("no_email", ["--ma", "no_email.csv", "--sfa", "deals.csv"], "no_email.csv"),
])
def test_unusable_input_exits_2_with_one_line(files, make, args, needle):
    contents = {"header_only": b"email,source\n", "empty": b"", "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                "no_email": "名前,流入元\n山田,展示会\n".encode()}
    if make:
        (files / args[1]).write_bytes(contents[make])
    full = [str(files / a) if a.endswith(".csv") else a for a in args]
    for lang in ("ja", "en"):
        r = run_cli("analyze", *full, lang=lang)
        assert r.returncode == 2
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert needle in lines[0] and "Traceback" not in r.stderr


def test_plan_worked_example_of_the_contract():
    r = run_cli("plan", "--revenue", "100000000", "--deal-size", "5000000", "--win-rate", "0.25",
                "--opp-rate", "0.15", "--cpa", "8000", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"deals": 20, "opportunities": 80, "leads": 534, "budget": 4272000}
    r = run_cli("plan", "--revenue", "100000000", "--deal-size", "5000000", "--win-rate", "0.25",
                "--opp-rate", "0.15", "--json")
    assert json.loads(r.stdout)["budget"] is None


def test_plan_accepts_japanese_units_and_percentages():
    r = run_cli("plan", "--revenue", "1億", "--deal-size", "500万", "--win-rate", "25%", "--opp-rate", "15%",
                "--cpa", "¥8,000")
    assert r.returncode == 0 and "534" in r.stdout and "4,272,000" in r.stdout


@pytest.mark.parametrize("args", [
    ["--win-rate", "25"], ["--win-rate", "0"], ["--opp-rate", "abc"], ["--deal-size", "-5"],
])
def test_plan_rejects_bad_numbers(args):
    base = {"--revenue": "100000000", "--deal-size": "5000000", "--win-rate": "0.25", "--opp-rate": "0.15"}
    base[args[0]] = args[1]
    r = run_cli("plan", *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_analyze_does_not_import_pandas_or_parse_every_message_file():
    """Fixed costs of a CLI run (issue 20): pandas (0.2 s of imports) is not needed by analyze,
    and only the message files whose keys are looked up are parsed."""
    code = ("import contextlib, io, sys\nfrom funnel import cli, i18n\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    rc = cli.main(['analyze', '--ma', 'sample_data/ma_leads.csv', '--sfa', 'sample_data/sfa_opportunities.xlsx'])\n"
            "print(rc, 'pandas' in sys.modules, i18n._file.cache_info().currsize < len(list(i18n._DIR.glob('*.toml'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    assert proc.stdout.split() == ["0", "False", "True"], proc.stderr[-2000:]
