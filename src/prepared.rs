//! The tables every scoring stage starts from: what ingest, normalise, the wording stages,
//! stories and resolve made of the inputs. `pipeline::prepare` builds it; scoring,
//! the backtest and the reports read it.

use polars::prelude::*;

use crate::ingest::{FileStats, Names, Reject};
use crate::score::likelihood::PreparedTables;
use crate::settings::Config;

/// Display names by id of every kind.
pub struct Display {
    pub players: Vec<String>,
    pub clubs: Vec<String>,
    pub sources: Vec<String>,
    pub authors: Vec<String>,
}

/// Everything computed before scoring; the backtest starts from here too.
pub struct Prepared {
    pub config: Config,
    pub as_of: i32,
    pub inputs_files: Vec<FileStats>,
    pub rejects: Vec<Reject>,
    pub aliases: usize,
    pub names: Names,
    /// Display names by id, computed once.
    pub display: std::sync::Arc<Display>,
    /// The claims with their ids, dates, stages and features; without the packed `deal` key
    /// the stories were grouped by (dropped once used: joins use `player, to_club, window`).
    pub claims: DataFrame,
    /// Claims whose stage came from their wording, and whose window from their date.
    pub claims_stage_inferred: u64,
    pub claims_window_inferred: u64,
    pub transfers: DataFrame,
    pub windows: DataFrame,
    pub stories: DataFrame,
    pub author_stories: DataFrame,
    pub deals: DataFrame,
    /// Header names of the claims file's columns rumour does not know; carried through to
    /// `stories` and `deals` (see `ingest::extra_column`).
    pub claim_extras: Vec<String>,
}

impl Prepared {
    /// The tables the training history is built from.
    pub fn tables(&self) -> PreparedTables<'_> {
        PreparedTables {
            claims: &self.claims,
            transfers: &self.transfers,
            stories: &self.stories,
            deals: &self.deals,
            windows: &self.windows,
        }
    }
}
