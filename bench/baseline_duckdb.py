"""The least a correct pipeline must do, in DuckDB: read both exports as text, lower/trim the
email, take each person's first-touch source, join, group by source (issue 5 baseline)."""
import sys

import duckdb

con = duckdb.connect()
rows = con.execute("""
WITH ma AS (SELECT lower(trim("メールアドレス")) AS e, "流入元" AS s, "登録日時" AS d
            FROM read_csv($ma, all_varchar = true)),
     firsts AS (SELECT e, arg_min(s, d) AS s FROM ma WHERE e LIKE '%@%.%' GROUP BY e),
     sfa AS (SELECT DISTINCT lower(trim("取引先責任者メールアドレス")) AS e FROM read_csv($sfa, all_varchar = true))
SELECT f.s, count(*) AS leads, count(sfa.e) AS converted
FROM firsts f LEFT JOIN sfa USING (e) GROUP BY f.s ORDER BY leads DESC""", {"ma": sys.argv[1], "sfa": sys.argv[2]}).fetchall()
print(rows)
