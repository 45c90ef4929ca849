//! Market shapes the generated world does not have, written by the test itself.
//!
//! The gossip-column shape that once gave every open deal one likelihood: the only winter
//! window in the history holds deadline-day claims, the summer that follows is reported for
//! months and few of its deals happen, and the next winter is scored on the eve of its close
//! (training rows at a lead of one day come from the summer only: one season is absent).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use rumour::schema::Stage;

use crate::support::{read_csv, Run};

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// Writes `claims.csv` and `transfers.csv` of the deadline-day shape into `dir`.
fn deadline_day_history(dir: &Path) {
    let mut rng = Lcg(20220131);
    let mut claims =
        String::from("claim_id,published,source,player,from_club,to_club,stage,window\n");
    let mut transfers = String::from("player,from_club,to_club,window\n");
    let mut id = 0;
    let day = |start: (i32, u32, u32), offset: usize| {
        let d = chrono::NaiveDate::from_ymd_opt(start.0, start.1, start.2).expect("date")
            + chrono::Duration::days(offset as i64);
        d.format("%Y-%m-%d").to_string()
    };
    // (window, deals, first day, days of reporting, chance scale)
    let windows = [
        ("2021-winter", 160, (2021, 2, 1), 1, 2.5f64),
        ("2021-summer", 900, (2021, 2, 2), 210, 1.0),
        ("2022-winter", 500, (2021, 9, 2), 150, 0.7),
    ];
    let happen: [f64; 6] = [0.02, 0.05, 0.12, 0.3, 0.55, 0.8];
    let mut player = 0;
    for (window, deals, start, span, scale) in windows {
        for _ in 0..deals {
            player += 1;
            let buyer = rng.below(40);
            let seller = 40 + rng.below(40);
            // The deal's strongest stage, then one to four reports at or below it.
            let top = rng.below(6);
            let reports = 1 + rng.below(4);
            let first = rng.below(span);
            for r in 0..reports {
                id += 1;
                let stage = if r == 0 { top } else { rng.below(top + 1) };
                let when = (first + rng.below(span - first + 1).min(40)).min(span - 1);
                let _ = writeln!(
                    claims,
                    "c{id},{},Outlet {},Player {player},Club {seller},Club {buyer},{},{window}",
                    day(start, when),
                    rng.below(12),
                    // The wording stages from weakest to strongest (denials left out).
                    Stage::NAMES[1 + stage]
                );
            }
            if rng.next() < (happen[top] * scale).min(0.95) {
                let _ = writeln!(
                    transfers,
                    "Player {player},Club {seller},Club {buyer},{window}"
                );
            }
        }
    }
    // Moves nobody rumoured, so that the transfers file reaches the scored day.
    for k in 0..200 {
        let _ = writeln!(
            transfers,
            "Other {k},Club {},Club {},2021-summer",
            40 + k % 40,
            k % 40
        );
    }
    std::fs::write(dir.join("claims.csv"), claims).expect("claims");
    std::fs::write(dir.join("transfers.csv"), transfers).expect("transfers");
}

#[test]
fn deadline_eve_of_a_season_absent_from_training_is_not_one_value() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = match std::env::var("RUMOUR_KEEP_FIXTURE") {
        Ok(d) => {
            std::fs::create_dir_all(&d).expect("dir");
            std::path::PathBuf::from(d)
        }
        Err(_) => tmp.path().to_path_buf(),
    };
    deadline_day_history(&dir);
    let out = dir.join("reports");
    Run::new(&[
        "score",
        "--quiet",
        "--no-aliases",
        "--as-of",
        "2022-01-31",
        "--rumours",
    ])
    .arg(dir.join("claims.csv"))
    .arg("--transfers")
    .arg(dir.join("transfers.csv"))
    .arg("--out")
    .arg(&out)
    .success();
    let deals = read_csv(&out.join("deals.csv"));
    let winter: Vec<&BTreeMap<String, String>> = deals
        .iter()
        .filter(|d| d["window"] == "2022-winter")
        .collect();
    assert!(winter.len() > 300, "open winter deals: {}", winter.len());
    assert!(winter.iter().all(|d| d["model"].starts_with("logistic")));
    let p = |d: &BTreeMap<String, String>| d["likelihood"].parse::<f64>().expect("number");
    let mut distinct: Vec<u64> = winter.iter().map(|d| p(d).to_bits()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() * 2 > winter.len(),
        "{} distinct likelihoods among {} deals",
        distinct.len(),
        winter.len()
    );
    // The ranking follows the wording: deals at advanced or beyond above those at interest
    // or below, on average.
    let mean = |keep: &dyn Fn(&str) -> bool| {
        let v: Vec<f64> = winter
            .iter()
            .filter(|d| keep(&d["stage"]))
            .map(|d| p(d))
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let strong = mean(&|s| ["advanced", "agreed", "done"].contains(&s));
    let weak = mean(&|s| ["speculation", "interest"].contains(&s));
    assert!(strong > weak + 0.05, "strong {strong}, weak {weak}");
    // No likelihood at a bound of the calibrated range.
    assert!(winter.iter().all(|d| p(d) > 0.005 && p(d) < 0.995));
    // The summer-only training is said: the season inputs are not used.
    let summary = crate::support::json(&out.join("summary.json"));
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("season inputs not used"), "{warnings}");
    assert!(winter
        .iter()
        .all(|d| d["model_notes"].contains("season inputs not used")));
}
