//! `rumour extract` on short articles: the generated world's claim texts used as articles
//! (`RUMOUR_BENCH_ARTICLES`, default 50,000; seed 7), with its transfers and aliases as the
//! names. `read` is the extraction of articles already in memory (the names automaton, the
//! finders), `end_to_end` adds reading the CSV and writing the claims. Throughput is in
//! articles per second. `cargo test --benches` runs each once (CI).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rumour::extract::finders::stage_phrases;
use rumour::extract::gazetteer::Gazetteer;
use rumour::extract::{extract, extract_all, read_articles, ExtractOptions, Reader};
use rumour::generate::{generate, GenerateOptions, Shape};
use rumour::pipeline::{Aliases, NameKind};
use rumour::settings::InputFormat;
use rumour::settings::Settings;

fn bench(c: &mut Criterion) {
    let n: u64 = std::env::var("RUMOUR_BENCH_ARTICLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    generate(&GenerateOptions {
        claims: n,
        seed: 7,
        out: dir.path().to_path_buf(),
        shape: Shape::default(),
    })
    .expect("generate");
    let mut aliases = Aliases::default();
    let mut rdr = csv::Reader::from_path(dir.path().join("aliases.csv")).expect("aliases");
    for rec in rdr.records().flatten() {
        if let (Some(kind), Some(a), Some(c)) =
            (rec.get(0).and_then(NameKind::parse), rec.get(1), rec.get(2))
        {
            aliases.insert(kind, a, c);
        }
    }
    let settings = Settings::default();
    let config = settings.config();
    let calendar = settings.calendar;
    let opts = ExtractOptions {
        articles: vec![dir.path().join("rumours.csv")],
        transfers: dir.path().join("transfers.csv"),
        known_names: None,
        source: None,
        out: dir.path().join("claims.csv"),
        input: InputFormat::default(),
        date_format: None,
    };
    let names =
        Gazetteer::build(&opts.transfers, None, &aliases, &calendar, opts.input).expect("names");
    let (articles, _, _) = read_articles(&opts).expect("articles");
    let reader = Reader {
        names: &names,
        stages: stage_phrases(&config.stage_keywords),
        calendar,
    };
    let mut group = c.benchmark_group("extract");
    group.sample_size(10);
    group.throughput(Throughput::Elements(articles.len() as u64));
    group.bench_function("read", |b| {
        b.iter(|| extract_all(&reader, &articles, None).len())
    });
    group.bench_function("end_to_end", |b| {
        b.iter(|| extract(&opts, &aliases, &settings).expect("extract").claims)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
