//! On a generated world the estimates recover the hidden truth and the backtest is calibrated.

use std::collections::BTreeMap;

use crate::support::{f, read_csv, Run};

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0.0; v.len()];
    for (rank, i) in idx.into_iter().enumerate() {
        r[i] = rank as f64;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn source_reliability_and_backtest_on_a_generated_world() {
    let (_tmp, world, out) = generated(&["--seed", "1"], &["score", "backtest"]);

    // Each source's true rate: the truth's stage rates weighted by its claims.
    let mut truth: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for r in read_csv(&world.join("truth.csv")) {
        let e = truth.entry(r["source"].clone()).or_default();
        e.0 += f(&r, "true_hit_rate") * f(&r, "claims");
        e.1 += f(&r, "claims");
    }
    let sources = read_csv(&out.join("sources.csv"));
    let (mut est, mut tru) = (Vec::new(), Vec::new());
    for s in &sources {
        let (sum, n) = truth[&s["source"]];
        est.push(f(s, "posterior_mean"));
        tru.push(sum / n);
    }
    let rho = spearman(&est, &tru);
    assert!(
        rho >= 0.9,
        "Spearman between estimated and true source reliability: {rho}"
    );

    assert_calibrated_and_ahead_of_baselines(&out);
    assert!(out.join("calibration.svg").is_file() && out.join("calibration.csv").is_file());
}

/// At every lead of the harness (1, 7, 30 and 60 days before the close): ECE at most 0.03,
/// Brier skill above 0 against both the training share and the test deals' own share, and a
/// Brier score below every baseline's.
fn assert_calibrated_and_ahead_of_baselines(out: &std::path::Path) {
    let backtest = read_csv(&out.join("backtest.csv"));
    for lead in ["1", "7", "30", "60"] {
        let overall = |p: &str| {
            backtest
                .iter()
                .find(|r| r["window"] == "overall" && r["lead_days"] == lead && r["predictor"] == p)
                .expect("overall row")
                .clone()
        };
        let model = overall("model");
        assert!(
            f(&model, "ece") <= 0.03,
            "lead {lead}: expected calibration error {}",
            model["ece"]
        );
        assert!(
            f(&model, "brier_skill") > 0.0 && f(&model, "brier_skill_own") > 0.0,
            "lead {lead}: Brier skill {} (own share {})",
            model["brier_skill"],
            model["brier_skill_own"]
        );
        for baseline in ["base_rate", "stage", "sources"] {
            assert!(
                f(&model, "brier") < f(&overall(baseline), "brier"),
                "lead {lead}: model {} against {baseline} {}",
                model["brier"],
                overall(baseline)["brier"]
            );
        }
    }
}

/// A 30,000-claim world generated with `shape` (seed and knobs), run through `commands`
/// (`score`, `backtest`) as of its end; returns the temporary directory, the world and the
/// reports directories.
fn generated(
    shape: &[&str],
    commands: &[&str],
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let world = tmp.path().join("world");
    let out = tmp.path().join("reports");
    Run::new(&["generate", "--claims", "30000", "--quiet"])
        .args(shape)
        .arg("--out")
        .arg(&world)
        .success();
    for command in commands {
        Run::new(&[command, "--as-of", "2026-11-20", "--quiet", "--rumours"])
            .arg(world.join("rumours.csv"))
            .arg("--transfers")
            .arg(world.join("transfers.csv"))
            .arg("--aliases")
            .arg(world.join("aliases.csv"))
            .arg("--out")
            .arg(&out)
            .success();
    }
    (tmp, world, out)
}

#[test]
fn backtest_on_a_single_source_world_without_wording() {
    // The rumour-mill shape: one source, no stage, no text, many deals happen.
    let shape = [
        "--seed",
        "3",
        "--sources",
        "1",
        "--without-stage",
        "1",
        "--without-text",
        "1",
        "--hit-shift",
        "1",
    ];
    let (_tmp, _world, out) = generated(&shape, &["backtest"]);
    assert_calibrated_and_ahead_of_baselines(&out);
}
