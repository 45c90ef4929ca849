//! Integration tests: the `rumour` binary run on fixtures, its reports checked.
//!
//! One test binary (each extra one links polars again); one module per concern.

mod support;

mod broken_files;
mod cli;
mod determinism;
mod extract;
mod hand_computed;
mod properties;
mod sample_data;
mod shapes;
mod snapshots;
mod spreadsheets;
mod world;
