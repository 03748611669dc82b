"""The account graph: leads joined into accounts by the keys they share, under a user's edits.

Accounts are the connected components of the graph lead — key. Only the distinct key pairs
leave SQL, as two integer arrays (a million leads of ten thousand companies are some ten
thousand pairs), and a vectorised union-find joins them: every round hooks each root under the
smallest root it has an edge to, then pointer jumping flattens the forest into stars. Each
round removes at least one root, in practice most of them (a chain numbered in order: two).
SQL label propagation, before, joined the whole lead — key table once per round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from funnel.sql import drop_table, lock_for, rows, run, scalar
from funnel.sql.accounts import name_key, name_params, number_key

# What a build leaves besides ``account_leads`` (a view over the first two) and ``account_keys``.
TABLES = ("account_lead_ids", "account_nodes")
_WORK = ("account_key_ids", "account_cells")


@dataclass(frozen=True)
class Edits:
    """A user's corrections of the accounts (the account match report): ``merges`` pairs of keys
    whose accounts are one; ``split_keys`` keys that join no two keys (a company name shared by
    two firms, a domain of a group); ``split_leads`` leads that are accounts of their own."""

    merges: tuple[tuple[str, str], ...] = ()
    split_keys: tuple[str, ...] = ()
    split_leads: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.merges or self.split_keys or self.split_leads)

    def merge(self, a: str, b: str) -> Edits:
        """These edits and: the account holding key ``a`` merged into the one holding ``b``."""
        return self if a == b or (a, b) in self.merges else replace(self, merges=(*self.merges, (a, b)))

    def split_key(self, k: str) -> Edits:
        """These edits and: key ``k`` joins nothing (its account splits where it was the tie)."""
        return self if k in self.split_keys else replace(self, split_keys=(*self.split_keys, k))

    def split_lead(self, lead_key: str) -> Edits:
        """These edits and: the lead ``lead_key`` is an account of its own."""
        return self if lead_key in self.split_leads else replace(self, split_leads=(*self.split_leads, lead_key))

    def undo(self, kind: str, i: int) -> Edits:
        """These edits without the ``i``-th of ``kind`` (``merges``, ``split_keys``, ``split_leads``)."""
        kept = getattr(self, kind)
        return replace(self, **{kind: kept[:i] + kept[i + 1:]})

    def to_json(self) -> dict[str, Any]:
        return {"merges": [list(p) for p in self.merges], "split_keys": list(self.split_keys),
                "split_leads": list(self.split_leads)}

    @classmethod
    def from_json(cls, data: Any) -> Edits:
        """Edits read back from :meth:`to_json` (nothing or something else: none)."""
        if not isinstance(data, dict):
            return cls()
        return cls(tuple((str(a), str(b)) for a, b in data.get("merges") or []),
                   tuple(str(k) for k in data.get("split_keys") or []), tuple(str(k) for k in data.get("split_leads") or []))


Labels = Any    # an int64 NumPy array: the root (smallest node) of each node's component


def components(n: int, a: Any, b: Any) -> tuple[Labels, int]:
    """The component of each of the nodes ``0 … n-1`` joined by the edges ``a[i] — b[i]``,
    named by its smallest node; and the rounds taken.

    The smallest node names the component because a root is only ever hooked under a smaller
    one (labels never increase, and a node's label is always a node of its component)."""
    lab = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    rounds = 0
    while True:
        rounds += 1
        ra, rb = lab[a], lab[b]
        across = ra != rb
        if not across.any():
            return lab, rounds
        # Edges inside one component never matter again: each round works on fewer.
        a, b, ra, rb = a[across], b[across], ra[across], rb[across]
        np.minimum.at(lab, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            nxt = lab[lab]
            if np.array_equal(nxt, lab):
                break
            lab = nxt


def _cells(con: duckdb.DuckDBPyConnection, params: dict[str, Any], kinds: tuple[str, ...],
           split_keys: list[str]) -> tuple[int, int, int]:
    """``account_cells(kind, x, kid)``: every distinct MA cell of a key kind (``n`` corporate
    number, ``c`` company, ``d`` the domain of an address) with its key's number;
    ``account_key_ids(k, kid)``: the keys, numbered names and numbers first, then domains, then
    the ``split_keys``, each in text order (so a lead's smallest number is a name or number
    when it has one, and a key that joins when it has one). Cells are normalised once each (a
    company is on many rows). Returns the first number of a corporate number (names come
    first), of a domain and of a split key."""
    parts = []
    if "n" in kinds:
        parts.append(f"""SELECT 'n' AS kind, x, 'n:' || {number_key('x')} AS k FROM (
            SELECT DISTINCT corporate_number AS x FROM ma_rows WHERE corporate_number IS NOT NULL AND _key IS NOT NULL)""")
    if "c" in kinds:
        parts.append(f"""SELECT 'c' AS kind, x, 'c:' || {name_key('x')} AS k FROM (
            SELECT DISTINCT company AS x FROM ma_rows WHERE company IS NOT NULL AND _key IS NOT NULL)""")
    body = " UNION ALL ".join(parts) if parts else "SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS x, NULL::VARCHAR AS k WHERE false"
    # Names and numbers on their own: a statement that first meets a cell NFKC must fold runs
    # again (funnel.sql._execute), and this one reads only the distinct cells.
    run(con, f"CREATE OR REPLACE TABLE account_cells AS SELECT kind, x, k FROM ({body}) WHERE k IS NOT NULL",
        name_params(params) if "c" in kinds else None)
    if "d" in kinds:
        run(con, """INSERT INTO account_cells SELECT 'd', d, 'd:' || d FROM (
                SELECT DISTINCT split_part(unnest(emails), '@', 2) AS d FROM ma_rows WHERE _key IS NOT NULL AND len(emails) > 0)
            WHERE d <> '' AND NOT list_contains($free_mail, d)""", {"free_mail": params["free_mail"]})
    run(con, """CREATE OR REPLACE TABLE account_key_ids AS
        SELECT k, (row_number() OVER (ORDER BY list_contains($split, k), k LIKE 'd:%', k) - 1)::BIGINT AS kid,
               list_contains($split, k) AS split, k LIKE 'd:%' AS domain
        FROM (SELECT DISTINCT k FROM account_cells)""", {"split": split_keys})
    run(con, "CREATE OR REPLACE TABLE account_cells AS SELECT c.kind, c.x, i.kid FROM account_cells c JOIN account_key_ids i USING (k)")
    found = rows(con, "SELECT count(*) FILTER (WHERE NOT split AND k LIKE 'c:%'), count(*) FILTER (WHERE NOT split AND NOT domain), "
                      "count(*) FILTER (WHERE NOT split) FROM account_key_ids")
    return int(found[0][0]), int(found[0][1]), int(found[0][2])


def _row_keys(kinds: tuple[str, ...]) -> str:
    """Every MA row of a lead (one per address of a row of several) with its smallest and
    largest key number ``x`` and ``y``, ``w`` how many keys it holds, and the keys ``ks``."""
    joins, cols = [], []
    for kind, on in (("n", "r.corporate_number"), ("c", "r.company"), ("d", "split_part(r.e, '@', 2)")):
        if kind in kinds:
            joins.append(f"LEFT JOIN account_cells {kind} ON {kind}.kind = '{kind}' AND {kind}.x = {on}")
            cols.append(f"{kind}.kid")
    email = ("unnest(CASE WHEN coalesce(len(emails), 0) = 0 THEN [NULL] ELSE emails END)" if "d" in kinds
             else "NULL::VARCHAR")
    ks = ", ".join(cols) or "NULL::BIGINT"
    return f"""SELECT r._key, r._kf, r._kl, least({ks}) AS x, greatest({ks}) AS y,
                      {' + '.join(f'({c} IS NOT NULL)::INT' for c in cols) or '0'} AS w, [{ks}] AS ks
        FROM (SELECT _key, _kf, _kl, corporate_number, company, {email} AS e
              FROM ma_rows WHERE _key IS NOT NULL) r {' '.join(joins)}"""


def create_lead_ids(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...], split_leads: list[str]) -> None:
    """``account_lead_ids``: each lead with a key, in one pass over ``ma_rows``: its first and
    last row (``kf``, ``kl``), its smallest and largest key number (``lo``, ``hi``: all its keys
    when every row holds the same one or two, else ``complex``: its rows are read again for
    the pairs), and the ``node`` it joins its account by (``lo``), or a node of its own
    (``alone``) for the ``split_leads``. (Few aggregates: on a million leads each costs.)"""
    run(con, f"""
        CREATE OR REPLACE TABLE account_lead_ids AS
        WITH g AS (SELECT _key AS lead_key, min(_kf) AS kf, max(_kl) AS kl, min(x) AS lo, max(y) AS hi,
                          max(x) <> min(x) OR max(y) <> min(y) OR max(w) > 2 AS complex
                   FROM ({_row_keys(kinds)}) GROUP BY _key HAVING lo IS NOT NULL),
             s AS (SELECT lead_key, (SELECT count(*) FROM account_key_ids) + row_number() OVER (ORDER BY lead_key) - 1 AS own
                   FROM g WHERE lead_key IN (SELECT unnest($split_leads::VARCHAR[])))
        SELECT g.*, coalesce(s.own, g.lo) AS node, s.own IS NOT NULL AS alone
        FROM g LEFT JOIN s USING (lead_key)""", {"split_leads": split_leads})


def key_pairs(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...], joining: int,
              merges: list[list[str]]) -> dict[str, Any]:
    """The distinct edges of the account graph as two integer arrays ``a`` and ``b``: each lead's
    node to each of its other keys, none to a split key (numbered ``joining`` and up), and the
    ``merges`` (pairs of keys whose accounts are one); and ``n``, the number of nodes."""
    sql = ["SELECT lo AS a, hi AS b FROM account_lead_ids WHERE NOT alone AND NOT complex"]
    if scalar(con, "SELECT count(*) FROM account_lead_ids WHERE complex AND NOT alone"):
        sql.append(f"""SELECT l.lo, unnest(r.ks) FROM ({_row_keys(kinds)}) r
            JOIN account_lead_ids l ON l.lead_key = r._key WHERE l.complex AND NOT l.alone""")
    with lock_for(con):
        found = con.execute(f"""
            SELECT DISTINCT a, b FROM ({' UNION ALL '.join(sql)}) WHERE a < $j AND b < $j AND a <> b
            UNION ALL
            SELECT x.kid, y.kid FROM unnest($merges::VARCHAR[][]) m(p)
            JOIN account_key_ids x ON x.k = m.p[1] JOIN account_key_ids y ON y.k = m.p[2]""",
                            {"merges": merges, "j": joining}).fetchnumpy()
    n = scalar(con, "SELECT (SELECT count(*) FROM account_key_ids) + (SELECT count(*) FROM account_lead_ids WHERE alone)")
    return {"a": found["a"], "b": found["b"], "n": int(n)}


def _int64s(values: Any) -> pa.Array:
    """An int64 Arrow array over a NumPy array's buffer. ``pa.array(ndarray)`` would do, but it
    imports pandas to ask whether the input is a pandas object: 0.2 s of every CLI run."""
    arr = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(arr), [None, pa.py_buffer(arr)])


def create_accounts(con: duckdb.DuckDBPyConnection, params: dict[str, Any], kinds: tuple[str, ...],
                    edits: Edits | None = None) -> int:
    """``account_leads(lead_key, account, part, named, kf, kl)`` (a view) and ``account_keys(k,
    account)`` from ``ma_rows``, for the key ``kinds`` mapped (``n``, ``c``, ``d``) and under a
    user's ``edits``; returns the union-find rounds.

    ``part`` is the lead's component in the graph without domain keys (NULL: the lead holds
    none but domains; ``named``: it holds a company name): an account whose named leads hold
    several parts has names joined only through a domain.
    Accounts are numbered by their first row (``_kf``: the earliest creation date, undated
    last, then file order), so numbers hold from run to run."""
    e = edits or Edits()
    numbers, domains, joining = _cells(con, params, kinds, list(e.split_keys))
    create_lead_ids(con, kinds, list(e.split_leads))
    pairs = key_pairs(con, kinds, joining, [list(p) for p in e.merges])
    a, b = pairs["a"], pairs["b"]
    roots, rounds = components(pairs["n"], a, b)
    names = (a < domains) & (b < domains)
    parts, _ = components(pairs["n"], a[names], b[names])
    table = pa.Table.from_arrays([_int64s(np.arange(len(roots))), _int64s(roots),
                                  _int64s(np.where(np.arange(len(parts)) < domains, parts, -1))],
                                 names=["node", "root", "part"])
    drop_table(con, "account_leads")
    with lock_for(con):
        con.register("account_roots_v", table)
        try:
            # Nodes of a component without a lead (keys held only by leads split off) are left out here.
            run(con, """
                CREATE OR REPLACE TABLE account_nodes AS
                WITH a AS (SELECT r.root, row_number() OVER (ORDER BY min(l.kf)) AS account
                           FROM account_lead_ids l JOIN account_roots_v r ON r.node = l.node GROUP BY r.root)
                SELECT r.node, a.account, nullif(r.part, -1) AS part FROM account_roots_v r JOIN a USING (root)""")
        finally:
            con.unregister("account_roots_v")
    run(con, f"""CREATE VIEW account_leads AS
        SELECT l.lead_key, a.account, a.part, l.lo < {int(numbers)} AS named, l.kf, l.kl
        FROM account_lead_ids l JOIN account_nodes a ON a.node = l.node""")
    # A key held only by leads split off belongs to (the first of) their accounts.
    own = ("" if not e.split_leads else f"""UNION ALL
        SELECT i.k, min(a.account) FROM (
            SELECT node, unnest([lo, hi]) AS kid FROM account_lead_ids WHERE alone AND NOT complex
            UNION ALL SELECT l.node, unnest(r.ks) FROM ({_row_keys(kinds)}) r
                      JOIN account_lead_ids l ON l.lead_key = r._key WHERE l.alone AND l.complex) o
        JOIN account_nodes a ON a.node = o.node JOIN account_key_ids i ON i.kid = o.kid
        WHERE o.kid NOT IN (SELECT node FROM account_nodes) GROUP BY i.k""")
    run(con, f"""CREATE OR REPLACE TABLE account_keys AS
        SELECT i.k, a.account FROM account_key_ids i JOIN account_nodes a ON a.node = i.kid {own}""")
    for t in _WORK:
        drop_table(con, t)
    return rounds
