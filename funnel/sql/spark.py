"""The engine's statements, run on Apache Spark (``analyze --engine spark``).

There is one definition of each step: the DuckDB SQL built in this package. This module
translates each statement to Spark SQL with SQLGlot as it is executed, so the normalisation,
linking and measures that run on Spark are the very statements DuckDB runs, not a copy.

:class:`SparkConnection` stands in for a DuckDB connection (the subset :mod:`funnel.sql`
uses: ``execute`` with bound parameters and a result to fetch, ``register``). Until
:meth:`SparkConnection.start` it passes every statement to its local DuckDB connection: that is
where messy files are read (encodings, title rows, footers) and sampled for their column
mapping. After it, statements run on Spark; a table a statement reads that only DuckDB holds
(a file's raw rows) is handed to Spark once, as Parquet in the stage folder.

What Spark SQL lacks or does differently is mended on the syntax tree, each with its reason
(:mod:`funnel.sql.spark_dialect`). Two steps need Python and run as vectorised (Arrow) UDFs: ``nfkc``
(Unicode NFKC) and ``try_strptime``, which asks DuckDB itself to parse each batch so that a
date reads the same on both engines.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from funnel.errors import FunnelError
from funnel.sql import ident, kinds_of, nfkc_text, run
from funnel.sql.spark_dialect import HOISTED, bind, to_spark_sql

# Spark options that make its SQL behave as DuckDB's does for the engine's statements:
# - no ANSI mode: a failed cast or a division by zero is NULL, an array index past the end is
#   NULL (DuckDB's try_cast / list indexing), rather than an error;
# - size(NULL) is NULL, as DuckDB's len(NULL);
# - one time zone (UTC) for the session: every timestamp is a wall-clock time as exported.
SQL_CONF: dict[str, str] = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.sizeOfNull": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_LOG_CONFIG = Path(__file__).resolve().parent.parent / "data" / "spark-log4j2.properties"
# For a session this process starts (local mode or --master): its JVMs run in UTC too, log
# errors only (see the properties file), and show no UI or progress bar.
_JVM = f"-Duser.timezone=UTC -Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()}"
LAUNCH_CONF: dict[str, str] = {
    "spark.driver.extraJavaOptions": _JVM,
    "spark.executor.extraJavaOptions": _JVM,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.structuredLogging.enabled": "false",
}


def spark_session(master: str | None = None) -> Any:
    """The Spark session: Spark Connect when ``SPARK_REMOTE`` is set (a cluster or Databricks),
    else one this process starts on ``master`` (``--master``, ``SPARK_MASTER``, default
    ``local[*]``: this machine's cores). Other Spark settings come the standard way
    (``PYSPARK_SUBMIT_ARGS``, ``spark-defaults.conf``)."""
    import sys

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise FunnelError(key="error.spark_missing", detail=str(exc)) from exc
    # Python workers run this interpreter (the one with pyarrow, pandas and duckdb), not
    # whatever ``python3`` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    remote = bool(os.environ.get("SPARK_REMOTE"))
    builder = SparkSession.builder.appName("funnel")
    if not remote:
        builder = builder.master(master or os.environ.get("SPARK_MASTER") or "local[*]")
        for k, v in (LAUNCH_CONF | SQL_CONF).items():
            builder = builder.config(k, v)
    try:
        session = builder.getOrCreate()
    except Exception as exc:    # no Java, an old Java, an unreachable master: one clear line
        raise FunnelError(key="error.spark_missing", detail=_first_line(exc)) from exc
    if remote:
        for k, v in SQL_CONF.items():
            session.conf.set(k, v)
    _register_udfs(session)
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


# -- the two Python steps, as vectorised UDFs -------------------------------------------------

_LOCAL = threading.local()


def _duck() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per Python worker thread, for parsing dates."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": 1})
        _LOCAL.con = con
    return con


def _strptime_micros(values: Any, formats: Any) -> Any:
    """DuckDB's ``try_strptime(value, format)`` for a batch, as microseconds since the epoch
    (Spark turns them into timestamps; pandas' nanosecond timestamps end in 2262, exports do
    not)."""
    import pyarrow as pa

    fmt = next((f for f in formats if f is not None), None)
    if fmt is None:
        return pd.Series([None] * len(values), dtype="Int64")
    table = pa.table({"x": pa.array(values, pa.string())})
    con = _duck()
    con.register("batch", table)
    try:
        out = con.sql("SELECT epoch_us(try_strptime(x, $f)) FROM batch", params={"f": fmt}).to_arrow_table()
    finally:
        con.unregister("batch")
    return out.column(0).to_pandas(integer_object_nulls=False).astype("Int64")


def _register_udfs(session: Any) -> None:
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[call-overload,misc]
    def nfkc(s: pd.Series) -> pd.Series:
        return s.map(lambda v: nfkc_text(v) if isinstance(v, str) else None)

    @pandas_udf("long")  # type: ignore[call-overload,misc]
    def funnel_strptime_us(s: pd.Series, f: pd.Series) -> pd.Series:
        return _strptime_micros(s, f)

    session.udf.register("nfkc", nfkc)
    session.udf.register("funnel_strptime_us", funnel_strptime_us)


# -- results -----------------------------------------------------------------------------------

class SparkResult:
    """A finished statement's rows (an Arrow table), fetched as a DuckDB result is."""

    def __init__(self, table: Any | None) -> None:
        self._table = table

    @property
    def description(self) -> list[tuple[str, ...]]:
        return [] if self._table is None else [(n,) for n in self._table.column_names]

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._table is None:
            return []
        cols = [c.to_pylist() for c in self._table.columns]
        return list(zip(*cols, strict=True)) if cols else []

    def fetchone(self) -> tuple[Any, ...] | None:
        found = self.fetchall()
        return found[0] if found else None

    def df(self) -> Any:
        return self._table.to_pandas() if self._table is not None else None

    def fetchnumpy(self) -> dict[str, Any]:
        assert self._table is not None
        return {n: c.to_numpy() for n, c in zip(self._table.column_names, self._table.columns, strict=True)}

    def to_arrow_table(self) -> Any:
        return self._table

    fetch_arrow_table = to_arrow_table
    arrow = to_arrow_table


class SparkConnection:
    """Stands in for a workspace's DuckDB connection; see the module docstring."""

    def __init__(self, local: duckdb.DuckDBPyConnection, session: Any, stage: Path | None = None) -> None:
        self.local = local
        self.spark = session
        self.on_spark = False
        # Where tables handed to Spark are written: a folder Spark's executors can read. In
        # local mode the workspace's own; for a cluster, FUNNEL_SPARK_STAGE (a shared mount such
        # as /dbfs/tmp/funnel); with neither, tables go over the connection as Arrow.
        shared = os.environ.get("FUNNEL_SPARK_STAGE")
        self._stage: Path | None = None
        if shared:
            self._stage = Path(shared) / uuid.uuid4().hex
        elif _runs_here(session):
            self._stage = Path(stage or tempfile.mkdtemp(prefix="funnel-spark-"))
        if self._stage is not None:
            self._stage.mkdir(parents=True, exist_ok=True)
        self._views: dict[str, Any] = {}        # name → its DataFrame (views: None)

    def start(self) -> None:
        """From here on, statements run on Spark."""
        self.on_spark = True

    # The few connection methods funnel.sql calls.
    def execute(self, sql: str, params: Any = None) -> Any:
        if not self.on_spark:
            return self.local.execute(sql, params)
        return self._run(sql, params)

    def executemany(self, sql: str, params: Any) -> Any:
        # File reading keeps a CSV's rejected lines (a footer with too few fields) this way,
        # before start(): a connection without it failed on any such export (issue 21's tests).
        if not self.on_spark:
            return self.local.executemany(sql, params)
        for one in params:
            self._run(sql, one)
        return SparkResult(None)

    def register(self, name: str, table: Any) -> None:
        if not self.on_spark:
            self.local.register(name, table)
            return
        self._put(name, self._hand_over(table.to_reader(), "arrow"))

    def unregister(self, name: str) -> None:
        if not self.on_spark:
            self.local.unregister(name)
            return
        self._drop(name)

    def kinds_of(self, name: str) -> list[str]:
        """'TABLE' / 'VIEW' where ``name`` exists (either engine): what ``drop_table`` drops."""
        return (["TABLE"] if name in self._views else []) + kinds_of(self.local, name)

    def interrupt(self) -> None:
        self.local.interrupt()

    def close(self) -> None:
        for name in list(self._views):
            self._drop(name)
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
        self.local.close()

    # -- running one statement ---------------------------------------------------------------
    def _run(self, sql: str, params: Any) -> SparkResult:
        tree: exp.Expression = sqlglot.parse_one(sql, read="duckdb")  # type: ignore[assignment]
        if isinstance(tree, exp.Set) or isinstance(tree, exp.Command) and tree.name.upper() == "SET":
            return SparkResult(None)        # DuckDB session settings (insertion order) mean nothing here
        tree = bind(tree, params)
        if isinstance(tree, exp.Drop):
            for table in tree.args.get("tables") or [tree.this]:
                name = table.name
                if not tree.args.get("exists") and not self.kinds_of(name):
                    raise duckdb.CatalogException(f"Table {name} does not exist")
                self._drop(name)
            return SparkResult(None)
        self._ship(tree)
        if isinstance(tree, exp.Create):
            return self._create(tree)
        if isinstance(tree, exp.Insert):
            name = tree.this.name
            old = self._views[name]
            new = self.spark.sql(to_spark_sql(tree.expression)).toDF(*old.columns)
            new = new.select(*[new[c].cast(old.schema[c].dataType).alias(c) for c in old.columns])
            self._put(name, old.unionAll(new))
            return SparkResult(None)
        if isinstance(tree, exp.Query):
            return SparkResult(self.spark.sql(to_spark_sql(tree)).toArrow())
        raise NotImplementedError(f"the Spark engine cannot run a {type(tree).__name__} statement")

    def _create(self, tree: exp.Create) -> SparkResult:
        target = tree.this
        name = (target.this if isinstance(target, exp.Schema) else target).name
        kind = tree.args.get("kind", "").upper()
        body = tree.expression
        if kind == "VIEW":
            self._drop(name)
            view = exp.to_identifier(name, quoted=True).sql(dialect="spark")
            self.spark.sql(f"CREATE OR REPLACE TEMP VIEW {view} AS {to_spark_sql(body)}")
            self._views[name] = None
            return SparkResult(None)
        if body is None and isinstance(target, exp.Schema):       # CREATE TABLE t (col type, …)
            cols = [exp.alias_(exp.cast(exp.Null(), c.args["kind"]), c.name) for c in target.expressions
                    if isinstance(c, exp.ColumnDef)]
            frame = self.spark.sql(to_spark_sql(exp.select(*cols).where(exp.false())))
        else:
            frame = self.spark.sql(to_spark_sql(body))
        self._put(name, frame)
        return SparkResult(None)

    def _put(self, name: str, frame: Any) -> None:
        """Keep ``frame`` as table ``name``: computed once (a checkpoint cuts the plan, so later
        statements do not recompute the steps before) and seen by later statements."""
        hoisted = [c for c in frame.columns if c.startswith(HOISTED)]
        if hoisted:
            frame = frame.drop(*hoisted)
        frame = frame.localCheckpoint(eager=True)
        self._drop(name)
        frame.createOrReplaceTempView(name)
        self._views[name] = frame

    def _drop(self, name: str) -> None:
        if name in self._views:
            frame = self._views.pop(name)
            self.spark.catalog.dropTempView(name)
            if frame is not None:
                frame.unpersist()
        for kind in kinds_of(self.local, name):
            run(self.local, f"DROP {kind} IF EXISTS {ident(name)}")

    def _ship(self, tree: exp.Expression) -> None:
        """Hand Spark the local tables the statement reads (a file's raw rows), once each."""
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            name = table.name
            if not name or name in self._views or name in ctes:
                continue
            if "TABLE" in kinds_of(self.local, name):
                self._put(name, self._local_frame(name))

    def _local_frame(self, name: str) -> Any:
        """A local DuckDB table as a Spark DataFrame (its ``rowid``, the file order, becomes a
        column of that name)."""
        return self._hand_over(self.local.sql(f"SELECT rowid AS rowid, * FROM {ident(name)}").to_arrow_reader(), name)

    def _hand_over(self, reader: Any, label: str) -> Any:
        """Arrow record batches as a Spark DataFrame: through Parquet in the stage folder, written
        batch by batch; without one, over the connection."""
        if self._stage is None:
            return self.spark.createDataFrame(reader.read_all())
        import pyarrow.parquet as pq

        path = self._stage / f"{label}-{uuid.uuid4().hex}.parquet"
        with pq.ParquetWriter(str(path), reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        return self.spark.read.parquet(str(path))


def _runs_here(session: Any) -> bool:
    """Whether Spark's executors share this machine's disk (local mode, not Spark Connect)."""
    if os.environ.get("SPARK_REMOTE"):
        return False
    return str(session.sparkContext.master).startswith("local")
