//! The same inputs give byte-identical reports: run to run, across thread counts, and with the
//! input rows in another order.

use std::path::Path;

use crate::support::{files, Run};

fn generate(dir: &Path, claims: u64) {
    Run::new(&["generate", "--seed", "11", "--quiet", "--claims"])
        .arg(claims.to_string())
        .arg("--out")
        .arg(dir)
        .success();
}

fn score(dir: &Path, out: &Path, threads: &str) {
    Run::new(&["score", "--as-of", "2026-11-20", "--quiet"])
        .arg("--rumours")
        .arg(dir.join("rumours.csv"))
        .arg("--transfers")
        .arg(dir.join("transfers.csv"))
        .arg("--aliases")
        .arg(dir.join("aliases.csv"))
        .arg("--out")
        .arg(out)
        .env("POLARS_MAX_THREADS", threads)
        .success();
}

/// Reverses the data rows of a CSV file without quoted newlines (the generator writes none),
/// then interleaves halves: a thorough reordering that keeps the header first.
fn reorder(from: &Path, to: &Path) {
    let text = std::fs::read_to_string(from).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let (a, b) = lines.split_at(lines.len() / 2);
    let mut mixed: Vec<&str> = Vec::with_capacity(lines.len());
    for i in 0..a.len().max(b.len()) {
        if let Some(x) = b.get(i) {
            mixed.push(x);
        }
        if let Some(x) = a.get(i) {
            mixed.push(x);
        }
    }
    std::fs::write(to, format!("{header}\n{}\n", mixed.join("\n"))).expect("write");
}

#[test]
fn identical_reports_across_runs_threads_and_row_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    let world = tmp.path().join("world");
    generate(&world, 6_000);
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    score(&world, &a, "2");
    score(&world, &b, "1");
    let first = files(&a);
    assert_eq!(first, files(&b), "one thread against two");
    score(&world, &c, "2");
    assert_eq!(first, files(&c), "run to run");
    // The claims read in parallel chunks (forced on this small file) give the same reports.
    let e = tmp.path().join("e");
    Run::new(&["score", "--as-of", "2026-11-20", "--quiet"])
        .arg("--rumours")
        .arg(world.join("rumours.csv"))
        .arg("--transfers")
        .arg(world.join("transfers.csv"))
        .arg("--aliases")
        .arg(world.join("aliases.csv"))
        .arg("--out")
        .arg(&e)
        .env("POLARS_MAX_THREADS", "3")
        .env("RUMOUR_SPLIT_MIN_BYTES", "1")
        .success();
    assert_eq!(first, files(&e), "read in three chunks");

    // Same rows, another order, same file names in another directory.
    let shuffled = tmp.path().join("shuffled");
    std::fs::create_dir_all(&shuffled).expect("dir");
    reorder(&world.join("rumours.csv"), &shuffled.join("rumours.csv"));
    reorder(
        &world.join("transfers.csv"),
        &shuffled.join("transfers.csv"),
    );
    std::fs::copy(world.join("aliases.csv"), shuffled.join("aliases.csv")).expect("copy");
    let d = tmp.path().join("d");
    score(&shuffled, &d, "2");
    let other = files(&d);
    for name in [
        "sources.csv",
        "authors.csv",
        "clubs.csv",
        "source_stages.csv",
        "stories.csv",
        "deals.csv",
        "unmatched.csv",
    ] {
        assert!(
            first[name] == other[name],
            "{name} differs when the input rows are reordered"
        );
    }
}
