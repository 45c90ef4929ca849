//! Benchmarks of each stage and of the whole batch on generated worlds of two shapes.
//!
//! `cargo bench` measures; `cargo test --benches` runs each once (CI). Each world has
//! `RUMOUR_BENCH_CLAIMS` claims (default 50,000), seed 7, generated once into a temporary
//! directory: `default` is the project's own world, `wide` the shape of a market with many
//! names (2,000 sources, 3,000 clubs, a player per five claims, windows from 2015, dated
//! transfers, some claims without window, stage or text). Throughput is in claims per second.
//! Each stage runs on polars' thread pool, as the binary runs every command
//! (`rumour::pipeline::on_polars_pool`).
//! `polars_read_floor` is the time polars alone takes to read the claims file: the floor the
//! whole batch is compared with in BENCHMARKS.md.

use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use polars::prelude::*;
use rumour::generate::{generate, GenerateOptions, Shape};
use rumour::pipeline::{
    counted_moves, days_since_epoch, history, ingest, model_for_day, on_polars_pool, open_leads,
    prepare, prepare_claims, reliability, stories_and_deals, story_hit, AliasTable, IngestOptions,
    InputPaths, Prepared, ScoreOptions,
};
use rumour::settings::Settings;
use rumour::Progress;

fn world(wide: bool) -> (tempfile::TempDir, InputPaths, u64) {
    let claims: u64 = std::env::var("RUMOUR_BENCH_CLAIMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let out: PathBuf = dir.path().to_path_buf();
    let shape = if wide {
        Shape {
            sources: Some(2000),
            clubs: Some(3000),
            players: Some((claims / 5).max(1) as usize),
            first_year: 2015,
            without_window: 0.05,
            without_stage: 0.03,
            without_text: 0.02,
            dated_share: 1.0,
            ..Shape::default()
        }
    } else {
        Shape::default()
    };
    generate(&GenerateOptions {
        claims,
        seed: 7,
        out: out.clone(),
        shape,
    })
    .expect("generate");
    let paths = InputPaths {
        claims: out.join("rumours.csv"),
        transfers: out.join("transfers.csv"),
        aliases: Some(AliasTable::File(out.join("aliases.csv"))),
    };
    (dir, paths, claims)
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
}

fn pipeline(c: &mut Criterion) {
    // As the binary does (`src/main.rs`): no transparent huge pages, whose first touch costs
    // most of a run on virtual machines (BENCHMARKS.md, "Huge pages").
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    for (name, wide) in [("default", false), ("wide", true)] {
        shape_benches(c, name, wide);
    }
}

fn shape_benches(c: &mut Criterion, shape: &str, wide: bool) {
    let (_dir, paths, n) = world(wide);
    let settings = Settings::default();
    let config = settings.config().clone();
    let opts = IngestOptions {
        strict: false,
        as_of: as_of(),
    };
    let progress = Progress::hidden();
    let mut group = c.benchmark_group(format!("pipeline/{shape}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(n));

    group.bench_function("polars_read_floor", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                LazyCsvReader::new(PlRefPath::new(paths.claims.to_string_lossy().as_ref()))
                    .with_has_header(true)
                    .with_infer_schema_length(Some(0))
                    .finish()
                    .and_then(|lf| lf.collect())
                    .expect("read")
                    .height()
            })
        })
    });

    group.bench_function("ingest", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                ingest(&paths, &settings, &opts, &progress)
                    .expect("ingest")
                    .claims
                    .height()
            })
        })
    });

    let inputs = ingest(&paths, &settings, &opts, &progress).expect("ingest");
    let score_opts = ScoreOptions {
        inputs: paths.clone(),
        as_of: as_of(),
        strict: false,
    };
    let prepared = prepare(&score_opts, &settings, &progress).expect("prepare");
    // The claims as the stories stage gets them, with their packed deal key (which `prepare`
    // drops once the stories are built).
    let claims = &prepare_claims(inputs.claims.clone(), &config).expect("stages");
    let windows = &prepared.windows;
    let day = days_since_epoch(as_of());

    group.bench_function("stages", |b| {
        b.iter_batched(
            || inputs.claims.clone(),
            |df| on_polars_pool(|| prepare_claims(df, &config).expect("stages").height()),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("stories_and_deals", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                let moves = counted_moves(&inputs.transfers, &config.outcomes);
                stories_and_deals(claims, moves, windows, &config, day)
                    .expect("stories")
                    .stories
                    .height()
            })
        })
    });

    scoring_benches(&mut group, &prepared, (&score_opts, &settings));
    group.finish();
}

/// The scoring stages on prepared inputs, and the whole run.
fn scoring_benches(
    group: &mut BenchmarkGroup<'_, WallTime>,
    prepared: &Prepared,
    (score_opts, settings): (&ScoreOptions, &Settings),
) {
    let config = settings.config();
    let progress = Progress::hidden();
    let day = days_since_epoch(as_of());
    let tables = prepared.tables();
    group.bench_function("reliability", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                reliability(
                    prepared.stories.clone().lazy(),
                    &["source", "stage"],
                    Some("stage"),
                    story_hit(),
                    &config.reliability,
                    day,
                    &|v| v.to_string(),
                )
                .expect("reliability")
                .table
                .height()
            })
        })
    });
    let mut leads = config.likelihood.training_leads_days.clone();
    leads.extend(open_leads(&prepared.deals, &prepared.windows, day).expect("leads"));
    group.bench_function("training_history", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                history(&tables, config, &leads, day)
                    .expect("history")
                    .rows
                    .height()
            })
        })
    });
    let hist = history(&tables, config, &leads, day).expect("history");
    group.bench_function("model_fit", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                model_for_day(&hist, &prepared.windows, config, day, leads.last().copied())
                    .expect("model")
                    .training()
                    .rows
            })
        })
    });
    group.bench_function("score_end_to_end", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                rumour::pipeline::score(score_opts, settings, &progress)
                    .expect("score")
                    .deals
                    .height()
            })
        })
    });
    // What `rumour score` runs: the batch and every report written, the stories report made
    // and written beside the stages after the training history.
    let into = tempfile::tempdir().expect("tmp");
    group.bench_function("score_and_write", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                let set =
                    rumour::pipeline::OutputSet::begin(&into.path().join("reports")).expect("set");
                rumour::pipeline::score_into(
                    score_opts,
                    settings,
                    &progress,
                    set,
                    rumour::pipeline::Format::Csv,
                )
                .expect("score")
                .0
                .deals
                .height()
            })
        })
    });
    // Every report written as one atomic set (`stories.csv` is most of the bytes).
    let mut run = rumour::pipeline::score(score_opts, settings, &progress).expect("score");
    let out = tempfile::tempdir().expect("tmp");
    let reports = out.path().join("reports");
    group.bench_function("write_reports", |b| {
        b.iter(|| {
            on_polars_pool(|| {
                run.write(&reports, rumour::pipeline::Format::Csv)
                    .expect("write")
            })
        })
    });
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
