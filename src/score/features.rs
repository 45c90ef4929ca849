//! Deal features, computed point in time.
//!
//! A *snapshot* is a day `t` on which deals are looked at: the as-of date for today's open
//! deals, or some days before a past window's close for training and backtesting. For a deal
//! at a snapshot only the claims published by `t` are read, and every rate comes from
//! [`Lookups`] as of `t`. Columns produced (one row per snapshot and deal):
//!
//! * evidence: `evidence` = Σ over independent origins of `logit(h) − logit(base)`, where
//!   `h` is the origin's shrunk hit rate at the strongest stage it reported (for a denial,
//!   one minus it) and `base` the share of resolved deals that happened; `evidence_low/high`
//!   use the ends of the credible intervals; `key_origin`, `key_stage`, `key_rate` (with
//!   `key_rate_low/high`) describe the most informative origin (largest `|logit(h) −
//!   logit(base)|`); `origins`, `reports`, `n_sources`.
//!   A report's *origin* is the source it cites (`cites`), or, when it repeats the wording of
//!   an earlier report of the same deal within `copy_window_days`, that report's origin; else
//!   its own source. Copies therefore add no evidence.
//! * wording: `stage_max`, `any_denial`;
//! * clubs and season: `buyer_rate`, `seller_rate` (null seller → `seller_missing`),
//!   `season_rate`, `base_rate`;
//! * timing: `days_to_close` (from the latest report), `lead` (from `t`), `recent` and
//!   `previous` report counts over the last two `momentum_days` periods;
//! * player: `market_value_eur`, `contract_months`, `player_age` (null when unknown).
//!
//! [`model_matrix_columns`] turns them into the model's numeric inputs.

use polars::prelude::*;

use crate::schema::outcome;
use crate::schema::Stage;
use crate::score::reliability::{deal_hit, story_hit};
use crate::score::snapshot::{rates_at, RatesAt, StagePriors};
use crate::score::{per_deal, per_player};
use crate::settings::Config;

/// Everything known at each snapshot day.
#[derive(Debug, Clone)]
pub struct Lookups {
    pub source_stage: RatesAt,
    pub buyer: RatesAt,
    pub seller: RatesAt,
    pub season: RatesAt,
    pub base: RatesAt,
    /// Every known move of a player: `player`, `known_on` (the day it became known), sorted.
    pub player_moves: DataFrame,
}

/// Computes [`Lookups`] at `times` from resolved source stories and deals (deals need
/// `summer`).
///
/// An item counts from the day its window closed (grace included), or from its resolution if
/// later: in a window still running only the confirmations are known — the refutations come
/// at the close — and counting them early would flatter every source and club mid-window.
pub fn lookups(
    stories: &DataFrame,
    deals: &DataFrame,
    transfers: &DataFrame,
    times: &[i32],
    config: &Config,
) -> PolarsResult<Lookups> {
    let player_moves = transfers
        .clone()
        .lazy()
        .select([col("player"), col("known_on")])
        .sort(["player", "known_on"], SortMultipleOptions::default())
        .collect()?;
    let rc = &config.reliability;
    let settled =
        (col("window_close") + lit(config.outcomes.grace_days as i32 + 1)).cast(DataType::Int32);
    let counted = |df: &DataFrame| {
        df.clone().lazy().with_column(
            when(col("resolved_on").lt(settled.clone()))
                .then(settled.clone())
                .otherwise(col("resolved_on"))
                .alias("resolved_on"),
        )
    };
    let deals_lf = counted(deals);
    let stories_lf = counted(stories);
    let deal_rates = |lf: LazyFrame, key: &str| rates_at(lf, &[key], None, deal_hit(), times, rc);
    // The five records are independent: built two at a time (each is mostly single-threaded
    // prior fitting), the same numbers in the same order whatever the thread count.
    let (source_stage, (buyer, (seller, (season, base)))) = rayon::join(
        || {
            rates_at(
                stories_lf,
                &["source", "stage"],
                Some(StagePriors {
                    column: "stage",
                    step: rc.stage_step_logit,
                }),
                story_hit(),
                times,
                rc,
            )
        },
        || {
            rayon::join(
                || deal_rates(deals_lf.clone(), "to_club"),
                || {
                    rayon::join(
                        || {
                            deal_rates(
                                deals_lf.clone().filter(col("from_club").is_not_null()),
                                "from_club",
                            )
                        },
                        || {
                            rayon::join(
                                || {
                                    deal_rates(
                                        deals_lf
                                            .clone()
                                            .with_column(col("summer").cast(DataType::UInt32)),
                                        "summer",
                                    )
                                },
                                || {
                                    deal_rates(
                                        deals_lf.clone().with_column(lit(0u32).alias("all")),
                                        "all",
                                    )
                                },
                            )
                        },
                    )
                },
            )
        },
    );
    Ok(Lookups {
        source_stage: source_stage?,
        buyer: buyer?,
        seller: seller?,
        season: season?,
        base: base?,
        player_moves,
    })
}

/// `ln(p / (1 - p))` with `p` clipped to `[1e-4, 1 - 1e-4]`.
pub fn logit_expr(p: Expr) -> Expr {
    let p = p.clip(lit(1e-4), lit(1.0 - 1e-4));
    (p.clone() / (lit(1.0) - p)).log(lit(std::f64::consts::E))
}

/// The number of an eligible row (a deal at a snapshot), carried by its claims.
const ROW: &str = "__row";

/// The order of feature rows, and of the training rows they are fitted in: by snapshot,
/// then deal.
pub const SNAPSHOT_ORDER: [&str; 4] = ["snap", "player", "to_club", "window"];

/// Whether the rows are in strictly increasing [`SNAPSHOT_ORDER`] (nulls first, as polars
/// sorts them): the order a sort by those keys gives when they are unique.
pub fn in_snapshot_order(df: &DataFrame) -> PolarsResult<bool> {
    use crate::column_values::{opt_i32, opt_u32};
    let [snap, player, club, window] = SNAPSHOT_ORDER;
    let (snap, player) = (opt_u32(df, snap)?, opt_u32(df, player)?);
    let (club, window) = (opt_u32(df, club)?, opt_i32(df, window)?);
    let key = |i: usize| (snap[i], player[i], club[i], window[i]);
    Ok((1..df.height()).all(|i| key(i - 1) < key(i)))
}

/// `df` in [`SNAPSHOT_ORDER`]: as it is when it is in that order already (checked in one
/// pass), else sorted.
fn in_snapshot_order_or_sorted(df: DataFrame) -> PolarsResult<DataFrame> {
    if in_snapshot_order(&df)? {
        Ok(df)
    } else {
        df.sort(SNAPSHOT_ORDER, SortMultipleOptions::default())
    }
}

/// One point-in-time rate to add to a frame that has `t`: the rate of the group whose keys
/// are the columns `on` (in the order of the lookup's keys) on day `t`, falling back to the
/// prior of that day (per stage: `prior_on` names the local stage column).
struct RateSpec<'a> {
    at: &'a RatesAt,
    on: &'a [&'a str],
    prior_on: Option<&'a str>,
    name: &'a str,
    bounds: bool,
}

impl<'a> RateSpec<'a> {
    fn new(at: &'a RatesAt, on: &'a [&'a str], name: &'a str) -> RateSpec<'a> {
        RateSpec {
            at,
            on,
            prior_on: None,
            name,
            bounds: false,
        }
    }

    /// The columns of the rate on `df`: `<name>`, `<name>_prior` (the value a group with no
    /// record gets on that day), `<name>_known` (the group has a record) and, when `bounds`,
    /// `<name>_low`, `<name>_high` (credible interval). Row by row, in place of a join of the
    /// distinct `(t, keys)` rates and one of the priors (the same values; BENCHMARKS.md).
    fn columns(&self, df: &DataFrame) -> PolarsResult<Vec<Column>> {
        use crate::column_values::{opt_i32, opt_u32};
        let t = opt_i32(df, "t")?;
        let keys = self
            .on
            .iter()
            .map(|o| opt_u32(df, o))
            .collect::<PolarsResult<Vec<_>>>()?;
        let family = self.prior_on.map(|p| opt_u32(df, p)).transpose()?;
        let r = self
            .at
            .rates_of_rows(&t, &keys, family.as_deref(), self.bounds)?;
        let or = |a: &[Option<f64>], b: &[Option<f64>]| -> Vec<Option<f64>> {
            a.iter().zip(b).map(|(a, b)| a.or(*b)).collect()
        };
        let name = self.name;
        let known: Vec<bool> = r.rate.iter().map(Option::is_some).collect();
        let mut columns = vec![
            Column::new(name.into(), or(&r.rate, &r.prior)),
            Column::new(format!("{name}_prior").into(), r.prior),
            Column::new(format!("{name}_known").into(), known),
        ];
        if self.bounds {
            columns.push(Column::new(
                format!("{name}_low").into(),
                or(&r.low, &r.prior_low),
            ));
            columns.push(Column::new(
                format!("{name}_high").into(),
                or(&r.high, &r.prior_high),
            ));
        }
        Ok(columns)
    }
}

/// Adds the rates of `specs` to `df`, in that order ([`RateSpec::columns`]); each is looked
/// up on a thread of its own (they only read `df`).
fn with_rates(mut df: DataFrame, specs: &[RateSpec]) -> PolarsResult<DataFrame> {
    use rayon::prelude::*;
    let columns = specs
        .par_iter()
        .map(|spec| spec.columns(&df))
        .collect::<PolarsResult<Vec<_>>>()?;
    for column in columns.into_iter().flatten() {
        df.with_column(column)?;
    }
    Ok(df)
}

/// Features of the deals in `eligible` (`snap, player, to_club, window` and any passthrough
/// columns) at the snapshots of `requests` (`snap`, `t`). With `claim_ids`, adds the
/// `;`-joined ids of the claims read.
pub fn deal_features(
    claims: &DataFrame,
    requests: &DataFrame,
    eligible: LazyFrame,
    windows: &DataFrame,
    lookups: &Lookups,
    config: &Config,
    claim_ids: bool,
) -> PolarsResult<DataFrame> {
    let lc = &config.likelihood;
    // The rows are put in their final order here, on the few columns of the eligible deals,
    // and every join below keeps it: the features need no sort of their many columns.
    let eligible = in_snapshot_order_or_sorted(eligible.collect()?)?;
    // Each eligible row (a deal at a snapshot) is numbered once: its claims carry the number,
    // and the per-deal tables are made by it and gathered by it.
    let eligible = eligible.with_row_index(ROW.into(), None)?;
    let deal_claims = claims_of_deals(claims, &eligible, claim_ids)?;
    let player_claims = claims_of_players(claims, &eligible)?;
    let n = eligible.height();
    let rows = eligible_rows(&eligible, requests)?;
    // The claims' side (each deal's claims at its snapshot) and the players' side (their
    // links and moves) are independent: each on a thread of its own.
    let (per_row, players) = rayon::join(
        || -> PolarsResult<_> {
            let c = claims_by_snapshot(&deal_claims, &eligible, &rows)?;
            let groups = crate::column_values::Groups::by(&c, ROW, n)?;
            let c = with_origins(c, &groups, n, lc.copy_window_days as i32)?;
            let m = lc.momentum_days as i32;
            let (by_origin, rest) = rayon::join(
                || evidence_by_origin(&c, &groups, n, lookups, claim_ids),
                || -> PolarsResult<_> {
                    Ok((
                        per_deal::claim_aggregates(&c, &groups, ROW, m, claim_ids)?,
                        per_deal::sellers(&c, &groups, ROW)?,
                    ))
                },
            );
            let (aggregates, seller) = rest?;
            Ok((by_origin?, aggregates, seller))
        },
        || -> PolarsResult<_> { player_context(&player_claims, &rows, lookups) },
    );
    let (by_origin, aggregates, seller) = per_row?;
    let players = players?;
    // Every per-row table is keyed by the row number: gathered by it, not joined on it.
    let lf = joined_by_row(eligible, &aggregates, &[&by_origin, &seller, &players])?
        .lazy()
        .join(
            windows.clone().lazy().select([
                col("window"),
                col("window_close"),
                col("summer").cast(DataType::UInt32).alias("summer"),
            ]),
            [col("window")],
            [col("window")],
            crate::column_values::left_join_in_order(),
        )
        .drop(cols([ROW]));
    let df = lf.collect()?;
    let lf = with_rates(
        df,
        &[
            RateSpec::new(&lookups.buyer, &["to_club"], "buyer_rate"),
            RateSpec::new(&lookups.seller, &["from_club"], "seller_rate"),
            RateSpec::new(&lookups.season, &["summer"], "season_rate"),
            RateSpec::new(&lookups.base, &[], "base_rate"),
        ],
    )?
    .lazy();
    let df = lf
        .with_columns([
            (col("window_close") - col("last_report"))
                .clip_min(lit(0))
                .alias("days_to_close"),
            (col("window_close") - col("t"))
                .clip_min(lit(0))
                .alias("lead"),
            (col("t") - col("last_move_known")).alias("days_since_move"),
            col("player_moves")
                .fill_null(lit(0u32))
                .alias("player_moves"),
            ((col("contract_until") - col("t")).cast(DataType::Float64) / lit(30.44))
                .clip(lit(-12.0), lit(120.0))
                .alias("contract_months"),
        ])
        .collect()?;
    in_snapshot_order_or_sorted(df)
}

/// `eligible` (its rows numbered [`ROW`] 0, 1, … in order) joined with tables keyed by
/// [`ROW`]: the rows `first` has (an inner join), then the columns of each of `then` (null
/// where it has no row: left joins), in `eligible`'s order. Each table's rows are gathered
/// by their number instead of joined on it (at a million claims, 34 ms of joins on one
/// column). A number twice in a table, which a join would answer by repeating the row, is an
/// error.
fn joined_by_row(
    eligible: DataFrame,
    first: &DataFrame,
    then: &[&DataFrame],
) -> PolarsResult<DataFrame> {
    let n = eligible.height();
    // Where each row number is in `table`.
    let places = |table: &DataFrame| -> PolarsResult<Vec<Option<IdxSize>>> {
        let mut at = vec![None; n];
        let rows = table.column(ROW)?.cast(&IDX_DTYPE)?;
        for (i, row) in rows.idx()?.iter().enumerate() {
            let slot = row
                .and_then(|r| at.get_mut(r as usize))
                .ok_or_else(|| polars_err!(ComputeError: "a row number outside 0..{n}: {row:?}"))?;
            if slot.replace(i as IdxSize).is_some() {
                polars_bail!(ComputeError: "row number {row:?} twice in a per-row table");
            }
        }
        Ok(at)
    };
    let at_first = places(first)?;
    let kept: Vec<IdxSize> = (0..n as IdxSize)
        .filter(|r| at_first[*r as usize].is_some())
        .collect();
    // The rows of `table` at the kept row numbers, without its row number column.
    let gathered = |table: &DataFrame, at: &[Option<IdxSize>]| -> PolarsResult<DataFrame> {
        let idx: IdxCa = kept.iter().map(|r| at[*r as usize]).collect();
        table.drop(ROW)?.take(&idx)
    };
    let mut out = eligible.take(&IdxCa::from_slice(ROW.into(), &kept))?;
    out.hstack_mut(gathered(first, &at_first)?.columns())?;
    for table in then {
        out.hstack_mut(gathered(table, &places(table)?)?.columns())?;
    }
    Ok(out)
}

/// The columns the features read of the claims of the eligible deals (with `claim_ids`,
/// `claim_id` too), in file order: the rows found a piece of the claims per thread, by their
/// deal (player, to_club, window) in a hash set of the eligible deals, then gathered. The
/// claims of the players' other deals are read only by the players' links
/// ([`claims_of_players`]): where a few players are in very many deals (the `narrow` world of
/// `benches/peers.sh`), gathering every column of every claim of theirs held 0.8 GiB at ten
/// million claims, and the open deals' peak passed 2.5 GiB.
fn claims_of_deals(
    claims: &DataFrame,
    eligible: &DataFrame,
    claim_ids: bool,
) -> PolarsResult<DataFrame> {
    use crate::column_values::{opt_i32, opt_u32};
    let mut columns = vec![
        "player",
        "to_club",
        "window",
        "source",
        "cites",
        "published",
        "stage",
        "text_hash",
        "from_club",
        "market_value_eur",
        "contract_until",
        "player_age",
    ];
    if claim_ids {
        columns.push("claim_id");
    }
    let (player, club) = (opt_u32(eligible, "player")?, opt_u32(eligible, "to_club")?);
    let window = opt_i32(eligible, "window")?;
    let wanted: std::collections::HashSet<(u32, u32, i32), foldhash::fast::FixedState> = player
        .iter()
        .zip(&club)
        .zip(&window)
        .filter_map(|((p, c), w)| Some(((*p)?, (*c)?, (*w)?)))
        .collect();
    let keys = claims.select(["player", "to_club", "window"])?;
    let found = crate::column_values::rows_found(&keys, |piece| {
        let rows = piece
            .column("player")?
            .u32()?
            .iter()
            .zip(piece.column("to_club")?.u32()?.iter())
            .zip(piece.column("window")?.i32()?.iter());
        let mut found = Vec::new();
        for (i, ((p, c), w)) in rows.enumerate() {
            if let (Some(p), Some(c), Some(w)) = (p, c, w) {
                if wanted.contains(&(p, c, w)) {
                    found.push(i as IdxSize);
                }
            }
        }
        Ok(found)
    })?;
    claims
        .select(columns)?
        .take(&IdxCa::from_vec(PlSmallStr::EMPTY, found))
}

/// What the players' links read of the claims of the eligible deals' players, in file order
/// ([`crate::deal::rows_with_ids_in`]).
fn claims_of_players(claims: &DataFrame, eligible: &DataFrame) -> PolarsResult<DataFrame> {
    crate::deal::rows_with_ids_in(
        claims,
        &["player", "window", "to_club", "published"],
        "player",
        eligible,
    )
}

/// The claims of each eligible deal as known at each snapshot (`published <= t`), with the
/// snapshot (`snap`, `t`), the number of the eligible row ([`ROW`]) and the source they cite
/// (or their own) as `cited`. `claims` are those of the eligible deals
/// ([`claims_of_deals`]); `rows` are the eligible rows' deals and days ([`eligible_rows`]).
/// The pairs are found by [`per_deal::claims_at_rows`] and the claims gathered once, where
/// two joins on four columns did the same (BENCHMARKS.md).
fn claims_by_snapshot(
    claims: &DataFrame,
    eligible: &DataFrame,
    rows: &DataFrame,
) -> PolarsResult<DataFrame> {
    let (claim, row) = per_deal::claims_at_rows(claims, rows)?;
    let row = IdxCa::from_vec("row".into(), row);
    let mut c = claims.take(&IdxCa::from_vec("claim".into(), claim))?;
    for name in ["snap", ROW] {
        c.with_column(eligible.column(name)?.take(&row)?)?;
    }
    c.with_column(rows.column("t")?.take(&row)?)?;
    let cited: UInt32Chunked = c
        .column("cites")?
        .u32()?
        .iter()
        .zip(c.column("source")?.u32()?.iter())
        .map(|(cites, source)| cites.or(source))
        .collect();
    c.with_column(cited.with_name("cited".into()).into_column())?;
    Ok(c)
}

/// Each eligible row's deal and snapshot day: `ROW, player, to_club, window, t` (`t` of its
/// `snap` in `requests`).
fn eligible_rows(eligible: &DataFrame, requests: &DataFrame) -> PolarsResult<DataFrame> {
    use crate::column_values::{opt_i32, opt_u32};
    let day: std::collections::HashMap<_, _, foldhash::fast::FixedState> =
        opt_u32(requests, "snap")?
            .into_iter()
            .zip(opt_i32(requests, "t")?)
            .collect();
    let t: Vec<Option<i32>> = opt_u32(eligible, "snap")?
        .iter()
        .map(|s| s.and_then(|s| day.get(&Some(s)).copied().flatten()))
        .collect();
    let mut rows = eligible.select([ROW, "player", "to_club", "window"])?;
    rows.with_column(Column::new("t".into(), t))?;
    Ok(rows)
}

/// Each claim's `origin`: the source first to use the same wording about the same deal
/// within the copy window, else the source it cites (or its own).
///
/// A wording is a `(ROW, text_hash)` group (the same text about one deal at one snapshot);
/// its first day is the earliest `published` of the group and its origin the least `cited`
/// on that day. Claims without wording (or with a null key) keep `cited`. A wording lies
/// within one eligible row, so the rows' claims (`groups`, by [`ROW`]) are read a block of
/// rows per thread, each row's claims sorted by wording: the same origins whatever the
/// blocks. At a million wide claims (some 350 thousand claim-snapshots) one hash map of
/// every wording filled on one thread took 0.10–0.13 s with the other core idle
/// (BENCHMARKS.md).
fn with_origins(
    mut c: DataFrame,
    groups: &crate::column_values::Groups,
    n: usize,
    copy_window_days: i32,
) -> PolarsResult<DataFrame> {
    use crate::column_values::{opt_i32, opt_u32, opt_u64};
    use rayon::prelude::*;
    let published = opt_i32(&c, "published")?;
    let (cited, text_hash) = (opt_u32(&c, "cited")?, opt_u64(&c, "text_hash")?);
    let mut origin = cited.clone();
    // Per block: the claims given another origin, and one buffer reused row after row.
    let copied: Vec<(Vec<(u32, u32)>, _)> = (0..n as u32)
        .into_par_iter()
        .with_min_len(1024)
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut out, mut worded), g| {
                // The row's claims with a wording and a day, by wording, then day, then cited
                // (`None` first: a minimum skips it below).
                worded.clear();
                worded.extend(groups.rows(g).iter().filter_map(|&i| {
                    let k = i as usize;
                    Some((text_hash[k]?, published[k]?, cited[k], i))
                }));
                worded.sort_unstable();
                for same in worded.chunk_by(|a, b| a.0 == b.0) {
                    let day = same[0].1;
                    // The least source cited on the first day, nulls skipped: without one
                    // the wording's claims keep their own.
                    let Some(by) = same.iter().take_while(|w| w.1 == day).find_map(|w| w.2) else {
                        continue;
                    };
                    out.extend(
                        same.iter()
                            .filter(|w| w.1 - day <= copy_window_days)
                            .map(|w| (w.3, by)),
                    );
                }
                (out, worded)
            },
        )
        .collect();
    for (i, by) in copied.into_iter().flat_map(|(out, _)| out) {
        origin[i as usize] = Some(by);
    }
    let origin: UInt32Chunked = origin.into_iter().collect();
    c.with_column(origin.with_name("origin".into()).into_column())?;
    Ok(c)
}

/// Per deal and snapshot, the evidence of its independent origins: each origin's record at
/// the strongest stage it reported (a denial's turned round) against the base rate, summed;
/// and the most informative origin's record (`key_*`). See [`per_deal::evidence`].
fn evidence_by_origin(
    c: &DataFrame,
    groups: &crate::column_values::Groups,
    n: usize,
    lookups: &Lookups,
    claim_ids: bool,
) -> PolarsResult<DataFrame> {
    let per_origin = per_deal::origins(c, groups, ROW)?;
    // Credible intervals are only needed for today's deals (the prior model's band).
    let per_origin = with_rates(
        per_origin,
        &[
            RateSpec {
                prior_on: Some("o_stage"),
                bounds: claim_ids,
                ..RateSpec::new(&lookups.source_stage, &["origin", "o_stage"], "rel")
            },
            RateSpec::new(&lookups.base, &[], "base_rate"),
        ],
    )?;
    // The origin's record is read against the crowd's at the same stage on the same day
    // (`rel_prior`): a source with no record has skill 0 whatever the day, so the input
    // means the same in training and at scoring.
    per_deal::evidence(&per_origin, ROW, n, claim_ids)
}

/// Per eligible row ([`ROW`]): the clubs linked with the player in the window by `t`
/// (competition), and the moves known by `t` with the day the latest became known
/// (mobility). See [`per_player`].
fn player_context(
    claims: &DataFrame,
    rows: &DataFrame,
    lookups: &Lookups,
) -> PolarsResult<DataFrame> {
    let links = per_player::links(claims, rows)?;
    let (moves, last) = per_player::mobility(&lookups.player_moves, rows)?;
    DataFrame::new_infer_height(vec![
        rows.column(ROW)?.clone(),
        Column::new("player_links".into(), links),
        Column::new("player_moves".into(), moves),
        Column::new("last_move_known".into(), last),
    ])
}

/// A model input: its column and the reason group its contribution is reported under.
#[derive(Debug, Clone, Copy)]
pub struct ModelInput {
    pub name: &'static str,
    pub group: &'static str,
}

/// The model's numeric inputs, in order, with their reason groups: the one list the fit, the
/// reasons and [`model_matrix_columns`] (checked by a test) agree on.
pub const INPUTS: [ModelInput; 31] = [
    ModelInput {
        name: "x_evidence",
        group: "evidence",
    },
    ModelInput {
        name: "x_skill",
        group: "evidence",
    },
    ModelInput {
        name: "x_key_skill",
        group: "evidence",
    },
    ModelInput {
        name: "x_origins_log",
        group: "origins",
    },
    ModelInput {
        name: "x_reports_log",
        group: "reports",
    },
    ModelInput {
        name: "x_winter",
        group: "season",
    },
    ModelInput {
        name: "x_evidence_winter",
        group: "season",
    },
    ModelInput {
        name: "x_stage_denied",
        group: "stage",
    },
    ModelInput {
        name: "x_stage_interest",
        group: "stage",
    },
    ModelInput {
        name: "x_stage_talks",
        group: "stage",
    },
    ModelInput {
        name: "x_stage_advanced",
        group: "stage",
    },
    ModelInput {
        name: "x_stage_agreed",
        group: "stage",
    },
    ModelInput {
        name: "x_stage_done",
        group: "stage",
    },
    ModelInput {
        name: "x_any_denial",
        group: "denial",
    },
    ModelInput {
        name: "x_buyer_rel",
        group: "buyer",
    },
    ModelInput {
        name: "x_seller_rel",
        group: "seller",
    },
    ModelInput {
        name: "x_seller_missing",
        group: "seller",
    },
    ModelInput {
        name: "x_season_rel",
        group: "season",
    },
    ModelInput {
        name: "x_days_to_close_log",
        group: "timing",
    },
    ModelInput {
        name: "x_lead_log",
        group: "timing",
    },
    ModelInput {
        name: "x_momentum",
        group: "momentum",
    },
    ModelInput {
        name: "x_value_log",
        group: "value",
    },
    ModelInput {
        name: "x_value_missing",
        group: "value",
    },
    ModelInput {
        name: "x_contract_months",
        group: "contract",
    },
    ModelInput {
        name: "x_contract_missing",
        group: "contract",
    },
    ModelInput {
        name: "x_age",
        group: "age",
    },
    ModelInput {
        name: "x_age_missing",
        group: "age",
    },
    ModelInput {
        name: "x_player_links_log",
        group: "links",
    },
    ModelInput {
        name: "x_player_moves_log",
        group: "mobility",
    },
    ModelInput {
        name: "x_since_move_log",
        group: "mobility",
    },
    ModelInput {
        name: "x_no_move",
        group: "mobility",
    },
];

/// Names of the model's numeric inputs, in order.
pub const MODEL_INPUTS: [&str; 31] = {
    let mut names = [""; 31];
    let mut i = 0;
    while i < INPUTS.len() {
        names[i] = INPUTS[i].name;
        i += 1;
    }
    names
};

/// The reason group of a model input (`None`: not an input).
pub fn input_group(name: &str) -> Option<&'static str> {
    INPUTS.iter().find(|m| m.name == name).map(|m| m.group)
}

/// `logit(rate) − logit(reference)`, 0 when either is unknown.
fn relative(rate: Expr, reference: Expr) -> Expr {
    let f = |e: Expr| e.cast(DataType::Float64);
    (logit_expr(f(rate)) - logit_expr(f(reference))).fill_null(lit(0.0))
}

/// Adds the [`MODEL_INPUTS`] columns (`Float64`, no nulls, prefixed `x_`) and `x_base_logit` to a frame of
/// [`deal_features`].
pub fn model_matrix_columns(features: LazyFrame) -> LazyFrame {
    let f = |e: Expr| e.cast(DataType::Float64);
    let stage = |s: Stage| f(col("stage_max").eq(lit(s.rank())));
    features.with_columns([
        f(col("evidence")).fill_null(lit(0.0)).alias("x_evidence"),
        f(col("skill")).fill_null(lit(0.0)).alias("x_skill"),
        f(col("key_skill")).fill_null(lit(0.0)).alias("x_key_skill"),
        f(col("origins"))
            .fill_null(lit(0.0))
            .log1p()
            .alias("x_origins_log"),
        f(col("reports")).log1p().alias("x_reports_log"),
        stage(Stage::Denied).alias("x_stage_denied"),
        stage(Stage::Interest).alias("x_stage_interest"),
        stage(Stage::Talks).alias("x_stage_talks"),
        stage(Stage::Advanced).alias("x_stage_advanced"),
        stage(Stage::Agreed).alias("x_stage_agreed"),
        stage(Stage::Done).alias("x_stage_done"),
        f(col("any_denial")).alias("x_any_denial"),
        // Club and season records are inputs relative to what a club or season with no
        // record gets on the same day (the prior, the base rate): those move from one day to
        // the next, and an input that moves with them means something else at scoring than
        // it did in training.
        relative(col("buyer_rate"), col("buyer_rate_prior")).alias("x_buyer_rel"),
        relative(col("seller_rate"), col("seller_rate_prior")).alias("x_seller_rel"),
        f(col("from_club").is_null()).alias("x_seller_missing"),
        relative(col("season_rate"), col("base_rate")).alias("x_season_rel"),
        (lit(1.0) - f(col("summer"))).alias("x_winter"),
        // Sources' records pool both seasons; in winter the same report is worth less.
        (f(col("evidence")).fill_null(lit(0.0)) * (lit(1.0) - f(col("summer"))))
            .alias("x_evidence_winter"),
        logit_expr(f(col("base_rate"))).alias("x_base_logit"),
        f(col("days_to_close")).log1p().alias("x_days_to_close_log"),
        f(col("lead")).log1p().alias("x_lead_log"),
        ((f(col("recent")) + lit(1.0)) / (f(col("previous")) + lit(1.0)))
            .log(lit(std::f64::consts::E))
            .alias("x_momentum"),
        (f(col("market_value_eur")) / lit(1e6))
            .log1p()
            .fill_null(lit(0.0))
            .alias("x_value_log"),
        f(col("market_value_eur").is_null()).alias("x_value_missing"),
        f(col("contract_months"))
            .fill_null(lit(0.0))
            .alias("x_contract_months"),
        f(col("contract_months").is_null()).alias("x_contract_missing"),
        f(col("player_age")).fill_null(lit(0.0)).alias("x_age"),
        f(col("player_age").is_null()).alias("x_age_missing"),
        // Other clubs after the same player, and how often and how lately the player moved.
        f(col("player_links"))
            .fill_null(lit(1.0))
            .log(lit(std::f64::consts::E))
            .alias("x_player_links_log"),
        f(col("player_moves"))
            .fill_null(lit(0.0))
            .log1p()
            .alias("x_player_moves_log"),
        f(col("days_since_move"))
            .log1p()
            .fill_null(lit(0.0))
            .alias("x_since_move_log"),
        f(col("days_since_move").is_null()).alias("x_no_move"),
    ])
}

/// The resolved deals a model can learn from: `player, to_club, window, resolved_on` and
/// `label` (whether the move happened).
pub fn resolved_for_training(deals: &DataFrame) -> LazyFrame {
    deals
        .clone()
        .lazy()
        .filter(crate::schema::is_resolved(col("outcome")))
        .select([
            col("player"),
            col("to_club"),
            col("window"),
            col("resolved_on"),
            col("outcome").eq(lit(outcome::CONFIRMED)).alias("label"),
        ])
}

/// Training rows: each deal of `resolved` ([`resolved_for_training`]) at each snapshot of its
/// window (`requests`: `snap, window, t`) taken while it was still unresolved
/// (`resolved_on > t`). Columns `snap, player, to_club, window, label`.
pub fn training_eligible(resolved: LazyFrame, requests: &DataFrame) -> LazyFrame {
    // Snapshots in order, each with its window's deals in their order: with the deals in
    // deal order (as they come), the rows come in [`SNAPSHOT_ORDER`].
    let mut in_order = JoinArgs::new(JoinType::Inner);
    in_order.maintain_order = MaintainOrderJoin::LeftRight;
    requests
        .clone()
        .lazy()
        .select([col("snap"), col("window"), col("t")])
        .join(resolved, [col("window")], [col("window")], in_order)
        .filter(col("resolved_on").gt(col("t")))
        .select([
            col("snap"),
            col("player"),
            col("to_club"),
            col("window"),
            col("label"),
        ])
}

/// How many rows [`training_eligible`] gives for `resolved`, counted without making them:
/// per deal, the snapshots of its window before it was resolved (a binary search in the
/// window's sorted snapshot days). At ten million claims the rows number millions before
/// they are sampled down to the training size.
pub fn training_rows(resolved: &DataFrame, requests: &DataFrame) -> PolarsResult<usize> {
    use crate::column_values::opt_i32;
    use std::collections::HashMap;
    let mut days: HashMap<i32, Vec<i32>, foldhash::fast::FixedState> = HashMap::default();
    for (w, t) in opt_i32(requests, "window")?
        .into_iter()
        .zip(opt_i32(requests, "t")?)
    {
        if let (Some(w), Some(t)) = (w, t) {
            days.entry(w).or_default().push(t);
        }
    }
    for d in days.values_mut() {
        d.sort_unstable();
    }
    let window = resolved.column("window")?.cast(&DataType::Int32)?;
    let resolved_on = resolved.column("resolved_on")?.cast(&DataType::Int32)?;
    Ok(window
        .i32()?
        .iter()
        .zip(resolved_on.i32()?.iter())
        .map(|(w, r)| match (w.and_then(|w| days.get(&w)), r) {
            (Some(d), Some(r)) => d.partition_point(|t| *t < r),
            _ => 0,
        })
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_wording_is_credited_to_the_first_source_to_use_it() {
        // Snapshot 0, deal (1, 2, 4050). Wording 77: first used on day 10 by sources 5 and 3
        // (the least, 3, is the origin), copied by 9 on day 12 (within 3 days: origin 3) and
        // by 8 on day 20 (too late: its own). Wording 88 and the claim without wording keep
        // their `cited`. The same wording in snapshot 1 or about another deal is another
        // group: there 6 is first (day 11). Wording 99: on its first day one claim cites
        // nothing (null) and one cites 4: both get 4, as a minimum skips nulls. Wording 55:
        // first used (day 1) by a claim citing nothing, so there is no origin to credit and
        // the copy on day 2 keeps its own 6.
        // Eligible rows: 0 is (snapshot 0, deal (1, 2, 4050)), 1 the same deal at snapshot 1,
        // 2 deal (1, 7, 4050) at snapshot 0.
        let c = df!(
            ROW =>         [0u32, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0],
            "text_hash" => [Some(77u64), Some(77), Some(77), Some(77), Some(88), None, Some(77), Some(77), Some(99), Some(99), Some(55), Some(55)],
            "published" => [12i32, 10, 10, 20, 13, 9, 11, 11, 5, 5, 1, 2],
            "cited" =>     [Some(9u32), Some(5), Some(3), Some(8), Some(4), Some(2), Some(6), Some(6), None, Some(4), None, Some(6)],
        )
        .expect("df");
        let (origin, out) = origins_of(c, 3, 3);
        let mut expected = [3, 3, 3, 8, 4, 2, 6, 6, 4, 4, 0, 6].map(Some).to_vec();
        expected[10] = None;
        assert_eq!(origin, expected, "{out:?}");
        // Nothing else changes: the claims keep their rows and order.
        assert_eq!(out.height(), 12);
        assert_eq!(out.width(), 5);
    }

    /// [`with_origins`] of the claims `c` of `n` rows: the origins, and the table.
    fn origins_of(c: DataFrame, n: usize, window: i32) -> (Vec<Option<u32>>, DataFrame) {
        let groups = crate::column_values::Groups::by(&c, ROW, n).expect("groups");
        let out = with_origins(c, &groups, n, window).expect("origins");
        let origin = out
            .column("origin")
            .and_then(|c| c.u32())
            .expect("origin")
            .iter()
            .collect();
        (origin, out)
    }

    /// The origins by one map of every wording, claim by claim (the implementation before
    /// the rows were read in blocks): the oracle of the property test below.
    fn origins_one_by_one(
        row: &[u32],
        text_hash: &[Option<u64>],
        published: &[Option<i32>],
        cited: &[Option<u32>],
        copy_window_days: i32,
    ) -> Vec<Option<u32>> {
        let mut first: std::collections::HashMap<(u32, u64), (i32, Option<u32>)> =
            std::collections::HashMap::new();
        for i in 0..row.len() {
            let (Some(h), Some(day)) = (text_hash[i], published[i]) else {
                continue;
            };
            let f = first.entry((row[i], h)).or_insert((day, cited[i]));
            if day < f.0 {
                *f = (day, cited[i]);
            } else if day == f.0 {
                f.1 = match (f.1, cited[i]) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        (0..row.len())
            .map(|i| {
                let copied = text_hash[i]
                    .and_then(|h| first.get(&(row[i], h)))
                    .zip(published[i])
                    .filter(|((day, _), p)| p - day <= copy_window_days)
                    .and_then(|((_, by), _)| *by);
                copied.or(cited[i])
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Rows read in blocks on any number of threads give each claim the origin that one
        /// map of every wording gives it: many rows (more than one block), few wordings and
        /// days (so that wordings repeat, days tie and copies fall both sides of the window),
        /// nulls in every column read.
        #[test]
        fn origins_by_rows_in_blocks_are_those_of_one_map(
            claims in proptest::collection::vec(
                (
                    0u32..3000,
                    proptest::option::weighted(0.9, 0u64..4),
                    proptest::option::weighted(0.9, 0i32..8),
                    proptest::option::weighted(0.8, 0u32..6),
                ),
                0..6000,
            ),
            window in 0i32..4,
        ) {
            let row: Vec<u32> = claims.iter().map(|c| c.0).collect();
            let text_hash: Vec<Option<u64>> = claims.iter().map(|c| c.1).collect();
            let published: Vec<Option<i32>> = claims.iter().map(|c| c.2).collect();
            let cited: Vec<Option<u32>> = claims.iter().map(|c| c.3).collect();
            let expected = origins_one_by_one(&row, &text_hash, &published, &cited, window);
            let c = df!(
                ROW => row.clone(),
                "text_hash" => text_hash,
                "published" => published,
                "cited" => cited,
            )
            .expect("df");
            let (origin, _) = origins_of(c, 3000, window);
            proptest::prop_assert_eq!(origin, expected);
        }
    }

    #[test]
    fn per_row_tables_are_gathered_as_an_inner_then_left_joins_in_row_order() {
        let eligible = df!(ROW => [0u32, 1, 2, 3], "deal" => ["a", "b", "c", "d"]).expect("df");
        // Rows 3, 0 and 1 have claims (out of order); row 1 alone has a seller.
        let first = df!(ROW => [3u32, 0, 1], "reports" => [30u32, 0, 10]).expect("df");
        let seller = df!(ROW => [1u32], "from_club" => [Some(7u32)]).expect("df");
        let out = joined_by_row(eligible.clone(), &first, &[&seller]).expect("joined");
        let expected = df!(
            ROW => [0u32, 1, 3],
            "deal" => ["a", "b", "d"],
            "reports" => [0u32, 10, 30],
            "from_club" => [None, Some(7u32), None],
        )
        .expect("df");
        assert!(out.equals_missing(&expected), "{out}");
        // A row number twice, or one past the rows, is an error, not a row repeated or lost.
        let twice = df!(ROW => [1u32, 1], "from_club" => [1u32, 2]).expect("df");
        assert!(joined_by_row(eligible.clone(), &first, &[&twice]).is_err());
        let past = df!(ROW => [4u32], "from_club" => [1u32]).expect("df");
        assert!(joined_by_row(eligible, &past, &[]).is_err());
    }

    #[test]
    fn training_rows_are_counted_as_they_are_made() {
        // Window 1 has snapshots on days 10, 20 and 30; window 2 on day 15; window 3 none.
        let requests = df!(
            "snap" => [0u32, 1, 2, 3],
            "window" => [1i32, 1, 1, 2],
            "t" => [30i32, 10, 20, 15],
        )
        .expect("requests");
        let deals = df!(
            "player" => [1u32, 2, 3, 4, 5, 6, 7],
            "to_club" => [9u32; 7],
            "window" => [1i32, 1, 1, 2, 2, 3, 1],
            "resolved_on" => [Some(25i32), Some(10), Some(31), Some(16), Some(15), Some(40), None],
            "outcome" => [
                outcome::CONFIRMED, outcome::REFUTED, outcome::CONFIRMED, outcome::REFUTED,
                outcome::CONFIRMED, outcome::CONFIRMED, outcome::OPEN,
            ],
        )
        .expect("deals");
        // Unresolved before: player 1 at days 10 and 20, player 3 at all three, player 4 at
        // 15; player 2 resolved on the first snapshot's day, player 5 on its only one.
        let resolved = resolved_for_training(&deals).collect().expect("resolved");
        assert_eq!(training_rows(&resolved, &requests).expect("count"), 6);
        let rows = training_eligible(resolved.lazy(), &requests)
            .collect()
            .expect("rows");
        assert_eq!(rows.height(), 6);
        // With the deals in deal order, the rows come by snapshot, then deal: no sort needed.
        assert!(in_snapshot_order(&rows).expect("order"));
    }

    #[test]
    fn the_model_matrix_has_exactly_the_model_inputs() {
        // One deal with every column `model_matrix_columns` reads.
        let floats = [
            "base_rate",
            "buyer_rate",
            "buyer_rate_prior",
            "contract_months",
            "days_since_move",
            "days_to_close",
            "evidence",
            "key_skill",
            "lead",
            "market_value_eur",
            "origins",
            "player_age",
            "player_links",
            "player_moves",
            "previous",
            "recent",
            "reports",
            "season_rate",
            "seller_rate",
            "seller_rate_prior",
            "skill",
        ];
        let mut columns: Vec<Column> = floats
            .iter()
            .map(|c| Column::new((*c).into(), [0.5f64]))
            .collect();
        columns.push(Column::new("any_denial".into(), [false]));
        columns.push(Column::new("summer".into(), [true]));
        columns.push(Column::new("from_club".into(), [Some(3u32)]));
        columns.push(Column::new("stage_max".into(), [Stage::Talks.rank()]));
        let row = DataFrame::new_infer_height(columns).expect("row");
        let matrix = model_matrix_columns(row.lazy()).collect().expect("matrix");
        let names: Vec<String> = matrix
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        // Every input is a number, never null.
        for input in MODEL_INPUTS {
            let c = matrix.column(input).expect("input").f64().expect("f64");
            assert_eq!(c.null_count(), 0, "{input}");
        }
        assert_eq!(
            matrix
                .column("x_stage_talks")
                .expect("c")
                .f64()
                .expect("f")
                .get(0),
            Some(1.0)
        );
        for input in MODEL_INPUTS {
            assert!(
                names.iter().any(|n| n == input),
                "{input} is a model input but the matrix does not build it"
            );
        }
        let built = names
            .iter()
            .filter(|n| n.starts_with("x_") && *n != "x_base_logit");
        for n in built {
            assert!(
                MODEL_INPUTS.contains(&n.as_str()),
                "{n} is built but not an input"
            );
        }
    }

    #[test]
    fn every_input_has_its_reason_group() {
        for input in MODEL_INPUTS {
            assert!(input_group(input).is_some(), "{input}");
        }
        assert_eq!(input_group("x_stage_done"), Some("stage"));
        assert_eq!(input_group("x_base_logit"), None);
    }

    #[test]
    fn relative_is_the_log_odds_difference_and_zero_when_unknown() {
        let df = df!(
            "rate" => [Some(0.5), Some(0.8), None],
            "reference" => [Some(0.5), Some(0.5), Some(0.5)],
        )
        .expect("frame");
        let out = df
            .lazy()
            .select([relative(col("rate"), col("reference")).alias("r")])
            .collect()
            .expect("collect");
        let r: Vec<f64> = out
            .column("r")
            .expect("r")
            .f64()
            .expect("f64")
            .iter()
            .flatten()
            .collect();
        assert_eq!(r.len(), 3);
        assert!(r[0].abs() < 1e-12);
        assert!((r[1] - (0.8f64 / 0.2).ln()).abs() < 1e-9);
        assert_eq!(r[2], 0.0);
    }
}
