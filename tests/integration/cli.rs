//! Everyday use: exit codes, validate, column mapping, formats, import, and the atomic output
//! set.

use crate::support::{files, fixture, read_csv, root, Run};

fn tiny(run: Run) -> Run {
    run.arg("--no-aliases")
        .arg("--as-of")
        .arg("2025-10-01")
        .arg("--rumours")
        .arg(fixture("tiny/rumours.csv"))
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
}

#[test]
fn usage_errors_exit_2_with_help() {
    let (_, stderr) = Run::new(&["score", "--no-such-flag"]).code(2);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    let (_, stderr) = Run::new(&["score", "--as-of", "yesterday"]).code(2);
    assert!(stderr.contains("is not a date YYYY-MM-DD"), "{stderr}");
    let (_, stderr) = Run::new(&["score", "--map", "publshed=date", "--out", "/tmp/never"]).code(2);
    assert!(stderr.contains("did you mean `published`"), "{stderr}");
    let (stdout, _) = Run::new(&["score", "--help"]).success();
    assert!(stdout.contains("Example") && stdout.contains("--as-of"));
}

#[test]
fn validate_prints_rejects_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (stdout, _) = Run::new(&[
        "validate",
        "--no-aliases",
        "--as-of",
        "2025-10-01",
        "--rumours",
    ])
    .arg(fixture("broken/bad_values.csv"))
    .arg("--transfers")
    .arg(fixture("tiny/transfers.csv"))
    .dir(tmp.path())
    .success();
    assert!(
        stdout.contains("bad_values.csv:3: column `published`: not a date"),
        "{stdout}"
    );
    assert!(
        stdout.contains("8 rows read, 1 used, 7 rejected"),
        "{stdout}"
    );
    assert!(
        std::fs::read_dir(tmp.path()).expect("dir").next().is_none(),
        "validate wrote nothing"
    );
}

#[test]
fn column_mapping_reads_other_headers_and_lists_extra_columns() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(fixture("tiny/rumours.csv")).expect("read");
    let (header, body) = text.split_once('\n').expect("header");
    let header = header
        .replace("published", "date")
        .replace("source", "outlet");
    let path = tmp.path().join("theirs.csv");
    std::fs::write(
        &path,
        format!(
            "{header},notes\n{}",
            body.lines().map(|l| format!("{l},x\n")).collect::<String>()
        ),
    )
    .expect("write");
    let out = tmp.path().join("r");
    Run::new(&[
        "score",
        "--no-aliases",
        "--as-of",
        "2025-10-01",
        "--quiet",
        "--map",
        "published=date,source=outlet",
        "--rumours",
    ])
    .arg(&path)
    .arg("--transfers")
    .arg(fixture("tiny/transfers.csv"))
    .arg("--out")
    .arg(&out)
    .success();
    assert_eq!(read_csv(&out.join("sources.csv")).len(), 3);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("json"))
            .expect("json");
    assert_eq!(summary["files"][0]["extra_columns"][0], "notes");
}

#[test]
fn extra_claim_columns_are_carried_into_stories_and_deals() {
    // Three columns rumour does not know: one plain, one named like a deals column, one with
    // no name at all.
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(fixture("tiny/rumours.csv")).expect("read");
    let (header, body) = text.split_once('\n').expect("header");
    let rows: String = body
        .lines()
        .map(|l| {
            let id = l.split(',').next().unwrap_or_default();
            let blank = if id == "t5" { "seen twice" } else { "" };
            format!("{l},L-{id},mine,{blank}\n")
        })
        .collect();
    let path = tmp.path().join("annotated.csv");
    std::fs::write(&path, format!("{header},league,Likelihood,\n{rows}")).expect("write");
    let out = tmp.path().join("r");
    Run::new(&["score", "--no-aliases", "--as-of", "2025-06-25", "--quiet"])
        .arg("--rumours")
        .arg(&path)
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .arg("--out")
        .arg(&out)
        .success();

    let stories = read_csv(&out.join("stories.csv"));
    let story = stories
        .iter()
        .find(|r| r["source"] == "Tabloid" && r["player"] == "Pavel One" && r["to_club"] == "Bravo")
        .expect("the Tabloid story");
    assert_eq!(story["league"], "L-t4;L-t5");
    // `likelihood` is not a stories column: the name is kept.
    assert_eq!(story["Likelihood"], "mine");
    assert_eq!(story["claims_extra_3"], "seen twice");
    let other = stories
        .iter()
        .find(|r| r["source"] == "Reliable" && r["player"] == "Pavel One")
        .expect("the Reliable story");
    assert_eq!(other["claims_extra_3"], "");

    let deals = read_csv(&out.join("deals.csv"));
    let deal = deals
        .iter()
        .find(|r| r["player"] == "Pavel One" && r["to_club"] == "Bravo")
        .expect("the open deal");
    assert_eq!(deal["league"], "L-r1;L-t4;L-t5");
    // `Likelihood` would shadow the report's own `likelihood` (compared without case).
    assert_eq!(deal["claims_Likelihood"], "mine");
    assert!(deal["likelihood"].parse::<f64>().is_ok());
    assert_eq!(deal["claims_extra_3"], "seen twice");
}

#[test]
fn deals_of_windows_past_the_transfers_file_are_flagged() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut text = std::fs::read_to_string(fixture("tiny/rumours.csv")).expect("read");
    text.push_str("z1,2026-01-10,Tabloid,,Pavel One,Bravo,Kilo,talks,2026-winter,,\n");
    let path = tmp.path().join("later.csv");
    std::fs::write(&path, text).expect("write");
    let score = |as_of: &str, out: &std::path::Path| {
        Run::new(&["score", "--no-aliases", "--as-of", as_of])
            .arg("--rumours")
            .arg(&path)
            .arg("--transfers")
            .arg(fixture("tiny/transfers.csv"))
            .arg("--out")
            .arg(out)
            .success()
    };
    // The last transfer became known on 2025-09-02 (a window-only move: the day after the
    // close); the 2026-winter deal closed on 2026-02-01 with nothing to see.
    let late = tmp.path().join("late");
    let (stdout, _) = score("2026-03-01", &late);
    let summary = crate::support::json(&late.join("summary.json"));
    assert_eq!(summary["transfers_known_until"], "2025-09-02");
    // Coverage warnings (the model's own notes on the open deals may stand beside them).
    let coverage = |summary: &serde_json::Value| -> Vec<String> {
        summary["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter_map(|w| w.as_str())
            .filter(|w| w.contains("transfers file"))
            .map(str::to_string)
            .collect()
    };
    let warnings = coverage(&summary);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str();
    assert!(
        w.starts_with("1 deal(s) are about windows that closed after the last transfer"),
        "{w}"
    );
    assert!(w.contains("--as-of 2025-09-02"), "{w}");
    assert!(stdout.contains("warning: 1 deal(s)"), "{stdout}");
    // Before that window closed, nothing to say.
    let early = tmp.path().join("early");
    score("2026-01-20", &early);
    let summary = crate::support::json(&early.join("summary.json"));
    assert_eq!(coverage(&summary).len(), 0);
}

#[test]
fn parquet_format_writes_parquet_reports() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("r");
    tiny(Run::new(&["score", "--quiet", "--format", "parquet", "--out"]).arg(&out)).success();
    for name in [
        "sources.parquet",
        "stories.parquet",
        "deals.parquet",
        "summary.json",
    ] {
        assert!(out.join(name).is_file(), "{name}");
    }
    let head = std::fs::read(out.join("stories.parquet")).expect("read");
    assert_eq!(&head[..4], b"PAR1");
}

#[test]
fn a_failed_run_leaves_the_previous_reports_untouched() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("r");
    tiny(Run::new(&["score", "--quiet", "--out"]).arg(&out)).success();
    let before = files(&out);
    // Bad input: the run stops before writing anything.
    Run::new(&["score", "--quiet", "--as-of", "2025-10-01", "--rumours"])
        .arg(fixture("broken/empty.csv"))
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .arg("--out")
        .arg(&out)
        .code(1);
    assert_eq!(before, files(&out));
    // A backtest into the same directory adds its reports and keeps the others.
    tiny(Run::new(&["backtest", "--quiet", "--out"]).arg(&out)).success();
    let after = files(&out);
    assert_eq!(before["sources.csv"], after["sources.csv"]);
    assert!(after.contains_key("backtest.csv") && after.contains_key("calibration.svg"));
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
    // A directory holding other files is refused (exit 2), not emptied.
    let foreign = tmp.path().join("mine");
    std::fs::create_dir_all(&foreign).expect("dir");
    std::fs::write(foreign.join("notes.txt"), "keep me").expect("write");
    let (_, stderr) = tiny(Run::new(&["score", "--quiet", "--out"]).arg(&foreign)).code(2);
    assert!(
        stderr.contains("holds files rumour did not write (notes.txt)"),
        "{stderr}"
    );
    assert!(foreign.join("notes.txt").is_file());
}

#[test]
fn import_transfermarkt_removes_the_duplicate_side() {
    let tmp = tempfile::tempdir().expect("tmp");
    // In a directory that does not exist yet: it is created.
    let out = tmp.path().join("new/transfers.csv");
    let (stdout, _) = Run::new(&["import", "transfermarkt"])
        .arg(fixture("transfermarkt/premier-league.csv"))
        .arg(fixture("transfermarkt/championship.csv"))
        .arg("--out")
        .arg(&out)
        .arg("--aliases")
        .arg(root().join("data/aliases.csv"))
        .success();
    let rows = read_csv(&out);
    // Grealish: listed by Villa (out, "Man City") and by City (in, "Aston Villa"): one move.
    let grealish: Vec<_> = rows
        .iter()
        .filter(|r| r["player"] == "Jack Grealish")
        .collect();
    assert_eq!(grealish.len(), 1, "{rows:?}");
    assert_eq!(grealish[0]["window"], "2021-summer");
    assert_eq!(grealish[0]["fee_eur"], "117500000");
    // A winter move of the 2020/21 season is the 2021-winter window; loans keep their kind.
    let loan = rows
        .iter()
        .find(|r| r["player"] == "Jesse Lingard")
        .expect("loan");
    assert_eq!(
        (loan["window"].as_str(), loan["kind"].as_str()),
        ("2021-winter", "loan")
    );
    assert!(!rows.iter().any(|r| r["to_club"] == "Retired"));
    assert!(
        stdout.contains("1 duplicates removed") && stdout.contains("1 not between clubs"),
        "{stdout}"
    );
    // The output is a valid transfers input.
    let (stdout, _) = Run::new(&["validate", "--as-of", "2023-01-01", "--rumours"])
        .arg(fixture("tiny/rumours.csv"))
        .arg("--transfers")
        .arg(&out)
        .success();
    assert!(
        stdout.contains("transfers.csv: 3 rows read, 3 used, 0 rejected"),
        "{stdout}"
    );
}

#[test]
fn reports_written_past_the_page_cache_are_the_bytes_written_through_it() {
    // 60,000 claims: `stories.csv` is larger than the 4 MiB buffer, so it is written with
    // `O_DIRECT` where the file system takes it, in whole blocks and cut to its length.
    let tmp = tempfile::tempdir().expect("tmp");
    let world = tmp.path().join("world");
    Run::new(&[
        "generate", "--claims", "60000", "--seed", "5", "--quiet", "--out",
    ])
    .arg(&world)
    .success();
    let score = |out: &std::path::Path, extra: &[&str]| {
        Run::new(&["score", "--quiet", "--as-of", "2026-11-20", "--rumours"])
            .arg(world.join("rumours.csv"))
            .arg("--transfers")
            .arg(world.join("transfers.csv"))
            .args(extra)
            .arg("--out")
            .arg(out)
            .success();
    };
    let (direct, buffered) = (tmp.path().join("direct"), tmp.path().join("buffered"));
    score(&direct, &[]);
    score(&buffered, &["--buffered-writes"]);
    let stories = std::fs::metadata(direct.join("stories.csv"))
        .expect("stories")
        .len();
    assert!(stories > 4 << 20, "stories.csv is {stories} bytes");
    let (a, b) = (files(&direct), files(&buffered));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(*bytes == b[name], "{name} differs");
    }
}

#[test]
fn an_interrupted_run_leaves_no_temporary_files_and_no_change() {
    let tmp = tempfile::tempdir().expect("tmp");
    let world = tmp.path().join("world");
    Run::new(&[
        "generate", "--claims", "150000", "--seed", "5", "--quiet", "--out",
    ])
    .arg(&world)
    .success();
    let out = tmp.path().join("reports");
    tiny(Run::new(&["score", "--quiet", "--out"]).arg(&out)).success();
    let before = files(&out);
    for signal in ["INT", "TERM"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rumour"))
            .args(["score", "--quiet", "--as-of", "2026-11-20", "--rumours"])
            .arg(world.join("rumours.csv"))
            .arg("--transfers")
            .arg(world.join("transfers.csv"))
            .arg("--out")
            .arg(&out)
            .spawn()
            .expect("spawn");
        // Wait for the staging directory, then interrupt.
        let staging = tmp.path().join(format!(".reports.rumour-{}", child.id()));
        let start = std::time::Instant::now();
        while !staging.exists() && start.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(staging.exists(), "the run stages its reports beside --out");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let killed = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(130), "SIG{signal}: interrupted");
        assert!(
            !staging.exists(),
            "SIG{signal}: the staging directory is removed"
        );
        assert_eq!(
            before,
            files(&out),
            "SIG{signal}: the previous reports are untouched"
        );
    }
}

#[test]
fn config_columns_table_and_the_screen_summary() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(fixture("tiny/rumours.csv")).expect("read");
    let path = tmp.path().join("theirs.csv");
    std::fs::write(&path, text.replacen("published", "Date Published", 1)).expect("write");
    let config = tmp.path().join("rumour.toml");
    std::fs::write(
        &config,
        "[columns.claims]\npublished = \"Date Published\"\n",
    )
    .expect("write");
    let out = tmp.path().join("r");
    // Not --quiet: the summary goes to stdout; stderr is not a terminal, so no progress bars.
    let (stdout, stderr) =
        Run::new(&["score", "--no-aliases", "--as-of", "2025-10-01", "--config"])
            .arg(&config)
            .arg("--rumours")
            .arg(&path)
            .arg("--transfers")
            .arg(fixture("tiny/transfers.csv"))
            .arg("--out")
            .arg(&out)
            .success();
    assert!(
        stderr.is_empty(),
        "no progress output off a terminal: {stderr:?}"
    );
    for line in [
        "11 read =         11 used +        0 rejected",
        "stories 10: 4 confirmed, 6 refuted",
        "no open deals to rate",
        "time: ingest",
        "; beside them: stories report",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
}
