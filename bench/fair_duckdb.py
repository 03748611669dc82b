"""The fair DuckDB pipeline (issue 20): the floor ``analyze`` is measured against.

Written for the benchmark workload without the project's code (it imports nothing from
``funnel``): one SQL statement over both CSV exports that does what contracts/cli.md asks of
the key and the counts, and nothing else —

- email cells: Unicode NFKC on cells holding a non-ASCII character, several addresses per
  cell split on ``;`` and ``,`` (each a link), ``Name <addr>`` / ``Name (addr)``, every kind
  of whitespace trimmed (U+3000 and NBSP too), ``mailto:`` dropped, lower-cased; valid = one
  ``@``, a non-empty local part, a dot in the domain;
- a lead is the first valid address of its row; rows with none count in ``rows_without_key``;
- its source is that of its first row by created date (undated rows last), ties in file order;
- deals de-duplicated by ID (a blank ID: the row is its own deal), the stage of the deal's last
  row giving the outcome (the workload's stage vocabulary: ``6.受注`` won, ``7.失注`` lost);
- a lead is converted when any address of any of its rows is an address of a deal.

Run as ``python bench/fair_duckdb.py MA.csv SFA.csv``; prints the counts as one JSON object
(``bench/__main__.py`` checks them against ``analyze --json``).
"""

from __future__ import annotations

import json
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

# "Every whitespace": Python's str.isspace() set (U+3000, NBSP, U+2028 ... as well as ASCII).
WS = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
PLAIN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+"

MACROS = rf"""
CREATE MACRO trim_ws(s) AS trim(s, '{WS}');
CREATE MACRO one_address(p) AS lower(trim_ws(regexp_replace(trim_ws(
    coalesce(nullif(regexp_extract(p, '<([^<>]*@[^<>]*)>', 1), ''),
             nullif(regexp_extract(p, '\(([^()]*@[^()]*)\)', 1), ''), p)), '^(?i)mailto:', '')));
CREATE MACRO addresses_of(n) AS list_filter(
    list_transform(CASE WHEN regexp_matches(n, '[;,]') THEN string_split_regex(n, '[;,]') ELSE [n] END,
                   lambda p: one_address(p)),
    lambda e: regexp_full_match(e, '[^@]+@[^@]*\.[^@]*'));
-- A plain ASCII address (most cells) is already its own normal form, lower-cased.
CREATE MACRO emails(c) AS CASE
    WHEN c IS NULL THEN []
    WHEN regexp_full_match(c, '{PLAIN}') THEN [lower(c)]
    WHEN regexp_matches(c, '[^\x00-\x7F]') THEN addresses_of(nfkc(c))
    ELSE addresses_of(c) END;
"""

QUERY = r"""
-- The cell work runs first, in parallel; the file position is numbered after it (a window
-- over the raw read would pull every expression above it into one thread).
WITH ma_cells AS MATERIALIZED (
    SELECT emails("メールアドレス") AS em, nullif(trim_ws("流入元"), '') AS src,
           try_strptime(trim_ws("登録日時"), ['%Y/%m/%d %H:%M', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d']) AS created
    FROM read_csv($ma, all_varchar = true, header = true)),
ma AS MATERIALIZED (SELECT row_number() OVER () AS pos, * FROM ma_cells),
leads AS (
    -- First touch as one sortable number: created seconds, then file position (undated last).
    SELECT em[1] AS lead, arg_min_null(src, coalesce(epoch(created)::BIGINT, 99999999999) * 16777216 + pos) AS src
    FROM ma WHERE len(em) > 0 GROUP BY em[1]),
sfa_cells AS MATERIALIZED (
    SELECT nullif(trim_ws("商談 ID"), '') AS id, nullif(trim_ws("フェーズ"), '') AS stage,
           emails("取引先責任者メールアドレス") AS em
    FROM read_csv($sfa, all_varchar = true, header = true)),
sfa AS MATERIALIZED (SELECT row_number() OVER () AS pos, * FROM sfa_cells),
deals AS (
    SELECT coalesce(id, 'row:' || pos) AS deal, arg_max_null(stage, pos) AS stage
    FROM sfa GROUP BY ALL),
deal_addresses AS (SELECT DISTINCT unnest(em) AS a FROM sfa),
converted AS (
    SELECT DISTINCT l.lead FROM (SELECT em[1] AS lead, unnest(em) AS a FROM ma WHERE len(em) > 0) l
    SEMI JOIN deal_addresses d ON d.a = l.a)
SELECT 'source' AS kind, l.src AS name, count(*) AS n, count(c.lead) AS m
FROM leads l LEFT JOIN converted c ON c.lead = l.lead GROUP BY l.src
UNION ALL
SELECT 'outcome', CASE WHEN regexp_matches(stage, '失注|不成立|(?i:closed\s*lost)') THEN 'lost'
                       WHEN regexp_matches(stage, '受注|成約|成立|(?i:closed\s*won)') THEN 'won'
                       ELSE 'open' END, count(*), 0
FROM deals GROUP BY 2
UNION ALL
SELECT 'rows_without_key', NULL, count(*), 0 FROM ma WHERE len(em) = 0
"""


def _nfkc(cells: pa.Array) -> pa.Array:
    return pc.utf8_normalize(cells, form="NFKC")


def counts(ma: str, sfa: str) -> dict[str, object]:
    # Spill (if any) goes under TMPDIR, where the harness measures it.
    with tempfile.TemporaryDirectory(prefix="fair-duckdb-") as tmp:
        con = duckdb.connect(config={"temp_directory": tmp})
        con.create_function("nfkc", _nfkc, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"),
                            type="arrow", side_effects=False)
        con.execute(MACROS)
        found = con.execute(QUERY, {"ma": ma, "sfa": sfa}).fetchall()
        con.close()
    by_source: dict[str, list[int]] = {}
    outcomes = {"won": 0, "lost": 0, "open": 0}
    without = 0
    for kind, name, n, m in found:
        if kind == "source":
            by_source[json.dumps(name, ensure_ascii=False)] = [n, m]
        elif kind == "outcome":
            outcomes[name] = n
        else:
            without = n
    return {"overall": {"leads": sum(v[0] for v in by_source.values()),
                        "converted": sum(v[1] for v in by_source.values())},
            "by_source": by_source, "outcomes": outcomes, "rows_without_key": without}


if __name__ == "__main__":
    print(json.dumps(counts(sys.argv[1], sys.argv[2]), ensure_ascii=False, sort_keys=True))
