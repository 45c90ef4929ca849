//! Fuzzes the ingest of a claims and a transfers file: any bytes must give either a clean
//! error or tables whose rows add up, never a panic.
//!
//! The input is split at the first 0xFF byte: claims before, transfers after (0xFF never
//! occurs in UTF-8, so both halves can still be any text).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::config::Config;
use rumour::ingest::{ingest, IngestOptions, InputPaths};
use rumour::progress::Progress;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0xFF).unwrap_or(data.len());
    let (claims, transfers) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let dir = std::env::temp_dir().join(format!("rumour-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let paths = InputPaths { claims: dir.join("claims.csv"), transfers: dir.join("transfers.csv"), aliases: None };
    if std::fs::write(&paths.claims, claims).is_err() || std::fs::write(&paths.transfers, transfers).is_err() {
        return;
    }
    let opts = IngestOptions { strict: false, as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date") };
    if let Ok(inputs) = ingest(&paths, &Config::default(), &opts, &Progress::hidden()) {
        for f in &inputs.files {
            assert_eq!(f.rows_read, f.rows_used + f.rows_rejected, "rows add up");
        }
        assert_eq!(inputs.claims.height() as u64, inputs.files[0].rows_used);
        assert_eq!(inputs.transfers.height() as u64, inputs.files[1].rows_used);
    }
});
