//! Scoring: reliability tables and deal likelihoods.

pub mod features;
pub mod likelihood;
pub mod model;
pub mod per_deal;
pub mod per_player;
pub mod reliability;
pub mod snapshot;
