//! How well `rumour score` recovers a generated world's hidden source reliability.
//!
//! `cargo run --release --example truth_check -- WORLD_DIR REPORTS_DIR` prints Spearman's rank
//! correlation between the estimated and the true hit rates, per source (the truth's stage
//! rates weighted by the source's claims) and per source and stage (groups with enough
//! resolved stories).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rumour::stats::metrics::spearman;

fn read(path: &PathBuf) -> Vec<BTreeMap<String, String>> {
    let mut rdr =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = rdr.headers().expect("header").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(r: &BTreeMap<String, String>, c: &str) -> f64 {
    r[c].parse().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [world, reports] = args.as_slice() else {
        eprintln!("usage: truth_check WORLD_DIR REPORTS_DIR");
        std::process::exit(2);
    };
    let truth = read(&world.join("truth.csv"));
    let mut by_source: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut by_stage: BTreeMap<(String, String), f64> = BTreeMap::new();
    for t in &truth {
        let e = by_source.entry(t["source"].clone()).or_default();
        e.0 += num(t, "true_hit_rate") * num(t, "claims");
        e.1 += num(t, "claims");
        by_stage.insert(
            (t["source"].clone(), t["stage"].clone()),
            num(t, "true_hit_rate"),
        );
    }
    let (mut est, mut tru) = (Vec::new(), Vec::new());
    for s in read(&reports.join("sources.csv")) {
        if let Some((sum, n)) = by_source.get(&s["source"]) {
            est.push(num(&s, "posterior_mean"));
            tru.push(sum / n);
        }
    }
    println!(
        "sources: {} groups, Spearman {:.3}",
        est.len(),
        spearman(&est, &tru)
    );
    let (mut est, mut tru) = (Vec::new(), Vec::new());
    for s in read(&reports.join("source_stages.csv")) {
        if s["insufficient"] == "true" {
            continue;
        }
        if let Some(t) = by_stage.get(&(s["source"].clone(), s["stage"].clone())) {
            est.push(num(&s, "posterior_mean"));
            tru.push(*t);
        }
    }
    println!(
        "source x stage: {} groups with enough resolved stories, Spearman {:.3}",
        est.len(),
        spearman(&est, &tru)
    );
}
