//! `rumour extract`: articles into claims, end to end through the binary; the seed article
//! and the real gossip-column reports when `../shared` is beside the clone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::{json, read_csv, root, Run};

fn shared() -> Option<PathBuf> {
    let real = root().join("../shared");
    real.join("data/real/claims_dev.csv")
        .is_file()
        .then_some(real)
}

fn sample_articles() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("data/articles"))
        .expect("data/articles")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

fn extract(articles: &[PathBuf], transfers: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut run = Run::new(&["extract", "--quiet"]);
    for a in articles {
        run = run.arg(a);
    }
    run.arg("--transfers")
        .arg(transfers)
        .arg("--out")
        .arg(out)
        .args(extra)
}

/// The claims of `data/articles/`, checked by reading them: player, from, to, stage, window.
const SAMPLE_CLAIMS: [[&str; 5]; 8] = [
    [
        "Kai Brandt",
        "Bayer Leverkusen",
        "Liverpool",
        "agreed",
        "2025-summer",
    ],
    [
        "Youssef Amrani",
        "Lyon",
        "Arsenal",
        "interest",
        "2026-summer",
    ],
    [
        "Youssef Amrani",
        "Lyon",
        "Aston Villa",
        "interest",
        "2026-summer",
    ],
    [
        "Leonardo Balerdi",
        "Marseille",
        "Juventus",
        "interest",
        "2026-summer",
    ],
    [
        "Leonardo Balerdi",
        "Marseille",
        "Atletico Madrid",
        "interest",
        "2026-summer",
    ],
    [
        "Ibrahima Sarr",
        "Rennes",
        "Liverpool",
        "talks",
        "2026-winter",
    ],
    [
        "Ibrahima Sarr",
        "Rennes",
        "Everton",
        "interest",
        "2026-winter",
    ],
    [
        "Marcus Reid",
        "Everton",
        "Newcastle United",
        "talks",
        "2026-winter",
    ],
];

#[test]
fn the_sample_articles_become_claims_that_score_reads() {
    let tmp = tempfile::tempdir().expect("tmp");
    let claims = tmp.path().join("claims.csv");
    let known = root().join("data/rumours.csv");
    extract(
        &sample_articles(),
        &root().join("data/transfers.csv"),
        &claims,
        &["--known-names", known.to_str().expect("path")],
    )
    .success();
    let rows = read_csv(&claims);
    let got: BTreeSet<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["player"].clone(),
                r["from_club"].clone(),
                r["to_club"].clone(),
                r["stage"].clone(),
                r["window"].clone(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String, String, String)> = SAMPLE_CLAIMS
        .iter()
        .map(|[a, b, c, d, e]| {
            (
                a.to_string(),
                b.to_string(),
                c.to_string(),
                d.to_string(),
                e.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let balerdi = rows
        .iter()
        .find(|r| r["to_club"] == "Juventus")
        .expect("Balerdi to Juventus");
    assert_eq!(balerdi["claim_id"], "balerdi-2025-09-04-1");
    assert_eq!(balerdi["source"], "La Tribune Olympienne");
    assert_eq!(balerdi["market_value_eur"], "20000000");
    assert_eq!(balerdi["contract_until"], "2028");
    assert_eq!(balerdi["player_age"], "26");
    assert!(balerdi["evidence"].contains("player: 'Leonardo Balerdi'"));
    let reid = rows
        .iter()
        .find(|r| r["player"] == "Marcus Reid")
        .expect("Reid");
    assert_eq!(reid["cites"], "The Athletic");

    // The summary: every row read is used or rejected; the article without a player counted.
    let summary = json(&tmp.path().join("claims.summary.json"));
    assert_eq!(summary["rows_add_up"], true);
    assert_eq!(summary["articles"], 6);
    assert_eq!(summary["articles_without_player"], 1);
    assert_eq!(summary["claims"], 8);

    // The claims are an input of `score` as they are.
    let reports = tmp.path().join("reports");
    Run::new(&["score", "--quiet", "--as-of", "2026-11-24", "--rumours"])
        .arg(&claims)
        .arg("--transfers")
        .arg(root().join("data/transfers.csv"))
        .arg("--out")
        .arg(&reports)
        .success();
    let summary = json(&reports.join("summary.json"));
    assert_eq!(summary["rows_add_up"], true);
    assert_eq!(summary["files"][1]["rows_used"], 8);
}

#[test]
fn bad_articles_are_rejected_with_their_line_and_a_missing_column_stops() {
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = tmp.path().join("articles.csv");
    std::fs::write(
        &csv,
        "published,source,text\n2025-09-04,Desk,Juventus want Leonardo Balerdi.\n04/09/2025,Desk,Juventus want Leonardo Balerdi.\n2025-09-05,Desk,\n",
    )
    .expect("write");
    let txt = tmp.path().join("no-date.txt");
    std::fs::write(&txt, "Juventus want Leonardo Balerdi.\n").expect("write");
    let out = tmp.path().join("claims.csv");
    let known = root().join("data/rumours.csv");
    extract(
        &[csv.clone(), txt],
        &root().join("data/transfers.csv"),
        &out,
        &["--known-names", known.to_str().expect("path")],
    )
    .success();
    let rejects = read_csv(&tmp.path().join("claims.rejects.csv"));
    let got: Vec<(String, String, String)> = rejects
        .iter()
        .map(|r| (r["line"].clone(), r["column"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("3".into(), "published".into(), "04/09/2025".into()),
            ("4".into(), "text".into(), String::new()),
            (
                "1".into(),
                "date".into(),
                "Juventus want Leonardo Balerdi.".into()
            ),
        ]
    );
    assert!(rejects[0]["reason"].contains("--date-format"));
    assert_eq!(read_csv(&out).len(), 1);
    let summary = json(&tmp.path().join("claims.summary.json"));
    assert_eq!(summary["rows_add_up"], true);
    let files: BTreeMap<String, (u64, u64, u64)> = summary["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["file"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                (
                    f["rows_read"].as_u64().unwrap_or(0),
                    f["rows_used"].as_u64().unwrap_or(0),
                    f["rows_rejected"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect();
    assert_eq!(files["articles.csv"], (3, 1, 2));
    assert_eq!(files["no-date.txt"], (1, 0, 1));

    // With --date-format the day-first date is read.
    extract(
        std::slice::from_ref(&csv),
        &root().join("data/transfers.csv"),
        &out,
        &[
            "--known-names",
            known.to_str().expect("path"),
            "--date-format",
            "%d/%m/%Y",
        ],
    )
    .success();
    assert_eq!(read_csv(&out).len(), 2);

    // A file without the text column stops, naming it and what was found.
    std::fs::write(
        &csv,
        "published,source,body\n2025-09-04,Desk,Juventus want Balerdi.\n",
    )
    .expect("write");
    let (_, stderr) = extract(&[csv], &root().join("data/transfers.csv"), &out, &[]).code(1);
    assert!(
        stderr.contains("missing required column `text`") && stderr.contains("body"),
        "{stderr}"
    );
}

#[test]
fn the_seed_article_gives_its_two_claims() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared is not beside the clone");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("claims.csv");
    extract(
        &[shared.join("seeds/balerdi-2025-09-04.txt")],
        &shared.join("data/real/transfers.csv"),
        &out,
        &[],
    )
    .success();
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, to) in rows.iter().zip(["Juventus", "Atletico Madrid"]) {
        let fields: Vec<&str> = [
            "player",
            "from_club",
            "to_club",
            "window",
            "stage",
            "source",
            "market_value_eur",
            "contract_until",
            "player_age",
        ]
        .iter()
        .map(|c| row[*c].as_str())
        .collect();
        assert_eq!(
            fields,
            [
                "Leonardo Balerdi",
                "Marseille",
                to,
                "2026-summer",
                "interest",
                "La Tribune Olympienne",
                "20000000",
                "2028",
                "26"
            ]
        );
    }
}

/// The gossip-column reports of `claims_dev.csv` as articles (their `published`, `source` and
/// `text` only), measured against the file's own `player` and `to_club`: names compared after
/// folding and the alias table, as `score` compares them.
#[test]
fn gossip_column_reports_give_their_players_and_clubs() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared is not beside the clone");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let gold = read_csv(&shared.join("data/real/claims_dev.csv"));
    // One article per distinct report.
    let mut articles: Vec<(String, String, String)> = Vec::new();
    for r in &gold {
        let a = (
            r["published"].clone(),
            r["source"].clone(),
            r["text"].clone(),
        );
        if !articles.contains(&a) {
            articles.push(a);
        }
    }
    let path = tmp.path().join("articles.csv");
    let mut w = csv::Writer::from_path(&path).expect("write");
    w.write_record(["article_id", "published", "source", "text"])
        .expect("row");
    for (i, (p, s, t)) in articles.iter().enumerate() {
        w.write_record([format!("a{i}").as_str(), p, s, t])
            .expect("row");
    }
    w.flush().expect("flush");
    let out = tmp.path().join("claims.csv");
    extract(&[path], &shared.join("data/real/transfers.csv"), &out, &[]).success();

    let mut aliases = rumour::pipeline::Aliases::default();
    for r in read_csv(&root().join("data/aliases.csv")) {
        if let Some(kind) = rumour::pipeline::NameKind::parse(&r["kind"]) {
            aliases.insert(kind, &r["alias"], &r["canonical"]);
        }
    }
    let name = |kind: rumour::pipeline::NameKind, raw: &str| {
        let k = rumour::pipeline::key(kind, raw);
        aliases
            .canonical(kind, &k)
            .map_or(k, |c| rumour::pipeline::key(kind, c))
    };
    use rumour::pipeline::NameKind::{Club, Player};
    let index: BTreeMap<(String, String, String), usize> = articles
        .iter()
        .enumerate()
        .map(|(i, a)| (a.clone(), i))
        .collect();
    let mut want: BTreeMap<usize, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut reports: Vec<(usize, String)> = Vec::new();
    for r in &gold {
        let i = index[&(
            r["published"].clone(),
            r["source"].clone(),
            r["text"].clone(),
        )];
        want.entry(i)
            .or_default()
            .insert((name(Player, &r["player"]), name(Club, &r["to_club"])));
        reports.push((i, name(Player, &r["player"])));
    }
    let mut got: BTreeMap<usize, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in read_csv(&out) {
        let i: usize = r["article_id"][1..].parse().expect("article id");
        got.entry(i)
            .or_default()
            .insert((name(Player, &r["player"]), name(Club, &r["to_club"])));
    }
    let empty = BTreeSet::new();
    let found = reports
        .iter()
        .filter(|(i, p)| got.get(i).unwrap_or(&empty).iter().any(|(q, _)| q == p))
        .count();
    let (mut tp, mut predicted, mut wanted) = (0, 0, 0);
    for (i, w) in &want {
        let g = got.get(i).unwrap_or(&empty);
        tp += g.intersection(w).count();
        predicted += g.len();
        wanted += w.len();
    }
    let player_rate = found as f64 / reports.len() as f64;
    let precision = tp as f64 / predicted.max(1) as f64;
    let recall = tp as f64 / wanted as f64;
    eprintln!(
        "claims_dev as articles: player found in {found} of {} reports ({player_rate:.3}); (player, to_club) precision {precision:.3} ({tp} of {predicted}), recall {recall:.3} ({tp} of {wanted})",
        reports.len()
    );
    assert!(player_rate >= 0.90, "player found in {player_rate:.3}");
    assert!(precision >= 0.85, "precision {precision:.3}");
    assert!(recall >= 0.80, "recall {recall:.3}");
}

#[test]
fn the_same_articles_give_the_same_bytes_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().expect("tmp");
    let known = root().join("data/rumours.csv");
    let run = |threads: &str, name: &str| {
        let out = tmp.path().join(name);
        extract(
            &sample_articles(),
            &root().join("data/transfers.csv"),
            &out,
            &["--known-names", known.to_str().expect("path")],
        )
        .env("RAYON_NUM_THREADS", threads)
        .success();
        (
            std::fs::read(&out).expect("claims"),
            std::fs::read(tmp.path().join(name.replace(".csv", ".summary.json"))).expect("summary"),
        )
    };
    assert_eq!(run("1", "one.csv"), run("2", "two.csv"));
}
