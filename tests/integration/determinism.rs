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
    score_split(dir, out, threads, None);
}

/// `score` with `threads` reading threads, each file split for them from `split_min_bytes`
/// bytes (the default, 4 MiB, when `None`).
fn score_split(dir: &Path, out: &Path, threads: &str, split_min_bytes: Option<&str>) {
    let mut run = Run::new(&["score", "--as-of", "2026-11-20", "--quiet"])
        .arg("--rumours")
        .arg(dir.join("rumours.csv"))
        .arg("--transfers")
        .arg(dir.join("transfers.csv"))
        .arg("--aliases")
        .arg(dir.join("aliases.csv"))
        .arg("--out")
        .arg(out)
        .env("POLARS_MAX_THREADS", threads);
    if let Some(bytes) = split_min_bytes {
        run = run.env("RUMOUR_SPLIT_MIN_BYTES", bytes);
    }
    run.success();
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
    score_split(&world, &e, "3", Some("1"));
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

/// The claims of `from` rewritten as a person might leave them: no `claim_id` column (the
/// ids are then made from line numbers), wording over several lines with quotes in every
/// seventh claim, a blank line after every tenth, and one claim with an impossible date,
/// after a blank line. Returns the line of that claim.
fn hand_edited(from: &Path, to: &Path) -> u64 {
    let mut reader = csv::Reader::from_path(from).expect("read");
    let header = reader.headers().expect("header").clone();
    let text = header.iter().position(|h| h == "text").expect("text");
    let published = header
        .iter()
        .position(|h| h == "published")
        .expect("published");
    let row = |fields: &mut dyn Iterator<Item = &str>| -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(fields).expect("write");
        w.into_inner().expect("bytes")
    };
    let mut out = row(&mut header.iter().skip(1));
    let mut bad_line = 0;
    for (i, record) in reader.records().enumerate() {
        let record = record.expect("record");
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        if i % 7 == 3 {
            fields[text] = format!("{}\nas \"one\" paper put it,\n\nat length", fields[text]);
        }
        if i == 4_000 {
            fields[published] = "2024-13-45".into();
            bad_line = 1 + out.iter().filter(|b| **b == b'\n').count() as u64;
        }
        out.extend(row(&mut fields.iter().skip(1).map(String::as_str)));
        if i % 10 == 9 {
            out.push(b'\n');
        }
    }
    std::fs::write(to, out).expect("write");
    bad_line
}

#[test]
fn claims_read_in_chunks_give_the_reports_of_one_piece() {
    let tmp = tempfile::tempdir().expect("tmp");
    let world = tmp.path().join("world");
    generate(&world, 6_000);
    let edited = tmp.path().join("edited");
    std::fs::create_dir_all(&edited).expect("dir");
    let bad_line = hand_edited(&world.join("rumours.csv"), &edited.join("rumours.csv"));
    for name in ["transfers.csv", "aliases.csv"] {
        std::fs::copy(world.join(name), edited.join(name)).expect("copy");
    }
    let run = |threads: &str, out: &Path| {
        score_split(&edited, out, threads, Some("1"));
        files(out)
    };
    let whole = run("1", &tmp.path().join("whole"));
    let rejects = String::from_utf8_lossy(&whole["rejects.csv"]).to_string();
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
    assert!(
        rejects.contains(&format!(",{bad_line},published,2024-13-45,")),
        "{rejects}"
    );
    for threads in ["2", "3", "5", "8"] {
        let chunked = run(threads, &tmp.path().join(format!("t{threads}")));
        for (name, bytes) in &whole {
            assert!(
                chunked.get(name) == Some(bytes),
                "{name} differs read in {threads} chunks"
            );
        }
    }
}
