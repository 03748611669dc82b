"""Several files of a side are stacked with DuckDB's ``UNION ALL BY NAME``, which Spark SQL
lacks: the translation (no JVM needed) lines the columns up by name instead."""

from __future__ import annotations

import pytest
import sqlglot

from funnel.sql.spark_dialect import to_spark_sql


def test_union_by_name_becomes_a_union_in_the_first_sides_column_order() -> None:
    tree = sqlglot.parse_one("SELECT *, 1 AS k FROM (SELECT a, b AS c FROM x UNION ALL BY NAME "
                             "SELECT 2 AS c, a FROM y UNION ALL BY NAME SELECT a, c FROM z)", read="duckdb")
    assert to_spark_sql(tree) == ("SELECT *, 1 AS k FROM (SELECT a, b AS c FROM x UNION ALL SELECT a, 2 AS c FROM y "
                                  "UNION ALL SELECT a, c FROM z)")


def test_union_by_name_of_different_columns_is_refused() -> None:
    # The engine never stacks selects of different columns; a statement that did would have no
    # Spark translation, and says so rather than failing in Spark's parser.
    tree = sqlglot.parse_one("SELECT a FROM x UNION ALL BY NAME SELECT b FROM y", read="duckdb")
    with pytest.raises(NotImplementedError):
        to_spark_sql(tree)
