"""DuckDB SQL → Spark SQL: the engine's statements as Spark runs them.

SQLGlot translates the syntax; what Spark SQL lacks or does differently for a construct the
engine uses is mended here on the syntax tree, each with its reason (:func:`_for_spark`), so
the statements of :mod:`funnel.sql` stay the one definition of every step.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp


def _literal(value: Any) -> exp.Expression:
    """A bound parameter as a Spark literal (SQLGlot quotes strings for the dialect)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise TypeError(f"cannot bind a {type(value).__name__} for Spark")


def bind(tree: exp.Expression, params: Mapping[str, Any] | Sequence[Any] | None) -> exp.Expression:
    if not params:
        return tree
    positional = iter(params) if not isinstance(params, Mapping) else None

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder | exp.Parameter):
            name = node.name
            if isinstance(params, Mapping):
                return _literal(params[name])
            assert positional is not None
            return _literal(params[int(name) - 1] if name.isdigit() else next(positional))
        return node

    return tree.transform(swap)


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _strptime(value: exp.Expression, fmt: exp.Expression) -> exp.Expression:
    """DuckDB's (try_)strptime: parsed by DuckDB itself, batch by batch, in the date UDF
    (funnel.sql.spark), so a date reads the same on both engines."""
    return _call("timestamp_micros", _call("funnel_strptime_us", value, fmt))


def _split(text: exp.Expression, pattern: exp.Expression) -> exp.Expression:
    """A regex split keeping trailing empty strings, as DuckDB's does (Spark's limit -1)."""
    return _call("split", text, pattern, exp.Literal.number(-1))


def _for_spark(node: exp.Expression) -> exp.Expression:
    """Where Spark SQL differs from DuckDB for a construct the engine uses."""
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        if name == "try_strptime":
            return _strptime(*args)
        if name in ("arg_max_null", "arg_min_null"):     # Spark's max_by keeps NULL values too
            return _call("max_by" if name == "arg_max_null" else "min_by", *args)
        if name == "regexp_split_to_array":
            return _split(args[0], args[1])
        if name == "fsum":
            # DuckDB's fsum (and sum(x ORDER BY x)) fixes the order of a float sum; Spark sums
            # in its own order, which can differ in the last digits only (well inside 1e-9).
            return exp.Sum(this=args[0].this if isinstance(args[0], exp.Order) else args[0])
        if name == "list_sum":
            # Spark has no list_sum. Its one use (the corporate-number check digit, accounts.py)
            # sums integers; a list of doubles would fail loudly here, not differ silently.
            acc, v = exp.to_identifier("_acc"), exp.to_identifier("_v")
            merge = exp.Lambda(this=exp.Add(this=exp.column(acc), expression=exp.func(
                "coalesce", exp.column(v), exp.Literal.number(0))), expressions=[acc, v])
            return _call("aggregate", args[0], exp.cast(exp.Literal.number(0), "BIGINT"), merge)
        if name == "epoch_us":
            return _call("unix_micros", *args)
        if name == "to_microseconds":       # an interval of that many microseconds
            secs = exp.Div(this=exp.cast(args[0], "DECIMAL(24,0)"), expression=exp.Literal.number(1000000))
            return _call("make_dt_interval", *(exp.Literal.number(0),) * 3, exp.cast(secs, "DECIMAL(18,6)"))
    if isinstance(node, exp.TimeToUnix):
        # DuckDB's epoch() keeps the fraction of a second (and a cast to an integer rounds it);
        # Spark's unix_timestamp() drops it.
        return _call("round", exp.Div(this=_call("unix_micros", node.this), expression=exp.Literal.number("1000000.0")))
    if isinstance(node, exp.Literal) and not node.is_string and any(c in node.this for c in ".eE") \
            and not isinstance(node.parent, exp.DataType | exp.Cast):
        # DuckDB computes 2.0 ^ (d / 7.0) in DOUBLE; Spark would keep DECIMAL and round at
        # its scale (the time-decay weights drifted by 1e-9).
        return exp.cast(node, exp.DataType.Type.DOUBLE)
    if isinstance(node, exp.Sum) and isinstance(node.this, exp.Order):
        return exp.Sum(this=node.this.this)
    if isinstance(node, exp.Try):
        return node.this                # without ANSI mode Spark gives NULL where DuckDB would raise
    if isinstance(node, exp.DataType) and node.this in _WALL_CLOCK:
        # One kind of timestamp on Spark, in the session's UTC: a wall-clock time as exported.
        return exp.DataType(this=exp.DataType.Type.TIMESTAMPLTZ)
    if isinstance(node, exp.StrToTime):
        return _strptime(node.this, node.args["format"])
    if isinstance(node, exp.RegexpSplit):
        return _split(node.this, node.expression)
    if isinstance(node, exp.RegexpFullMatch):
        # A whole-string match; \z, not $, which would also allow a final line break.
        pattern = exp.func("concat", exp.Literal.string("^(?:"), node.expression, exp.Literal.string(")\\z"))
        return exp.RegexpLike(this=node.this, expression=pattern)
    if isinstance(node, exp.RegexpReplace):
        rep = node.args.get("replacement")
        if isinstance(rep, exp.Literal) and rep.is_string and "\\" in rep.this:
            # DuckDB (RE2) writes a group as \1, Java as $1 (and a literal $ as \$).
            text = rep.this.replace("$", "\\$")
            for d in "0123456789":
                text = text.replace("\\" + d, "$" + d)
            node.set("replacement", exp.Literal.string(text))
        node.set("modifiers", None)     # every use of a non-global replace is anchored (^…, …$)
        return node
    if isinstance(node, exp.Greatest | exp.Least) and not node.expressions:
        return node.this                # DuckDB allows greatest(x); Spark wants two or more
    if isinstance(node, exp.Length) and _is_list(node.this):
        return exp.ArraySize(this=node.this)
    if isinstance(node, exp.DateDiff) and node.text("unit").upper() in ("DAY", ""):
        # DuckDB counts day boundaries crossed; Spark's DATEDIFF(DAY, …) whole 24-hour spans.
        return exp.DateDiff(this=exp.cast(node.this, exp.DataType.Type.DATE),
                            expression=exp.cast(node.expression, exp.DataType.Type.DATE))
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Union) and node.args.get("by_name") \
            and not (isinstance(node.parent, exp.Union) and node.parent.args.get("by_name")):
        return _union_by_position(node)     # the whole chain at once, from its top
    if isinstance(node, exp.Lower):
        # DuckDB lowers code point by code point (İ → i, Σ → σ); Java (Spark) applies the two
        # special cases of Unicode lowering: İ → i + U+0307, and Σ → ς at a word's end. Company
        # names "ΑΛΦΑΣ" / "αλφασ" then made one account on DuckDB and two on Spark.
        node.set("this", exp.func("translate", node.this, exp.Literal.string("İΣ"), exp.Literal.string("iσ")))
        return node
    return node


def _by_name_branches(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        return _by_name_branches(node.this) + _by_name_branches(node.expression)
    return [node]


def _union_by_position(node: exp.Union) -> exp.Union:
    """Spark SQL has no ``UNION [ALL] BY NAME`` (several files on one side are stacked with it,
    funnel.sql.staging and .activity): each branch's columns are put in the first branch's
    order, and the union is by position. Every branch there names the same columns."""
    branches = _by_name_branches(node)
    names = [e.alias_or_name for e in branches[0].expressions] if isinstance(branches[0], exp.Select) else []
    for branch in branches[1:]:
        by = {e.alias_or_name: e for e in branch.expressions} if isinstance(branch, exp.Select) else {}
        if not names or len(by) != len(branch.expressions) or sorted(by) != sorted(names):
            raise NotImplementedError("UNION BY NAME of selects that do not name the same columns")
        branch.set("expressions", [by[n] for n in names])
    chain: list[exp.Expression] = [node]
    while chain:
        union = chain.pop()
        if isinstance(union, exp.Union) and union.args.get("by_name"):
            union.set("by_name", None)
            chain += [union.this, union.expression]
    return node


_WALL_CLOCK = frozenset({exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME, exp.DataType.Type.TIMESTAMPNTZ})


def _is_list(node: exp.Expression) -> bool:
    return isinstance(node, exp.Array) or (isinstance(node, exp.Column) and node.name in _LIST_COLUMNS)


# Columns the engine stores as lists (DuckDB's len() serves strings and lists; Spark's does not).
_LIST_COLUMNS = frozenset({"emails", "ks"})


def _ordered_list(order: exp.Order) -> exp.Expression:
    """``list(x ORDER BY k…)``: Spark's collect_list has no order, so collect (k…, x) structs,
    sort them and keep x."""
    fields: list[exp.Expression] = []
    for i, key in enumerate(o.this for o in order.expressions):
        fields += [exp.Literal.string(f"k{i}"), key]
    fields += [exp.Literal.string("v"), order.this]
    sort = _call("array_sort", _call("collect_list", _call("named_struct", *fields)))
    s = exp.to_identifier("s")
    return _call("transform", sort, exp.Lambda(this=exp.Dot(this=s, expression=exp.to_identifier("v")),
                                               expressions=[s.copy()]))


_UDFS = frozenset({"nfkc", "funnel_strptime_us"})
HOISTED = "__udf"


def _is_udf(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() in _UDFS


def _uses(node: exp.Expression, names: set[str]) -> bool:
    """Whether ``node`` reads one of the lambda variables ``names`` (bare identifiers)."""
    return any(i.name in names and not isinstance(i.parent, exp.Column | exp.Table | exp.Alias)
               for i in node.find_all(exp.Identifier))


def _lambda_vars(node: exp.Expression) -> set[str]:
    out: set[str] = set()
    p = node.parent
    while p is not None and not isinstance(p, exp.Select):
        if isinstance(p, exp.Lambda):
            out |= {e.name for e in p.expressions}
        p = p.parent
    return out


def _inline_lets(tree: exp.Expression) -> exp.Expression:
    """``let`` (``transform(array(v), x -> body)[0]``, see normalize.let) with a Python UDF
    that reads ``x`` in its body: Spark runs no Python UDF inside a lambda, so ``body`` with
    ``v`` written for ``x``."""
    def swap(node: exp.Expression) -> exp.Expression:
        if not (isinstance(node, exp.Bracket) and isinstance(node.this, exp.Transform)):
            return node
        tr = node.this
        arr, lam = tr.this, tr.expression
        if not (isinstance(arr, exp.Array) and len(arr.expressions) == 1 and isinstance(lam, exp.Lambda)
                and len(lam.expressions) == 1):
            return node
        var = lam.expressions[0].name
        if not any(_is_udf(u) and _uses(u, {var}) for u in lam.this.find_all(exp.Anonymous)):
            return node
        value = arr.expressions[0]

        def put(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Identifier) and n.name == var and not isinstance(n.parent, exp.Column | exp.Table):
                return value.copy()
            return n

        return lam.this.copy().transform(put)

    return tree.transform(swap)


def _hoist_udfs(tree: exp.Expression) -> exp.Expression:
    """Compute, in a subquery under the SELECT, each Python UDF call that sits in a lambda but
    reads only columns, and read its result as a column (``__udfN``; dropped from what the
    statement makes, see :meth:`SparkConnection._put`)."""
    n = 0
    for select in list(tree.find_all(exp.Select)):
        calls = [u for u in select.find_all(exp.Anonymous)
                 if _is_udf(u) and _lambda_vars(u) and not _uses(u, _lambda_vars(u))
                 and u.find_ancestor(exp.Select) is select]
        if not calls:
            continue
        source = select.args.get("from_") or select.args.get("from")
        if source is None or select.args.get("joins"):
            raise NotImplementedError("a Python UDF in a lambda of a SELECT with joins")
        alias = source.this.alias_or_name
        inner = exp.select(exp.Star()).from_(source.this.copy())
        for call in calls:
            n += 1
            name = f"{HOISTED}{n}"
            inner = inner.select(exp.alias_(call.copy(), name), append=True)
            call.replace(exp.column(name))
        source.set("this", exp.alias_(exp.Subquery(this=inner), alias, table=True) if alias else exp.Subquery(this=inner))
    return tree


def _zip_unnests(node: exp.Expression) -> exp.Expression:
    """``SELECT unnest($a), unnest($b)::T`` / ``SELECT f(unnest(l)) FROM t``: DuckDB unnests
    lists side by side (the shorter padded with NULL, a NULL or empty list giving no row);
    Spark takes one generator per SELECT and none inside an expression. So the lists are
    zipped (``arrays_zip`` pads alike) into a lateral view (or, without FROM, a subquery) and
    each value read from it."""
    if not isinstance(node, exp.Select):
        return node
    explodes = [e for p in node.expressions for e in p.find_all(exp.Explode)
                if e.find_ancestor(exp.Select) is node]
    if not explodes or (len(explodes) == 1 and node.expressions[0] is explodes[0]
                        or len(explodes) == 1 and isinstance(explodes[0].parent, exp.Alias)
                        and explodes[0].parent.parent is node):
        return node
    arrays = [e.this.copy() for e in explodes]
    names = [f"_u{i}" for i in range(len(explodes))]
    has_from = bool(node.args.get("from_") or node.args.get("from"))
    for name, e in zip(names, explodes, strict=True):
        e.replace(exp.column(name, table="_unnest") if has_from else exp.column(name))
    zipped = exp.Inline(this=exp.ArraysZip(expressions=arrays))
    if has_from:
        node.append("laterals", exp.Lateral(this=zipped, view=True, outer=False, alias=exp.TableAlias(
            this=exp.to_identifier("_unnest"), columns=[exp.to_identifier(n) for n in names])))
        return node
    inner = exp.select(*[exp.column(exp.to_identifier(str(i), quoted=True)).as_(n) for i, n in enumerate(names)]) \
        .from_(exp.Subquery(this=exp.select(zipped)))
    return node.from_(exp.Subquery(this=inner))


def _bottom_up(node: exp.Expression) -> exp.Expression:
    """``_for_spark`` on every node, children first. (SQLGlot's ``transform`` does not descend
    into a node a rule returns, so a ``lower`` under ``regexp_split_to_array`` or ``try``
    stayed untranslated.) Each node of the statement is seen once; nodes a rule makes are not."""
    for child in list(node.iter_expressions()):
        _bottom_up(child)
    new = _for_spark(node)
    if new is not node and node.parent is not None:
        node.replace(new)
    return new


def to_spark_sql(tree: exp.Expression) -> str:
    tree = _bottom_up(tree.copy()).transform(_zip_unnests)
    if any(_is_udf(u) and _lambda_vars(u) for u in tree.find_all(exp.Anonymous)):
        tree = _hoist_udfs(_inline_lets(tree))
    return tree.sql(dialect="spark")


