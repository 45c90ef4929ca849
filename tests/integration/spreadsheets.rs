//! Files as spreadsheet programs save them (`;` or tab separators, UTF-16, Windows-1252),
//! reports that are safe to open in one, output errors that say what happened, and the
//! alias table that travels with the binary.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{fixture, json, read_csv, root, Run};

/// Scores `claims` (tiny transfers, no aliases) into `out` with `extra` flags; exit 0.
fn score(claims: &Path, out: &Path, extra: &[&str]) {
    Run::new(&["score", "--no-aliases", "--as-of", "2025-10-01", "--quiet"])
        .arg("--rumours")
        .arg(claims)
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .success();
}

fn file_stats(out: &Path, name: &str) -> serde_json::Value {
    let summary = json(&out.join("summary.json"));
    summary["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["file"].as_str().is_some_and(|p| p.ends_with(name)))
        .cloned()
        .expect("the file is in the summary")
}

#[test]
fn separators_and_encodings_read_like_the_comma_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let reference = tmp.path().join("reference");
    score(&fixture("broken/accents.csv"), &reference, &[]);
    let want = std::fs::read(reference.join("sources.csv")).expect("sources");
    assert!(String::from_utf8_lossy(&want).contains("L'Équipe"));
    for (file, delimiter, encoding, extra) in [
        ("semicolon.csv", ";", "UTF-8", &[][..]),
        ("tab.csv", "tab", "UTF-8", &[]),
        ("utf16.csv", ",", "UTF-16LE", &[]),
        (
            "windows1252.csv",
            ",",
            "windows-1252",
            &["--encoding", "windows-1252"],
        ),
    ] {
        let out = tmp.path().join(file);
        score(&fixture(&format!("broken/{file}")), &out, extra);
        let got = std::fs::read(out.join("sources.csv")).expect("sources");
        assert_eq!(got, want, "{file}: the same sources.csv as the comma file");
        let stats = file_stats(&out, file);
        assert_eq!(stats["delimiter"], delimiter, "{file}");
        assert_eq!(stats["encoding"], encoding, "{file}");
        assert_eq!(stats["rows_rejected"], 0, "{file}");
        let _ = std::fs::remove_dir_all(&out);
    }
    // --delimiter forces the separator of every input file.
    let transfers = tmp.path().join("transfers.csv");
    let text = std::fs::read_to_string(fixture("tiny/transfers.csv")).expect("tiny");
    std::fs::write(&transfers, text.replace(',', ";")).expect("write");
    let forced = tmp.path().join("forced");
    Run::new(&[
        "score",
        "--no-aliases",
        "--as-of",
        "2025-10-01",
        "--quiet",
        "--delimiter",
        ";",
    ])
    .arg("--rumours")
    .arg(fixture("broken/semicolon.csv"))
    .arg("--transfers")
    .arg(&transfers)
    .arg("--out")
    .arg(&forced)
    .success();
    assert_eq!(
        std::fs::read(forced.join("sources.csv")).expect("sources"),
        want
    );
    // Forcing the wrong separator reads one column: the run stops with the missing column.
    let (_, stderr) = Run::new(&["score", "--no-aliases", "--as-of", "2025-10-01", "--quiet"])
        .arg("--rumours")
        .arg(fixture("broken/semicolon.csv"))
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .args(&["--delimiter", ",", "--out"])
        .arg(tmp.path().join("wrong"))
        .code(1);
    assert!(stderr.contains("missing required column"), "{stderr}");
    // An unknown encoding is a usage error.
    let (_, stderr) = Run::new(&["validate", "--no-aliases", "--encoding", "klingon"])
        .arg("--rumours")
        .arg(fixture("broken/accents.csv"))
        .code(2);
    assert!(stderr.contains("unknown encoding `klingon`"), "{stderr}");
}

#[test]
fn quoted_accented_text_after_a_longer_quoted_row_is_read_whole() {
    // Two rows whose text a spreadsheet quotes with doubled quotes inside; the second is
    // shorter, and where it ends the first had the middle of an `é`. Both are used.
    let tmp = tempfile::tempdir().expect("tmp");
    let claims = tmp.path().join("claims.csv");
    let tiny = std::fs::read_to_string(fixture("tiny/rumours.csv")).expect("tiny");
    let (header, rows) = tiny.split_once('\n').expect("header");
    let first = "c90,2025-06-01,Sky Sports,,Kylian Mbapp\u{e9},Real Madrid,Arsenal,interest,2025-summer,\"Arsenal \"\"monitor\"\" Mbapp\u{e9}, says \u{e9}lite source \u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\",\n";
    let second = "c91,2025-06-02,Sky Sports,,Kylian Mbapp\u{e9},Real Madrid,Arsenal,interest,2025-summer,\"x \"\"y\"\"zzzzzzzzzzzzzzzzzzz\",\n";
    std::fs::write(&claims, format!("{header}\n{first}{second}{rows}")).expect("write");
    let out = tmp.path().join("out");
    score(&claims, &out, &[]);
    let stats = file_stats(&out, "claims.csv");
    assert_eq!(stats["rows_rejected"], 0, "{stats}");
    assert_eq!(stats["rows_used"], 13, "{stats}");
}

#[test]
fn dates_as_spreadsheets_write_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(fixture("tiny/rumours.csv")).expect("tiny");
    // 2025-06-01 -> 01/06/2025
    let dmy: String = text
        .lines()
        .map(|l| {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            if let [y, m, d] = f[1].split('-').collect::<Vec<_>>()[..] {
                f[1] = format!("{d}/{m}/{y}");
            }
            f.join(",") + "\n"
        })
        .collect();
    let path = tmp.path().join("dmy.csv");
    std::fs::write(&path, dmy).expect("write");
    let reference = tmp.path().join("reference");
    score(&fixture("tiny/rumours.csv"), &reference, &[]);
    let out = tmp.path().join("out");
    score(&path, &out, &["--date-format", "%d/%m/%Y"]);
    assert_eq!(
        std::fs::read(out.join("sources.csv")).expect("sources"),
        std::fs::read(reference.join("sources.csv")).expect("sources")
    );
    // Without the format every row is rejected, with the hint.
    let plain = tmp.path().join("plain");
    score(&path, &plain, &[]);
    let r = read_csv(&plain.join("rejects.csv"));
    assert!(
        r.iter()
            .all(|x| x["reason"].contains("--date-format %d/%m/%Y")),
        "{r:?}"
    );
}

#[test]
fn report_cells_that_look_like_formulas_are_neutralised() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("safe");
    score(&fixture("broken/formulas.csv"), &out, &[]);
    let sources: Vec<BTreeMap<String, String>> = read_csv(&out.join("sources.csv"));
    let names: Vec<&str> = sources.iter().map(|r| r["source"].as_str()).collect();
    for name in [
        "'=HYPERLINK(\"http://example.com\",\"y\")",
        "'+cmd|calc",
        "'@evil",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for report in [
        "sources.csv",
        "stories.csv",
        "authors.csv",
        "deals.csv",
        "source_stages.csv",
    ] {
        for row in read_csv(&out.join(report)) {
            for (column, cell) in &row {
                assert!(!formula_like(cell), "{report}: {column} = {cell:?}");
            }
        }
    }
    // --raw-csv writes them as they are.
    let raw = tmp.path().join("raw");
    score(&fixture("broken/formulas.csv"), &raw, &["--raw-csv"]);
    let sources = read_csv(&raw.join("sources.csv"));
    assert!(sources.iter().any(|r| r["source"] == "+cmd|calc"));
    // Parquet keeps the text as it is.
    let pq = tmp.path().join("pq");
    score(
        &fixture("broken/formulas.csv"),
        &pq,
        &["--format", "parquet"],
    );
    let bytes = std::fs::read(pq.join("sources.parquet")).expect("parquet");
    assert!(bytes.windows(9).any(|w| w == b"+cmd|calc"));
    assert!(!bytes.windows(10).any(|w| w == b"'+cmd|calc"));
}

#[test]
fn an_output_that_cannot_be_written_is_exit_3_with_the_path_and_the_reason() {
    // A directory that cannot be created (under /proc, whoever runs the tests).
    let (_, stderr) = Run::new(&[
        "score",
        "--quiet",
        "--as-of",
        "2026-11-24",
        "--out",
        "/proc/rumour-test/reports",
    ])
    .code(3);
    assert!(stderr.contains("/proc/rumour-test"), "{stderr}");
    assert!(stderr.contains("No such file or directory"), "{stderr}");
    // A full disk: a 4 KiB tmpfs, where this machine lets the tests mount one (root).
    let tmp = tempfile::tempdir().expect("tmp");
    let mount = tmp.path().join("full");
    std::fs::create_dir(&mount).expect("dir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4k", "tmpfs"])
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        let (_, stderr) = Run::new(&["score", "--quiet", "--as-of", "2026-11-24", "--out"])
            .arg(mount.join("reports"))
            .code(3);
        let _ = std::process::Command::new("umount").arg(&mount).status();
        assert!(stderr.contains("No space left on device"), "{stderr}");
        assert!(stderr.contains("cannot write"), "{stderr}");
    } else {
        eprintln!("full-disk check skipped: cannot mount a tmpfs here");
    }
}

#[test]
fn the_alias_table_travels_with_the_binary() {
    // Run from a directory without data/: the built-in table is used.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("r");
    Run::new(&["score", "--quiet", "--as-of", "2026-11-24"])
        .dir(tmp.path())
        .arg("--rumours")
        .arg(root().join("data/rumours.csv"))
        .arg("--transfers")
        .arg(root().join("data/transfers.csv"))
        .arg("--out")
        .arg(&out)
        .success();
    let summary = json(&out.join("summary.json"));
    assert!(
        summary["aliases"].as_u64().is_some_and(|n| n > 100),
        "{}",
        summary["aliases"]
    );
    assert!(summary["files"].to_string().contains("<built-in aliases>"));
    // The same reports as with the file itself.
    let with_file = tmp.path().join("f");
    Run::new(&["score", "--quiet", "--as-of", "2026-11-24"])
        .arg("--aliases")
        .arg(root().join("data/aliases.csv"))
        .arg("--out")
        .arg(&with_file)
        .success();
    for report in ["sources.csv", "clubs.csv", "deals.csv"] {
        assert_eq!(
            std::fs::read(out.join(report)).expect("report"),
            std::fs::read(with_file.join(report)).expect("report"),
            "{report}"
        );
    }
    // --no-aliases reads none.
    let none = tmp.path().join("n");
    Run::new(&[
        "score",
        "--quiet",
        "--as-of",
        "2026-11-24",
        "--no-aliases",
        "--out",
    ])
    .arg(&none)
    .success();
    assert_eq!(json(&none.join("summary.json"))["aliases"], 0);
}

#[test]
fn report_html_is_one_self_contained_page_with_every_name_escaped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("page");
    score(&fixture("broken/formulas.csv"), &out, &[]);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    // Nothing fetched from elsewhere: no external script, style, image or frame.
    for external in ["<script src", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    // Names from the input are text, never markup.
    assert!(html.contains("<td>=HYPERLINK(&quot;http://example.com&quot;,&quot;y&quot;)</td>"));
    assert!(html.contains("<td>+cmd|calc</td>"));
    // One table row per source (all of them: fewer than the page's limit).
    let sources = read_csv(&out.join("sources.csv"));
    let table = html
        .split("id=\"sources-table\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("sources table");
    assert_eq!(table.matches("<tr class=").count(), sources.len());
    // Every open deal, with its likelihood as a percentage.
    let deals = read_csv(&out.join("deals.csv"));
    let table = html
        .split("id=\"deals-table\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("deals table");
    assert_eq!(table.matches("<tr><td>").count(), deals.len());
    for d in &deals {
        let p: f64 = d["likelihood"].parse().expect("likelihood");
        assert!(table.contains(&format!("{:.1}%", 100.0 * p)), "{p}");
    }
    // No backtest in this directory yet: the page says how to get the diagram.
    assert!(!html.contains("id=\"calibration\""));
    assert!(html.contains("No backtest in this output directory"));
}

#[test]
fn report_html_shows_the_last_backtest_of_its_directory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("r");
    let run = |cmd: &str| {
        Run::new(&[cmd, "--as-of", "2026-11-24", "--quiet", "--out"])
            .arg(&out)
            .arg("--rumours")
            .arg(root().join("data/rumours.csv"))
            .arg("--transfers")
            .arg(root().join("data/transfers.csv"))
            .success();
    };
    run("backtest");
    run("score");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let diagram = html
        .split("<svg id=\"calibration\"")
        .nth(1)
        .and_then(|t| t.split("</svg>").next())
        .expect("reliability diagram");
    // One dot per non-empty bin of the model and of the stage baseline, plus the legend's two.
    let bins = read_csv(&out.join("calibration.csv"));
    let dots = bins
        .iter()
        .filter(|b| (b["predictor"] == "model" || b["predictor"] == "stage") && b["count"] != "0")
        .count();
    assert!(dots > 0);
    assert_eq!(diagram.matches("<circle").count(), dots + 2);
    // A backtest run afterwards keeps the page (reports it does not write are carried over).
    run("backtest");
    assert!(out.join("report.html").is_file());
}

#[test]
fn import_reads_scrapes_saved_by_a_spreadsheet() {
    let tmp = tempfile::tempdir().expect("tmp");
    let import = |files: &[&Path], out: &Path, extra: &[&str]| {
        let mut run = Run::new(&["import", "transfermarkt", "--quiet"]);
        for f in files {
            run = run.arg(f);
        }
        run.arg("--out").arg(out).args(extra)
    };
    let (pl, ch) = (
        fixture("transfermarkt/premier-league.csv"),
        fixture("transfermarkt/championship.csv"),
    );
    let want = tmp.path().join("want.csv");
    import(&[&pl, &ch], &want, &[]).success();

    // The Premier League scrape with `;` in Windows-1252 (its `€` is byte 0x80), the
    // Championship as UTF-16 with a byte-order mark and tabs.
    let text = std::fs::read_to_string(&pl)
        .expect("read")
        .replace(',', ";");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let legacy = tmp.path().join("pl-1252.csv");
    std::fs::write(&legacy, &bytes).expect("write");
    let text = std::fs::read_to_string(&ch)
        .expect("read")
        .replace(',', "\t");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let unicode = tmp.path().join("ch-utf16.csv");
    std::fs::write(&unicode, utf16).expect("write");

    // Without --encoding the legacy file stops with the fix, instead of a garbled fee.
    let (_, stderr) = import(&[&legacy, &unicode], &tmp.path().join("x.csv"), &[]).code(1);
    assert!(stderr.contains("--encoding windows-1252"), "{stderr}");
    assert!(!tmp.path().join("x.csv").exists());

    let got = tmp.path().join("got.csv");
    import(
        &[&legacy],
        &tmp.path().join("pl.csv"),
        &["--encoding", "windows-1252"],
    )
    .success();
    import(&[&unicode], &tmp.path().join("ch.csv"), &[]).success();
    import(&[&pl], &tmp.path().join("pl-want.csv"), &[]).success();
    import(&[&ch], &tmp.path().join("ch-want.csv"), &[]).success();
    assert_eq!(
        read_csv(&tmp.path().join("pl.csv")),
        read_csv(&tmp.path().join("pl-want.csv"))
    );
    assert_eq!(
        read_csv(&tmp.path().join("ch.csv")),
        read_csv(&tmp.path().join("ch-want.csv"))
    );
    // A separator given by hand wins over the detection.
    let (_, stderr) = import(&[&unicode], &got, &["--delimiter", ";"]).code(1);
    assert!(
        stderr.contains("missing") || stderr.contains("column"),
        "{stderr}"
    );
}

/// What a spreadsheet runs as a formula (OWASP's CSV injection list), written out here rather
/// than borrowed from the code under test.
fn formula_like(cell: &str) -> bool {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => true,
        // A negative number is data; anything else after `-` may be a formula.
        Some(b'-') => cell.len() > 1 && cell[1..].parse::<f64>().is_err(),
        _ => false,
    }
}
