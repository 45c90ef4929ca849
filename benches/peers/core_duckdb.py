"""The core work of REFERENCE.md (v1) with DuckDB: read + normalise, windows, stories,
outcomes, per-source and per-club Beta-Binomial, three CSV reports.

    python core_duckdb.py DATA OUT [AS_OF]
"""
import sys

import duckdb

data, out = sys.argv[1], sys.argv[2]
as_of = sys.argv[3] if len(sys.argv) > 3 else "2026-11-24"
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")

# a. read + normalise (projection pushdown leaves the unused columns unread).
claims_q = f"""
    SELECT source,
           lower(trim(player)) AS player,
           lower(trim(to_club)) AS to_club,
           published,
           stage,
           "window" AS win
    FROM read_csv('{data}/rumours.csv', header = true, quote = '"', escape = '"',
                  nullstr = '', all_varchar = false,
                  types = {{'published': 'DATE', 'claim_id': 'VARCHAR', 'source': 'VARCHAR',
                           'author': 'VARCHAR', 'player': 'VARCHAR', 'from_club': 'VARCHAR',
                           'to_club': 'VARCHAR', 'stage': 'VARCHAR', 'window': 'VARCHAR',
                           'text': 'VARCHAR', 'url': 'VARCHAR'}})
"""
transfers_q = f"""
    SELECT lower(trim(player)) AS player, lower(trim(to_club)) AS to_club, "date"
    FROM read_csv('{data}/transfers.csv', header = true, quote = '"', escape = '"',
                  nullstr = '', types = {{'date': 'DATE', 'player': 'VARCHAR',
                  'to_club': 'VARCHAR', 'from_club': 'VARCHAR', 'window': 'VARCHAR'}})
    WHERE "date" IS NOT NULL
"""
con.execute(f"CREATE TEMP TABLE transfers AS {transfers_q}")

# b + c. windows and stories.
con.execute(f"""
CREATE TEMP TABLE stories AS
WITH c AS (
    SELECT source, player, to_club, published,
           CASE stage WHEN 'denied' THEN 0 WHEN 'speculation' THEN 1 WHEN 'interest' THEN 2
                      WHEN 'talks' THEN 3 WHEN 'advanced' THEN 4 WHEN 'agreed' THEN 5
                      WHEN 'done' THEN 6 END AS rank,
           coalesce(win,
               CASE WHEN published < make_date(year(published), 2, 1)
                        THEN year(published)::VARCHAR || '-winter'
                    WHEN published <= make_date(year(published), 9, 1)
                        THEN year(published)::VARCHAR || '-summer'
                    ELSE (year(published) + 1)::VARCHAR || '-winter' END) AS win
    FROM ({claims_q})
)
SELECT source, player, to_club, win AS "window",
       min(published) AS first_published,
       count(*) AS n_claims,
       ['denied', 'speculation', 'interest', 'talks', 'advanced', 'agreed', 'done'][max(rank) + 1]
           AS max_stage,
       make_date(split_part(win, '-', 1)::INTEGER,
                 CASE split_part(win, '-', 2) WHEN 'summer' THEN 9 ELSE 2 END, 1) AS window_close
FROM c
GROUP BY source, player, to_club, win
""")

# d. outcomes.
con.execute(f"""
CREATE TEMP TABLE judged AS
WITH hit AS (
    SELECT DISTINCT s.source, s.player, s.to_club, s."window"
    FROM stories s JOIN transfers t
      ON t.player = s.player AND t.to_club = s.to_club
     AND t."date" >= s.first_published AND t."date" <= s.window_close + INTERVAL 7 DAY
)
SELECT s.*,
       CASE WHEN h.source IS NOT NULL THEN 'TRUE'
            WHEN s.window_close + INTERVAL 7 DAY < DATE '{as_of}' THEN 'FALSE'
            ELSE 'OPEN' END AS outcome
FROM stories s LEFT JOIN hit h
  ON h.source = s.source AND h.player = s.player AND h.to_club = s.to_club
 AND h."window" = s."window"
""")

# e + f. scores per group, the method-of-moments prior, reports.
def scores(key, path):
    con.execute(f"""
    COPY (
    WITH g AS (
        SELECT {key},
               count(*) AS n_stories,
               count(*) FILTER (WHERE outcome <> 'OPEN') AS n_resolved,
               count(*) FILTER (WHERE outcome = 'TRUE') AS hits
        FROM judged GROUP BY {key}
    ), m AS (
        SELECT count(*) AS groups, avg(hits / n_resolved) AS m,
               var_pop(hits / n_resolved) AS v
        FROM g WHERE n_resolved >= 10
    ), ab AS (
        SELECT CASE WHEN groups < 2 OR v IS NULL OR v <= 0 OR m * (1 - m) / v - 1 <= 0
                    THEN 1.0 ELSE m * (m * (1 - m) / v - 1) END AS a,
               CASE WHEN groups < 2 OR v IS NULL OR v <= 0 OR m * (1 - m) / v - 1 <= 0
                    THEN 1.0 ELSE (1 - m) * (m * (1 - m) / v - 1) END AS b
        FROM m
    )
    SELECT {key}, n_stories, n_resolved, hits,
           CASE WHEN n_resolved > 0 THEN hits / n_resolved END AS raw_rate,
           (hits + a) / (n_resolved + a + b) AS posterior
    FROM g, ab ORDER BY {key}
    ) TO '{out}/{path}' (HEADER, DELIMITER ',')
    """)

scores("source", "sources.csv")
scores("to_club", "clubs.csv")
con.execute(f"""
COPY (SELECT source, player, to_club, "window", first_published, n_claims, max_stage,
             window_close::DATE AS window_close, outcome FROM judged)
TO '{out}/stories.csv' (HEADER, DELIMITER ',')
""")
