"""The DuckDB → Spark SQL translation (funnel/sql/spark_dialect.py) on the constructs that
tests/test_spark_engine.py found untranslated; text only, no Spark needed."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest
import sqlglot

from funnel.sql.spark import SparkConnection
from funnel.sql.spark_dialect import to_spark_sql


def spark(sql: str) -> str:
    return to_spark_sql(sqlglot.parse_one(sql, read="duckdb"))


def test_union_by_name_becomes_a_union_by_position_in_the_first_branch_order() -> None:
    # Several files on one side (funnel.sql.staging) are stacked with UNION ALL BY NAME.
    assert spark("SELECT * FROM (SELECT 1 AS a, 2 AS b UNION ALL BY NAME SELECT 3 AS b, 4 AS a "
                 "UNION ALL BY NAME SELECT 5 AS b, 6 AS a)") == \
        "SELECT * FROM (SELECT 1 AS a, 2 AS b UNION ALL SELECT 4 AS a, 3 AS b UNION ALL SELECT 6 AS a, 5 AS b)"
    with pytest.raises(NotImplementedError):
        spark("SELECT 1 AS a UNION ALL BY NAME SELECT 2 AS b")


def test_list_sum_becomes_an_aggregate() -> None:
    assert spark("SELECT list_sum(list_transform(range(2, 4), lambda p: p * 2))") == (
        "SELECT AGGREGATE(TRANSFORM(SEQUENCE(2, 3), p -> p * 2), CAST(0 AS BIGINT), "
        "(_acc, _v) -> _acc + COALESCE(_v, 0))")


def test_executemany_before_start_runs_locally(tmp_path) -> None:
    # File reading keeps a CSV's rejected lines with executemany, before Spark takes over.
    local = duckdb.connect()
    session = SimpleNamespace(sparkContext=SimpleNamespace(master="local[1]"))   # never asked to run
    con = SparkConnection(local, session=session, stage=tmp_path / "stage")
    try:
        con.execute("CREATE TABLE t (a INT, b VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [[1, "x"], [2, "y"]])
        assert local.execute("SELECT * FROM t ORDER BY a").fetchall() == [(1, "x"), (2, "y")]
    finally:
        con.close()


def test_lower_is_code_point_by_code_point_even_deep_in_a_statement() -> None:
    # Java lowers İ to i + U+0307 and a word-final Σ to ς; DuckDB to i and σ. The lower() of a
    # company name sits under regexp_split_to_array, a node a rule replaces: translated too.
    assert spark("SELECT regexp_split_to_array(lower(x), ' ')") == \
        "SELECT SPLIT(LOWER(TRANSLATE(x, 'İΣ', 'iσ')), ' ', -1)"
