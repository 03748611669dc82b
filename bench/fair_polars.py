"""The fair polars pipeline (issue 20): the same job as ``fair_duckdb.py``, in polars.

Written for the benchmark workload without the project's code (nothing from ``funnel``): one
lazy plan over both CSV exports doing what contracts/cli.md asks of the key and the counts —
NFKC on cells holding a non-ASCII character, ``;``/``,``-separated addresses (each a link),
``Name <addr>`` / ``Name (addr)``, every whitespace trimmed, ``mailto:`` dropped, lower case,
valid = one ``@`` + non-empty local part + a dot in the domain; a lead is its row's first
valid address; first touch by created date (undated last), ties in file order; deals
de-duplicated by ID with the last row's stage; converted = any address of the lead's rows is
a deal's address.

Run as ``python bench/fair_polars.py MA.csv SFA.csv``; prints the counts as one JSON object.
"""

from __future__ import annotations

import json
import sys

import polars as pl

# "Every whitespace": Python's str.isspace() set (U+3000, NBSP, U+2028 ... as well as ASCII).
WS = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
PLAIN = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$"
FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d")


def addresses(frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """``(pos, a)``: every valid normalised address of each row, in cell order."""
    c = pl.col(column)
    cell = (pl.when(c.str.contains(PLAIN)).then(c)
            .when(c.str.contains(r"[^\x00-\x7F]")).then(c.str.normalize("NFKC")).otherwise(c))
    p = pl.col("a")
    inner = pl.coalesce(p.str.extract(r"<([^<>]*@[^<>]*)>", 1), p.str.extract(r"\(([^()]*@[^()]*)\)", 1), p)
    address = inner.str.strip_chars(WS).str.replace(r"^(?i)mailto:", "").str.strip_chars(WS).str.to_lowercase()
    return (frame.select("pos", cell.str.replace_all(";", ",", literal=True).str.split(",").alias("a"))
            .explode("a")
            .select("pos", address.alias("a"))
            .filter(pl.col("a").str.contains(r"^[^@]+@[^@]*\.[^@]*$")))


def plans(ma: str, sfa: str) -> list[pl.LazyFrame]:
    rows = pl.scan_csv(ma, infer_schema=False).with_row_index("pos")
    ma_addresses = addresses(rows, "メールアドレス")
    # A row's key is its first valid address (explode keeps cell order).
    keys = ma_addresses.unique("pos", keep="first", maintain_order=True).rename({"a": "lead"})
    created = pl.coalesce(*(pl.col("登録日時").str.strip_chars(WS).str.strptime(pl.Datetime, f, strict=False)
                            for f in FORMATS))
    # First touch as one sortable number: created seconds, then file position (undated last).
    order = created.dt.epoch("s").fill_null(99_999_999_999) * 16_777_216 + pl.col("pos").cast(pl.Int64)
    source = pl.col("流入元").str.strip_chars(WS)
    firsts = (rows.select("pos", pl.when(source != "").then(source).alias("src"), order.alias("order"))
              .join(keys, on="pos")
              .group_by("lead").agg(pl.col("src").get(pl.col("order").arg_min())))
    deals_rows = pl.scan_csv(sfa, infer_schema=False).with_row_index("pos")
    deal_addresses = addresses(deals_rows, "取引先責任者メールアドレス").select("a").unique()
    converted = (ma_addresses.join(keys.select("pos", "lead"), on="pos")
                 .join(deal_addresses, on="a", how="semi").select("lead").unique()
                 .with_columns(pl.lit(True).alias("converted")))
    by_source = (firsts.join(converted, on="lead", how="left")
                 .group_by("src").agg(pl.len().alias("n"), pl.col("converted").count().alias("m")))
    ident = pl.col("商談 ID").str.strip_chars(WS)
    stage = pl.col("フェーズ").str.strip_chars(WS)
    deals = (deals_rows.select(pl.when(ident != "").then(ident).otherwise(pl.format("row:{}", "pos")).alias("deal"),
                               "pos", pl.when(stage != "").then(stage).alias("stage"))
             .group_by("deal").agg(pl.col("stage").get(pl.col("pos").arg_max())))
    s = pl.col("stage")
    outcomes = (deals.select(pl.when(s.str.contains(r"失注|不成立|(?i:closed\s*lost)")).then(pl.lit("lost"))
                             .when(s.str.contains(r"受注|成約|成立|(?i:closed\s*won)")).then(pl.lit("won"))
                             .otherwise(pl.lit("open")).alias("outcome"))
                .group_by("outcome").len())
    without = rows.select("pos").join(keys, on="pos", how="anti").select(pl.len())
    return [by_source, outcomes, without]


def counts(ma: str, sfa: str) -> dict[str, object]:
    by_source, outcomes, without = pl.collect_all(plans(ma, sfa))
    sources = {json.dumps(r["src"], ensure_ascii=False): [r["n"], r["m"]] for r in by_source.iter_rows(named=True)}
    found = {"won": 0, "lost": 0, "open": 0} | {r["outcome"]: r["len"] for r in outcomes.iter_rows(named=True)}
    return {"overall": {"leads": sum(v[0] for v in sources.values()), "converted": sum(v[1] for v in sources.values())},
            "by_source": sources, "outcomes": found, "rows_without_key": without.item()}


if __name__ == "__main__":
    print(json.dumps(counts(sys.argv[1], sys.argv[2]), ensure_ascii=False, sort_keys=True))
