"""The pandas script an analyst would write for the same numbers: read_csv, str.lower/strip,
drop_duplicates, isin, groupby (issue 5 baseline)."""
import sys

import pandas as pd

ma = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
sfa = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
ma["e"] = ma["メールアドレス"].str.lower().str.strip()
ma = ma[ma["e"].str.contains("@", regex=False)].sort_values("登録日時").drop_duplicates("e")
emails = set(sfa["取引先責任者メールアドレス"].str.lower().str.strip())
ma["converted"] = ma["e"].isin(emails)
print(ma.groupby("流入元")["converted"].agg(["size", "sum"]).sort_values("size", ascending=False))
