//! Benchmarks of each stage and of the whole batch on a generated world.
//!
//! `cargo bench` measures; `cargo test --benches` runs each once (CI). The world has
//! `RUMOUR_BENCH_CLAIMS` claims (default 50,000), seed 7, generated once into a temporary
//! directory. `polars_read_floor` is the time polars alone takes to read the claims file: the
//! floor the whole batch is compared with in BENCHMARKS.md.

use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use polars::prelude::*;
use rumour::config::Config;
use rumour::generate::{generate, GenerateOptions};
use rumour::ingest::{ingest, IngestOptions, InputPaths};
use rumour::progress::Progress;
use rumour::resolve::counted_moves;
use rumour::stories::{prepare_claims, stories_and_deals};
use rumour::windows::{days_since_epoch, WindowCalendar};
use rumour::ScoreOptions;

fn world() -> (tempfile::TempDir, InputPaths, u64) {
    let claims: u64 = std::env::var("RUMOUR_BENCH_CLAIMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let out: PathBuf = dir.path().to_path_buf();
    generate(&GenerateOptions {
        claims,
        seed: 7,
        out: out.clone(),
        shape: Default::default(),
    })
    .expect("generate");
    let paths = InputPaths {
        claims: out.join("rumours.csv"),
        transfers: out.join("transfers.csv"),
        aliases: Some(out.join("aliases.csv")),
    };
    (dir, paths, claims)
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
}

fn pipeline(c: &mut Criterion) {
    let (_dir, paths, n) = world();
    let config = Config::default();
    let opts = IngestOptions {
        strict: false,
        as_of: as_of(),
    };
    let progress = Progress::hidden();
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n));

    group.bench_function("polars_read_floor", |b| {
        b.iter(|| {
            LazyCsvReader::new(PlRefPath::new(paths.claims.to_string_lossy().as_ref()))
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .finish()
                .and_then(|lf| lf.collect())
                .expect("read")
                .height()
        })
    });

    group.bench_function("ingest", |b| {
        b.iter(|| {
            ingest(&paths, &config, &opts, &progress)
                .expect("ingest")
                .claims
                .height()
        })
    });

    let inputs = ingest(&paths, &config, &opts, &progress).expect("ingest");
    let claims = prepare_claims(inputs.claims.clone(), &config).expect("stages");
    let calendar = WindowCalendar::from_config(&config).expect("calendar");
    let mut ordinals: Vec<i32> = claims
        .column("window")
        .expect("w")
        .i32()
        .expect("i32")
        .iter()
        .flatten()
        .collect();
    ordinals.extend(
        inputs
            .transfers
            .column("window")
            .expect("w")
            .i32()
            .expect("i32")
            .iter()
            .flatten(),
    );
    let windows = calendar.table(&ordinals).expect("windows");
    let day = days_since_epoch(as_of());

    group.bench_function("stages", |b| {
        b.iter_batched(
            || inputs.claims.clone(),
            |df| prepare_claims(df, &config).expect("stages").height(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("stories_and_deals", |b| {
        b.iter(|| {
            let moves = counted_moves(&inputs.transfers, &config.outcomes);
            stories_and_deals(&claims, moves, &windows, &config, day)
                .expect("stories")
                .stories
                .height()
        })
    });

    let score_opts = ScoreOptions {
        inputs: paths.clone(),
        as_of: as_of(),
        strict: false,
    };
    group.bench_function("score_end_to_end", |b| {
        b.iter(|| {
            rumour::score(&score_opts, &config, &progress)
                .expect("score")
                .deals
                .height()
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
