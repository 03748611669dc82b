"""``analyze --engine spark`` prints the JSON of the DuckDB engine (contracts/cli.md "Engines",
issue 21): on generated exports with every mess the contract promises to read (see
tests/spark_exports.py), in CSV and Parquet, both touch rules, behaviour history with two
attribution models and an ID link. Every key is compared; floats to 1e-9 relative, everything
else exactly. A few absolute numbers are checked against the generator's own truth, so both
engines being wrong the same way fails too.

One Spark session (``getOrCreate``) serves the whole module; each Spark ``analyze`` takes
10–90 s on a shared 2-core machine, so the cases are few and each covers several options.
Marked ``spark``: ``make test`` runs it, ``make test-fast`` leaves it out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from funnel.cli import main
from tests.spark_exports import TYPES, Exports, generate, write_csv, write_parquet

_MISSING = ("pyspark is not installed" if importlib.util.find_spec("pyspark") is None
            else "Java (needed by Spark) is not on PATH" if shutil.which("java") is None else "")
pytestmark = [pytest.mark.spark, pytest.mark.skipif(bool(_MISSING), reason=f"Spark engine not testable: {_MISSING}")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Exports, dict[str, dict[str, list[Path]]]]:
    ex = generate()
    root = tmp_path_factory.mktemp("spark_exports")
    return ex, {"csv": write_csv(ex, root / "csv"), "parquet": write_parquet(ex, root / "parquet")}


def analyze(args: list[str]) -> dict[str, Any]:
    """``python -m funnel analyze … --json`` in-process (the Spark session stays up between runs)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["analyze", *args, "--json"])
    assert code == 0, f"analyze {args} exited {code}"
    return json.loads(out.getvalue())


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where two JSON values differ: floats beyond 1e-9 relative, anything else not identical
    (types included: 1 and 1.0, null and 0 are different JSON)."""
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) else [f"{path}: {a!r} != {b!r}"]
    if type(a) is not type(b):
        return [f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"]
    if isinstance(a, dict):
        found = [f"{path}: keys {sorted(a.keys() ^ b.keys())} in one engine only"] if a.keys() != b.keys() else []
        return found + [d for k in a.keys() & b.keys() for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list):
        found = [f"{path}: {len(a)} != {len(b)} entries"] if len(a) != len(b) else []
        return found + [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_differences_sees_what_it_should() -> None:
    assert differences({"r": 0.1 + 0.2, "n": [1, None]}, {"r": 0.3, "n": [1, None]}) == []
    assert differences({"r": 0.3}, {"r": 0.3000001}) == ["$.r: 0.3 != 0.3000001"]
    assert differences([1], [1.0]) and differences({"a": None}, {"a": 0}) and differences([1], [1, 2])
    assert differences({"a": 1}, {"b": 1}) == ["$: keys ['a', 'b'] in one engine only"]


def inputs(files: dict[str, list[Path]], *sides: str) -> list[str]:
    return [arg for side in sides for arg in (f"--{side}", *map(str, files[side]))]


# (case, format, extra arguments): six Spark runs in all.
CASES = [
    ("csv-first-activity-position", "csv", ["--touch", "first"], True),
    ("csv-last", "csv", ["--touch", "last"], False),
    ("parquet-first", "parquet", ["--touch", "first"], False),
    ("parquet-last", "parquet", ["--touch", "last"], False),
    ("csv-last-activity-time-decay", "csv", ["--touch", "last", "--model", "time_decay", "--half-life", "10"], True),
    ("csv-link-lead-id", "csv", ["--link", "リードID=リードID"], False),
]


@pytest.mark.parametrize(("fmt", "extra", "activity"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_spark_prints_the_duckdb_json(world, fmt: str, extra: list[str], activity: bool) -> None:
    ex, written = world
    files = written[fmt]
    args = inputs(files, "ma", "sfa") + (inputs(written["csv"], "activity") if activity else []) + extra
    duck = analyze(args)
    spark = analyze([*args, "--engine", "spark"])
    assert differences(duck, spark) == []

    # The generator's truth (the same on either engine, so checked once on the DuckDB output).
    assert duck["ma"]["rows"] == ex.ma_rows
    assert duck["sfa"]["rows"] == len(ex.sfa)
    assert duck["sfa"]["opportunities"] == ex.opportunities
    assert duck["outcomes"] == {"won": ex.won, "lost": ex.lost, "open": ex.open,
                                "win_rate": pytest.approx(ex.won / (ex.won + ex.lost), rel=1e-12)}
    excluded = [r for r in duck["loss_reasons"] if r["category"] == "excluded"]
    assert excluded == [{"category": "excluded", "count": ex.excluded, "share": None}]
    assert duck["accounts"]["accounts"] > 0 and duck["accounts"]["opportunities_by_account_only"] > 0
    if "--link" not in extra:
        assert duck["ma"]["leads"] == ex.leads
        assert duck["ma"]["rows_without_key"] == ex.ma_rows_without_key
        assert duck["overall"]["converted"] == ex.converted
        assert duck["match"] == {"opportunities_linked": ex.linked,
                                 "opportunities_unlinked": ex.opportunities - ex.linked}
        touch = extra[extra.index("--touch") + 1]
        assert {e["source"]: e["leads"] for e in duck["by_source"]} == ex.leads_by_source(touch)
    if activity:
        model = extra[extra.index("--model") + 1] if "--model" in extra else "position"
        assert duck["attribution"]["model"] == model
        assert duck["activity"]["rows"] == len(ex.activity)
        assert duck["activity"]["rows_without_key"] == ex.activity_without_key
        assert duck["activity"]["events"] == len(ex.activity) - ex.activity_without_key
        assert len(duck["behaviour"]) == len({t.strip() for t in TYPES})
        credits = duck["attribution"]["by_touch"]
        assert math.isclose(sum(t["opportunities"] for t in credits), ex.opportunities, rel_tol=1e-9)
        assert math.isclose(sum(t["won"] for t in credits), ex.won, rel_tol=1e-9)
