//! Golden snapshots of every report of the tiny fixture (11 claims, 4 transfers: small enough
//! to check by hand, see `hand_computed.rs`), for `score` and `backtest`.
//!
//! A change to any report shows here as a diff. To accept one, run
//! `INSTA_UPDATE=always cargo test --test integration snapshots`, read `git diff
//! tests/integration/snapshots/`, and commit the snapshots with the change that explains
//! them (or use `cargo insta review` if cargo-insta is installed). In CI a mismatch fails.

use crate::support::Run;

const INPUTS: [&str; 6] = [
    "--rumours",
    "tests/fixtures/tiny/rumours.csv",
    "--transfers",
    "tests/fixtures/tiny/transfers.csv",
    "--as-of",
    "2026-11-24",
];

fn report(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_score_report_of_the_tiny_fixture() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    Run::new(&["score", "--quiet"])
        .args(&INPUTS)
        .arg("--out")
        .arg(&out)
        .success();
    for name in [
        "sources.csv",
        "authors.csv",
        "clubs.csv",
        "source_stages.csv",
        "stories.csv",
        "deals.csv",
        "rejects.csv",
        "unmatched.csv",
        "summary.json",
        "report.html",
    ] {
        insta::assert_snapshot!(format!("score_{name}"), report(&out, name));
    }
}

#[test]
fn every_backtest_report_of_the_tiny_fixture() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    Run::new(&["backtest", "--quiet"])
        .args(&INPUTS)
        .arg("--out")
        .arg(&out)
        .success();
    for name in ["backtest.csv", "calibration.csv", "calibration.svg"] {
        insta::assert_snapshot!(format!("backtest_{name}"), report(&out, name));
    }
}
