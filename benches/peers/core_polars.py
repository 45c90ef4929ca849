"""The core work of REFERENCE.md (v1) with Python polars (lazy, streaming engine): read +
normalise, windows, stories, outcomes, per-source and per-club Beta-Binomial, three CSV
reports.

    python core_polars.py DATA OUT [AS_OF]
"""
import datetime as dt
import sys

import polars as pl

data, out = sys.argv[1], sys.argv[2]
as_of = dt.date.fromisoformat(sys.argv[3] if len(sys.argv) > 3 else "2026-11-24")
GRACE = dt.timedelta(days=7)
STAGES = ["denied", "speculation", "interest", "talks", "advanced", "agreed", "done"]

# a. read + normalise; every column read as text, dates parsed.
norm = lambda c: pl.col(c).str.strip_chars(" ").str.to_lowercase()
claims = pl.scan_csv(f"{data}/rumours.csv", infer_schema=False).select(
    pl.col("source"),
    norm("player").alias("player"),
    norm("to_club").alias("to_club"),
    pl.col("published").str.to_date("%Y-%m-%d"),
    pl.col("stage"),
    pl.col("window"),
)
transfers = (
    pl.scan_csv(f"{data}/transfers.csv", infer_schema=False)
    .select(
        norm("player").alias("player"),
        norm("to_club").alias("to_club"),
        pl.col("date").str.to_date("%Y-%m-%d"),
    )
    .filter(pl.col("date").is_not_null())
)

# b. window per claim.
y = pl.col("published").dt.year()
derived = (
    pl.when(pl.col("published") < pl.date(y, 2, 1))
    .then(y.cast(pl.String) + "-winter")
    .when(pl.col("published") <= pl.date(y, 9, 1))
    .then(y.cast(pl.String) + "-summer")
    .otherwise((y + 1).cast(pl.String) + "-winter")
)
claims = claims.with_columns(
    pl.coalesce(pl.col("window"), derived).alias("window"),
    pl.col("stage").replace_strict(STAGES, list(range(7)), default=None, return_dtype=pl.Int8).alias("rank"),
)

# c. stories.
parts = pl.col("window").str.split_exact("-", 1)
stories = (
    claims.group_by(["source", "player", "to_club", "window"])
    .agg(
        pl.col("published").min().alias("first_published"),
        pl.len().alias("n_claims"),
        pl.col("rank").max().alias("rank"),
    )
    .with_columns(
        pl.col("rank").replace_strict(list(range(7)), STAGES, default=None, return_dtype=pl.String).alias("max_stage"),
        pl.date(
            parts.struct.field("field_0").cast(pl.Int32),
            pl.when(parts.struct.field("field_1") == "summer").then(9).otherwise(2),
            1,
        ).alias("window_close"),
    )
    .drop("rank")
)

# d. outcomes: a story is TRUE when a dated move matches it within its span.
keys = ["source", "player", "to_club", "window"]
hits = (
    stories.select(keys + ["first_published", "window_close"])
    .join(transfers, on=["player", "to_club"], how="inner")
    .filter(
        (pl.col("date") >= pl.col("first_published"))
        & (pl.col("date") <= pl.col("window_close") + GRACE)
    )
    .select(keys)
    .unique()
    .with_columns(pl.lit(True).alias("hit"))
)
judged = (
    stories.join(hits, on=keys, how="left")
    .with_columns(
        pl.when(pl.col("hit"))
        .then(pl.lit("TRUE"))
        .when(pl.col("window_close") + GRACE < as_of)
        .then(pl.lit("FALSE"))
        .otherwise(pl.lit("OPEN"))
        .alias("outcome")
    )
    .drop("hit")
    .collect(engine="streaming")
)


# e. scores with the method-of-moments prior.
def scores(key):
    g = (
        judged.lazy()
        .group_by(key)
        .agg(
            pl.len().alias("n_stories"),
            (pl.col("outcome") != "OPEN").sum().alias("n_resolved"),
            (pl.col("outcome") == "TRUE").sum().alias("hits"),
        )
        .with_columns(
            pl.when(pl.col("n_resolved") > 0)
            .then(pl.col("hits") / pl.col("n_resolved"))
            .alias("raw_rate")
        )
        .collect()
    )
    p = g.filter(pl.col("n_resolved") >= 10)["raw_rate"]
    a = b = 1.0
    if p.len() >= 2:
        m, v = p.mean(), p.var(ddof=0)
        if v > 0:
            k = m * (1 - m) / v - 1
            if k > 0:
                a, b = m * k, (1 - m) * k
    return g.with_columns(
        ((pl.col("hits") + a) / (pl.col("n_resolved") + a + b)).alias("posterior")
    ).sort(key)


# f. reports.
scores("source").write_csv(f"{out}/sources.csv")
scores("to_club").write_csv(f"{out}/clubs.csv")
judged.select(keys + ["first_published", "n_claims", "max_stage", "window_close", "outcome"]).write_csv(
    f"{out}/stories.csv"
)
