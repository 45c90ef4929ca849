//! The floor for `rumour score`: the time polars alone takes to read a claims file.
//!
//! `cargo run --release --example polars_floor -- FILE` reads every column as text with
//! polars' CSV reader (multi-threaded, the same engine the batch would use) and prints the
//! rows and seconds. BENCHMARKS.md compares the batch's wall time with this.

use std::time::Instant;

use polars::prelude::*;

fn main() -> PolarsResult<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: polars_floor FILE");
        std::process::exit(2);
    };
    let start = Instant::now();
    let df = LazyCsvReader::new(PlRefPath::new(&path))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()?
        .collect()?;
    println!(
        "{} rows, {} columns in {:.2} s",
        df.height(),
        df.width(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
