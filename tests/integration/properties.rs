//! Properties over random inputs, through the library: every row is used or rejected; every
//! probability is a probability; row order does not change the reports.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use proptest::prelude::*;
use rumour::generate::{generate, GenerateOptions};
use rumour::pipeline::ScoreOptions;
use rumour::pipeline::{ingest, IngestOptions, InputPaths};
use rumour::settings::Settings;
use rumour::Progress;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
}

/// A random claims row: some fields valid, some not.
fn claim_row() -> impl Strategy<Value = [String; 6]> {
    let date = prop_oneof![
        (2019i32..2027, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        Just("2025-02-30".to_string()),
        Just("yesterday".to_string()),
        Just(String::new()),
    ];
    let name = prop_oneof![
        Just("Ann".to_string()),
        Just("Bo".to_string()),
        Just("Çelik".to_string()),
        Just(String::new())
    ];
    let club = prop_oneof![
        Just("Arsenal".to_string()),
        Just("Man Utd".to_string()),
        Just("Chelsea FC".to_string()),
        Just(String::new())
    ];
    let stage = prop_oneof![
        Just("interest".to_string()),
        Just("done".to_string()),
        Just("maybe".to_string()),
        Just(String::new())
    ];
    (date, name.clone(), name, club.clone(), club, stage)
        .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f])
}

fn write_claims(path: &Path, rows: &[[String; 6]]) {
    let mut w = csv::Writer::from_path(path).expect("writer");
    w.write_record([
        "published",
        "source",
        "player",
        "from_club",
        "to_club",
        "stage",
    ])
    .expect("header");
    for r in rows {
        w.write_record(r).expect("row");
    }
    w.flush().expect("flush");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_row_is_used_or_rejected(rows in prop::collection::vec(claim_row(), 1..60)) {
        let dir = tempfile::tempdir().expect("tmp");
        let claims = dir.path().join("c.csv");
        write_claims(&claims, &rows);
        let transfers = dir.path().join("t.csv");
        std::fs::write(&transfers, "player,from_club,to_club,window\nAnn,Arsenal,Chelsea,2025-summer\n").expect("write");
        let paths = InputPaths { claims, transfers, aliases: None };
        match ingest(&paths, &Settings::default(), &IngestOptions { strict: false, as_of: as_of() }, &Progress::hidden()) {
            Ok(inputs) => {
                for f in &inputs.files {
                    prop_assert_eq!(f.rows_read, f.rows_used + f.rows_rejected);
                }
                prop_assert_eq!(inputs.files[0].rows_read as usize, rows.len());
                prop_assert_eq!(inputs.claims.height() as u64, inputs.files[0].rows_used);
                let lines: std::collections::BTreeSet<u64> = inputs.rejects.iter().map(|r| r.line).collect();
                prop_assert_eq!(lines.len(), inputs.rejects.len(), "one reject per row");
                prop_assert!(lines.iter().all(|l| *l >= 2 && *l <= rows.len() as u64 + 1));
            }
            // Only a file with no usable claim at all may stop, and never with a panic.
            Err(e) => prop_assert!(e.to_string().contains("no claims") || e.exit_code() == 1, "{e}"),
        }
    }
}

fn reversed_copy(from: &Path, to: &Path) {
    let text = std::fs::read_to_string(from).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    std::fs::write(to, format!("{header}\n{}\n", lines.join("\n"))).expect("write");
}

fn score_tables(dir: &Path) -> BTreeMap<&'static str, polars::prelude::DataFrame> {
    let opts = ScoreOptions {
        inputs: InputPaths {
            claims: dir.join("rumours.csv"),
            transfers: dir.join("transfers.csv"),
            aliases: Some(rumour::pipeline::AliasTable::File(dir.join("aliases.csv"))),
        },
        as_of: as_of(),
        strict: false,
    };
    let run =
        rumour::pipeline::score(&opts, &Settings::default(), &Progress::hidden()).expect("score");
    let mut t = BTreeMap::new();
    t.insert("sources", run.sources);
    t.insert("clubs", run.clubs);
    t.insert("source_stages", run.source_stages);
    t.insert("deals", run.deals);
    t.insert("stories", run.stories.to_frame().expect("stories"));
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn probabilities_are_probabilities_and_order_does_not_matter(seed in 0u64..10_000, claims in 400u64..1500) {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("a");
        generate(&GenerateOptions { claims, seed, out: a.clone(), shape: Default::default() }).expect("generate");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&b).expect("dir");
        reversed_copy(&a.join("rumours.csv"), &b.join("rumours.csv"));
        reversed_copy(&a.join("transfers.csv"), &b.join("transfers.csv"));
        std::fs::copy(a.join("aliases.csv"), b.join("aliases.csv")).expect("copy");
        let (ta, tb) = (score_tables(&a), score_tables(&b));
        for (name, df) in &ta {
            prop_assert!(df.equals_missing(&tb[name]), "{} differs with the rows reversed", name);
        }
        let deals = &ta["deals"];
        let p = deals.column("likelihood").expect("p").f64().expect("f64");
        let lo = deals.column("likelihood_low").expect("lo").f64().expect("f64");
        let hi = deals.column("likelihood_high").expect("hi").f64().expect("f64");
        for i in 0..deals.height() {
            let (p, lo, hi) = (p.get(i).expect("p"), lo.get(i).expect("lo"), hi.get(i).expect("hi"));
            prop_assert!((0.0..=1.0).contains(&p) && lo <= p && p <= hi && lo >= 0.0 && hi <= 1.0, "{lo} {p} {hi}");
        }
        for name in ["sources", "clubs", "source_stages"] {
            let t = &ta[name];
            for c in ["posterior_mean", "ci_low", "ci_high"] {
                let col = t.column(c).expect("col").f64().expect("f64");
                prop_assert!(col.iter().flatten().all(|v| (0.0..=1.0).contains(&v)), "{name}.{c}");
            }
        }
    }
}
