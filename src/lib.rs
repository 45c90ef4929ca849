//! # rumour
//!
//! Measures how far football transfer rumours can be trusted. A batch reads claims (who
//! reported what, when) and completed transfers, and writes reliability tables for sources,
//! authors and clubs, the resolved stories, and a calibrated likelihood for every open deal.
//!
//! The run, one module per stage ([`pipeline`] calls them in this order):
//!
//! 1. `ingest` — typed, validated rows; every row used or rejected with a reason.
//! 2. `normalise` — one key per player, club and source, whatever the spelling.
//! 3. `wording` and `windows` — a claim's stage from its words, its window from its date.
//! 4. `stories` — claims grouped into stories (per source) and deals.
//! 5. `resolve` — outcomes as known on the as-of date.
//! 6. `score` — empirical-Bayes reliabilities, point-in-time features, the likelihood model.
//! 7. `backtest` — the model replayed on past windows against baselines.
//! 8. `report` — the tables, `summary.json` and `report.html`, written as one atomic set.
//!
//! Around them: [`settings`] (the configuration, checked once), [`schema`] (column names,
//! stages and outcomes), [`stats`] (the maths), [`error`], `pool` (the one thread pool every
//! command runs on: [`pipeline::on_polars_pool`]); and the tools [`extract`] (claims
//! from article text), [`generate`] (synthetic worlds) and [`import`] (third-party data).
//!
//! ```
//! use rumour::{pipeline::ScoreOptions, settings::Settings, Progress};
//! let opts = ScoreOptions::new("data/rumours.csv", "data/transfers.csv", Some("data/aliases.csv"), "2026-11-24")?;
//! let run = rumour::pipeline::score(&opts, &Settings::default(), &Progress::hidden())?;
//! println!("{} open deals", run.deals.height());
//! assert!(run.summary.rows_add_up);
//! # Ok::<(), rumour::error::Error>(())
//! ```

pub mod error;
pub mod extract;
pub mod generate;
pub mod import;
pub mod pipeline;
pub mod schema;
pub mod settings;
pub mod stats;

mod backtest;
mod cli;
mod column_values;
mod deal;
mod ingest;
mod normalise;
mod pool;
mod prepared;
mod progress;
mod report;
mod resolve;
mod score;
mod stories;
mod windows;
mod wording;

pub use cli::run;
pub use progress::Progress;
