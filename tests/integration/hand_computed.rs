//! The three-source fixture of `tests/fixtures/tiny`, checked against numbers worked out by
//! hand (README, "The model").
//!
//! Stories: Reliable 3 of 4 right, Tabloid 1 of 4 (its second report of Pavel One to Bravo
//! has no stage; "keen" makes it `interest`), Copycat 1 of 2 (a denial that held). Three groups
//! are fewer than `min_groups_for_fit` = 5, so the prior is the fallback: pooled rate
//! (5 + 0.5) / (10 + 1) = 0.5 with strength 2, i.e. Beta(1, 1). Posteriors: Beta(4, 2),
//! Beta(2, 4), Beta(2, 2); their 5% and 95% quantiles solve the binomial-sum form of the
//! regularised incomplete beta function (computed by bisection, below).

use crate::support::{f, fixture, json, read_csv, row, Run};

fn binom(n: u64, k: u64) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// CDF of Beta(a, b) for integer a, b: P(Binomial(a + b - 1, x) >= a).
fn beta_cdf(x: f64, a: u64, b: u64) -> f64 {
    let n = a + b - 1;
    (a..=n)
        .map(|j| binom(n, j) * x.powi(j as i32) * (1.0 - x).powi((n - j) as i32))
        .sum()
}

fn quantile(p: f64, a: u64, b: u64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if beta_cdf(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

fn run_tiny(out: &std::path::Path) {
    Run::new(&["score", "--no-aliases", "--as-of", "2025-10-01", "--quiet"])
        .arg("--rumours")
        .arg(fixture("tiny/rumours.csv"))
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .arg("--out")
        .arg(out)
        .success();
}

#[test]
fn source_posteriors_and_intervals_match_the_hand_computation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    run_tiny(&out);
    let sources = read_csv(&out.join("sources.csv"));
    assert_eq!(sources.len(), 3);
    for (name, hits, resolved, a, b) in [
        ("Reliable", 3, 4, 4, 2),
        ("Tabloid", 1, 4, 2, 4),
        ("Copycat", 1, 2, 2, 2),
    ] {
        let r = row(&sources, "source", name);
        assert_eq!(f(r, "hits") as u64, hits, "{name}");
        assert_eq!(f(r, "resolved") as u64, resolved, "{name}");
        let mean = a as f64 / (a + b) as f64;
        assert!(
            (f(r, "posterior_mean") - mean).abs() < 1e-6,
            "{name}: {r:?}"
        );
        assert!(
            (f(r, "ci_low") - quantile(0.05, a, b)).abs() < 2e-6,
            "{name}: {r:?}"
        );
        assert!(
            (f(r, "ci_high") - quantile(0.95, a, b)).abs() < 2e-6,
            "{name}: {r:?}"
        );
        assert_eq!(
            r["insufficient"],
            if resolved >= 5 { "false" } else { "true" }
        );
    }
    // By hand: Beta(4,2) has 90% of its mass in [0.342592, 0.923560].
    let reliable = row(&sources, "source", "Reliable");
    assert!((f(reliable, "ci_low") - 0.342592).abs() < 1e-6);
    assert!((f(reliable, "ci_high") - 0.923560).abs() < 1e-6);
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["priors"]["sources"][0]["mean"].as_f64(), Some(0.5));
    assert!(summary["priors"]["sources"][0]["method"]
        .as_str()
        .unwrap_or("")
        .starts_with("fallback"));
}

#[test]
fn stories_and_outcomes_follow_the_rules() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    run_tiny(&out);
    let stories = read_csv(&out.join("stories.csv"));
    assert_eq!(
        stories.len(),
        10,
        "11 claims, Tabloid's two reports of one deal are one story"
    );
    let find = |source: &str, player: &str, club: &str| {
        stories
            .iter()
            .find(|s| s["source"] == source && s["player"] == player && s["to_club"] == club)
            .unwrap_or_else(|| panic!("{source} {player} {club}"))
    };
    let s = find("Reliable", "Pavel One", "Bravo");
    assert_eq!(
        (s["outcome"].as_str(), s["resolved_on"].as_str()),
        ("confirmed", "2025-07-10")
    );
    let s = find("Reliable", "Pedro Two", "Delta");
    assert_eq!(
        (s["outcome"].as_str(), s["resolved_on"].as_str()),
        ("confirmed", "2025-09-02"),
        "window-only move: known the day after the close"
    );
    let s = find("Reliable", "Piotr Three", "Foxtrot");
    assert_eq!(s["outcome"], "confirmed", "loans count");
    let s = find("Tabloid", "Pavel One", "India");
    assert_eq!(
        (s["outcome"].as_str(), s["resolved_on"].as_str()),
        ("refuted", "2025-07-10"),
        "moved elsewhere"
    );
    let s = find("Tabloid", "Pablo Four", "Golf");
    assert_eq!(
        (s["outcome"].as_str(), s["resolved_on"].as_str()),
        ("refuted", "2025-09-09"),
        "a return from loan is not a move"
    );
    let s = find("Tabloid", "Pavel One", "Bravo");
    assert_eq!(
        (
            s["reports"].as_str(),
            s["stage"].as_str(),
            s["first_report"].as_str()
        ),
        ("2", "interest", "2025-06-20")
    );
    let s = find("Copycat", "Pere Six", "Lima");
    assert_eq!(
        (
            s["stage"].as_str(),
            s["outcome"].as_str(),
            s["correct"].as_str()
        ),
        ("denied", "refuted", "true")
    );
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["deals"]["total"], 8);
    assert_eq!(summary["deals"]["confirmed"], 3);
    assert_eq!(summary["claims_stage_inferred"], 1);
}

#[test]
fn author_with_one_record_is_shrunk_to_the_fallback_prior() {
    // One author, 3 of 4: prior (3 + 0.5) / (4 + 1) = 0.7, strength 2: Beta(1.4, 0.6);
    // posterior Beta(4.4, 1.6), mean 4.4 / 6.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    run_tiny(&out);
    let authors = read_csv(&out.join("authors.csv"));
    let ann = row(&authors, "author", "Ann Reporter");
    assert!(
        (f(ann, "posterior_mean") - 4.4 / 6.0).abs() < 1e-6,
        "{ann:?}"
    );
}

#[test]
fn as_of_before_the_close_keeps_stories_open() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    Run::new(&["score", "--no-aliases", "--as-of", "2025-07-15", "--quiet"])
        .arg("--rumours")
        .arg(fixture("tiny/rumours.csv"))
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .arg("--out")
        .arg(&out)
        .success();
    let stories = read_csv(&out.join("stories.csv"));
    let open: Vec<_> = stories.iter().filter(|s| s["outcome"] == "open").collect();
    // Known by 15 July: the 10 July move (confirms two stories, refutes two). Not yet known:
    // the window-only move (known at the close), the loan of 20 August.
    assert_eq!(stories.len() - open.len(), 4, "{stories:?}");
    let rejects = read_csv(&out.join("rejects.csv"));
    // Claims published after the as-of date and transfers not yet known are rejected as such.
    assert!(rejects
        .iter()
        .any(|r| r["reason"].starts_with("published after the as-of date")));
    assert!(rejects
        .iter()
        .any(|r| r["reason"].starts_with("not known by the as-of date")));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["rows_add_up"], true);
}

#[test]
fn a_citing_copy_is_not_an_independent_source() {
    // On 30 June Pavel One's move to India is open: Tabloid reported it, and Copycat repeated
    // Tabloid's wording a day later, citing it. Two sources, one independent origin.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("reports");
    Run::new(&["score", "--no-aliases", "--as-of", "2025-06-30", "--quiet"])
        .arg("--rumours")
        .arg(fixture("tiny/rumours.csv"))
        .arg("--transfers")
        .arg(fixture("tiny/transfers.csv"))
        .arg("--out")
        .arg(&out)
        .success();
    let deals = read_csv(&out.join("deals.csv"));
    let india = deals
        .iter()
        .find(|d| d["player"] == "Pavel One" && d["to_club"] == "India")
        .expect("open deal");
    assert_eq!(
        (
            india["sources"].as_str(),
            india["independent_sources"].as_str()
        ),
        ("2", "1")
    );
    assert_eq!(india["source_list"], "Copycat;Tabloid");
    assert_eq!(india["claim_ids"], "c1;t1");
    let bravo = deals
        .iter()
        .find(|d| d["player"] == "Pavel One" && d["to_club"] == "Bravo")
        .expect("open deal");
    assert_eq!(
        (
            bravo["sources"].as_str(),
            bravo["independent_sources"].as_str()
        ),
        ("2", "2")
    );
}
