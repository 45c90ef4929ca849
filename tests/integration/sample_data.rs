//! The README's command on the sample data in `data/`.

use crate::support::{json, read_csv, root, Run};

#[test]
fn score_on_the_sample_data_writes_every_report() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    Run::new(&["score", "--as-of", "2026-11-24", "--quiet", "--out"])
        .arg(&out)
        .success();
    for name in [
        "sources",
        "authors",
        "clubs",
        "source_stages",
        "stories",
        "deals",
        "rejects",
        "unmatched",
    ] {
        assert!(out.join(format!("{name}.csv")).is_file(), "{name}.csv");
    }
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["rows_add_up"], true);
    for file in summary["files"].as_array().expect("files") {
        let read = file["rows_read"].as_u64().expect("read");
        let used = file["rows_used"].as_u64().expect("used");
        let rejected = file["rows_rejected"].as_u64().expect("rejected");
        assert_eq!(read, used + rejected, "{file}");
        assert!(read > 0);
    }
    // The rumour that started the project: refuted for 2026-summer, open again for 2027.
    let stories = read_csv(&out.join("stories.csv"));
    let founding = stories
        .iter()
        .find(|s| {
            s["source"] == "La Tribune Olympienne"
                && s["player"] == "Leonardo Balerdi"
                && s["to_club"] == "Juventus"
                && s["window"] == "2026-summer"
        })
        .expect("the founding rumour");
    assert_eq!(founding["first_report"], "2025-09-04");
    assert_eq!(founding["outcome"], "refuted");
    let deals = read_csv(&out.join("deals.csv"));
    let open = deals
        .iter()
        .find(|d| d["player"] == "Leonardo Balerdi" && d["to_club"] == "Juventus")
        .expect("open Balerdi deal");
    assert_eq!(open["window"], "2027-summer");
    let p: f64 = open["likelihood"].parse().expect("likelihood");
    let (lo, hi): (f64, f64) = (
        open["likelihood_low"].parse().expect("low"),
        open["likelihood_high"].parse().expect("high"),
    );
    assert!((0.0..=1.0).contains(&p) && lo <= p && p <= hi, "{open:?}");
    assert!(!open["claim_ids"].is_empty() && !open["reason_1"].is_empty());
    // Name variants meet: `Man Utd`, `Man United` and `Manchester United` are one club.
    let clubs = read_csv(&out.join("clubs.csv"));
    assert!(clubs.iter().any(|c| c["club"] == "Manchester United"));
    assert!(!clubs
        .iter()
        .any(|c| c["club"] == "Man Utd" || c["club"] == "Man United"));
    // Accented and plain spellings of a player are one player.
    assert!(stories.iter().any(|s| s["player"] == "Jonas Ødegård"));
    assert!(!stories.iter().any(|s| s["player"] == "Jonas Odegard"));
}

#[test]
fn config_prints_defaults_that_read_back() {
    let (stdout, _) = Run::new(&["config"]).success();
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("rumour.toml");
    std::fs::write(&path, &stdout).expect("write");
    let out = tmp.path().join("reports");
    Run::new(&["score", "--as-of", "2026-11-24", "--quiet", "--config"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .success();
    assert!(stdout.contains("[windows]") && stdout.contains("summer_close"));
    assert!(root().join("data/rumours.csv").is_file());
}
