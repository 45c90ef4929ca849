//! The corpus of broken files in `tests/fixtures/broken`, each with what it must produce: a
//! stop with a message naming file and problem (exit 1), or rejects naming line, column and
//! reason while the rest is used.

use std::path::Path;

use crate::support::{fixture, json, read_csv, Run};

fn score(claims: &Path, transfers: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut run = Run::new(&["score", "--no-aliases", "--as-of", "2025-10-01", "--quiet"])
        .arg("--rumours")
        .arg(claims)
        .arg("--transfers")
        .arg(transfers)
        .arg("--out")
        .arg(out);
    for e in extra {
        run = run.arg(e);
    }
    run
}

fn good_transfers() -> std::path::PathBuf {
    fixture("tiny/transfers.csv")
}

/// Runs on a broken claims file and expects a stop with `message` in stderr.
fn stops(file: &str, message: &str) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, stderr) = score(
        &fixture(&format!("broken/{file}")),
        &good_transfers(),
        &tmp.path().join("r"),
        &[],
    )
    .code(1);
    assert!(
        stderr.contains(message),
        "{file}: expected {message:?} in\n{stderr}"
    );
    assert!(
        stderr.contains(file),
        "{file}: the message names the file\n{stderr}"
    );
    assert!(!tmp.path().join("r").exists(), "{file}: no report written");
}

/// Runs and returns the rejects.
fn rejects(claims: &Path, transfers: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("r");
    score(claims, transfers, &out, &[]).success();
    assert_eq!(json(&out.join("summary.json"))["rows_add_up"], true);
    read_csv(&out.join("rejects.csv"))
}

fn has(
    rejects: &[std::collections::BTreeMap<String, String>],
    line: &str,
    column: &str,
    reason: &str,
) {
    assert!(
        rejects
            .iter()
            .any(|r| r["line"] == line && r["column"] == column && r["reason"].contains(reason)),
        "expected a reject at line {line}, column {column}: {reason}\n{rejects:#?}"
    );
}

#[test]
fn structural_problems_stop_the_run() {
    stops("empty.csv", "the file is empty");
    stops("header_only.csv", "has a header but no claims");
    stops(
        "missing_column.csv",
        "did you mean `published`? the header has `publised`",
    );
    stops("duplicate_column.csv", "column `published` appears 2 times");
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, stderr) = score(
        Path::new("no/such/file.csv"),
        &good_transfers(),
        &tmp.path().join("r"),
        &[],
    )
    .code(1);
    assert!(stderr.contains("no/such/file.csv: cannot read"), "{stderr}");
    let (_, stderr) = score(
        &fixture("tiny/rumours.csv"),
        &fixture("broken/transfers_no_date_or_window.csv"),
        &tmp.path().join("r"),
        &[],
    )
    .code(1);
    assert!(
        stderr.contains("missing required column `date` or `window`"),
        "{stderr}"
    );
}

#[test]
fn row_problems_are_rejected_with_line_column_and_reason() {
    let r = rejects(&fixture("broken/bad_values.csv"), &good_transfers());
    has(&r, "3", "published", "not a date");
    has(&r, "4", "source", "required field `source` is empty");
    has(&r, "5", "stage", "unknown stage");
    has(&r, "6", "window", "unknown window");
    has(&r, "7", "to_club", "same club as from_club");
    has(
        &r,
        "8",
        "claim_id",
        "duplicate claim_id (first used at line 2)",
    );
    has(
        &r,
        "9",
        "published",
        "published after the as-of date 2025-10-01",
    );
    assert_eq!(r.len(), 7);

    let r = rejects(&fixture("broken/absurd_context.csv"), &good_transfers());
    has(&r, "2", "player_age", "out of range");
    has(&r, "3", "fee_eur", "out of range");
    assert_eq!(r.len(), 2);

    let r = rejects(
        &fixture("tiny/rumours.csv"),
        &fixture("broken/transfers_rows.csv"),
    );
    has(&r, "3", "to_club", "a transfer to the club it left");
    has(&r, "4", "date", "needs a date or a window");
    has(&r, "5", "kind", "unknown kind");
}

#[test]
fn csv_shapes_are_read_or_rejected_row_by_row() {
    // A byte-order mark and CRLF line ends are read as usual.
    let r = rejects(&fixture("broken/bom_crlf.csv"), &good_transfers());
    assert!(r.is_empty(), "{r:?}");
    // Quoted newlines: the bad date is on line 6, after a field spanning lines 3 to 5.
    let r = rejects(&fixture("broken/quoted_newline.csv"), &good_transfers());
    has(&r, "6", "published", "no such day in the calendar");
    assert_eq!(r.len(), 1);
    // A short row.
    let r = rejects(&fixture("broken/ragged.csv"), &good_transfers());
    has(&r, "3", "", "the row has 7 fields, the header has 11");
    // Its value is the row as written, fields and separators.
    let row = r.iter().find(|r| r["line"] == "3").expect("the short row");
    assert_eq!(
        row["value"],
        "g2,2025-06-02,Tabloid,,Pedro Two,Charlie,Kilo"
    );
    // A UTF-8 file with one damaged row: that row is rejected, the rest used.
    let r = rejects(&fixture("broken/damaged_utf8.csv"), &good_transfers());
    has(&r, "3", "player", "not valid UTF-8");
    assert_eq!(r.len(), 1);
}

#[test]
fn a_file_in_a_legacy_encoding_stops_with_the_fix() {
    // ASCII and a byte that is not UTF-8, nothing else: a Windows-1252 file, not a damaged one.
    stops("non_utf8.csv", "line 3: the file is not UTF-8 text; it reads as windows-1252: pass --encoding windows-1252");
    stops("windows1252.csv", "pass --encoding windows-1252");
}

#[test]
fn a_megabyte_field_is_rejected_not_loaded() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("big.csv");
    let big = "x".repeat(1 << 20);
    std::fs::write(
        &path,
        format!("claim_id,published,source,player,to_club,text\na,2025-06-01,S,P,C,ok\nb,2025-06-01,S,P,C,{big}\n"),
    )
    .expect("write");
    let r = rejects(&path, &good_transfers());
    has(&r, "3", "text", "over the limit of 65536");
    assert!(
        r[0]["value"].len() < 400,
        "the value in rejects.csv is clipped"
    );
}

#[test]
fn strict_mode_stops_at_the_first_bad_row() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, stderr) = score(
        &fixture("broken/bad_values.csv"),
        &good_transfers(),
        &tmp.path().join("r"),
        &["--strict"],
    )
    .code(1);
    assert!(
        stderr.contains("line 3, column `published`: not a date"),
        "{stderr}"
    );
}
