//! # rumour
//!
//! Measures how far football transfer rumours can be trusted. A batch reads claims (who
//! reported what, when) and completed transfers, and writes reliability tables for sources,
//! authors and clubs, the resolved stories, and a calibrated likelihood for every open deal.
//!
//! The pipeline, one module per stage:
//!
//! 1. [`ingest`] — typed, validated rows; every row used or rejected; names interned.
//! 2. [`normalise`] — one key per player, club and source, whatever the spelling.
//! 3. [`windows`] — the transfer-window calendar.
//! 4. [`stories`] — claims grouped into stories (per source) and deals.
//! 5. [`resolve`] — outcomes as known on the as-of date.
//! 6. [`score`](mod@score) — empirical-Bayes reliabilities, point-in-time features, the likelihood
//!    model.
//! 7. [`backtest`] — the model replayed on past windows against baselines.
//! 8. [`report`] — CSV/Parquet reports written as one atomic set, with [`html`]'s
//!    `report.html`, the run as one self-contained page.
//!
//! ```
//! use rumour::{config::Config, progress::Progress, ScoreOptions};
//! let opts = ScoreOptions::new("data/rumours.csv", "data/transfers.csv", Some("data/aliases.csv"), "2026-11-24")?;
//! let run = rumour::score(&opts, &Config::default(), &Progress::hidden())?;
//! println!("{} open deals", run.deals.height());
//! assert!(run.summary.rows_add_up);
//! # Ok::<(), rumour::error::Error>(())
//! ```

pub mod backtest;
pub mod cli;
pub mod columns;
pub mod config;
pub mod deal;
pub mod error;
pub mod extract;
pub mod generate;
pub mod html;
pub mod import;
pub mod ingest;
pub mod normalise;
pub mod progress;
pub mod report;
pub mod resolve;
pub mod run;
pub mod score;
pub mod stage;
pub mod stats;
pub mod stories;
pub mod windows;

pub use run::{score, ScoreOptions, ScoreRun};
