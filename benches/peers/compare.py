"""Checks that two peers' outputs of the REFERENCE.md core work agree: sources.csv and
clubs.csv row by row (|delta| <= 1e-9 on floats), stories.csv as a set.

    python compare.py OUT_A OUT_B
"""
import sys

import polars as pl

a, b = sys.argv[1], sys.argv[2]
ok = True
for name, key in [("sources.csv", "source"), ("clubs.csv", "to_club")]:
    x = pl.read_csv(f"{a}/{name}", infer_schema_length=0).sort(key)
    y = pl.read_csv(f"{b}/{name}", infer_schema_length=0).sort(key)
    if x.height != y.height or x[key].to_list() != y[key].to_list():
        print(f"{name}: different groups ({x.height} vs {y.height})"); ok = False; continue
    for c in ["n_stories", "n_resolved", "hits"]:
        if x[c].cast(pl.Int64).to_list() != y[c].cast(pl.Int64).to_list():
            print(f"{name}: column {c} differs"); ok = False
    for c in ["raw_rate", "posterior"]:
        d = (x[c].cast(pl.Float64) - y[c].cast(pl.Float64)).abs().fill_null(0).max()
        nulls = (x[c].is_null() != y[c].is_null()).sum()
        if (d or 0) > 1e-9 or nulls:
            print(f"{name}: column {c} differs by {d} ({nulls} nulls differ)"); ok = False
cols = ["source", "player", "to_club", "window", "first_published", "n_claims", "max_stage", "window_close", "outcome"]
x = pl.read_csv(f"{a}/stories.csv", infer_schema_length=0).select(cols).sort(cols, nulls_last=True)
y = pl.read_csv(f"{b}/stories.csv", infer_schema_length=0).select(cols).sort(cols, nulls_last=True)
if not x.equals(y):
    print(f"stories.csv differs ({x.height} vs {y.height} rows)"); ok = False
print("agree" if ok else "DISAGREE", f"({x.height} stories)")
sys.exit(0 if ok else 1)
