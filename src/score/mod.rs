//! Scoring: reliability tables and deal likelihoods.

pub mod reliability;
