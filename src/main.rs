//! The `rumour` binary: runs the command line and maps errors to exit codes.

use std::process::ExitCode;

// polars allocates and frees many short buffers; mimalloc does that faster than glibc's
// malloc and hands memory back to the system instead of fragmenting (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match rumour::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(rumour::error::Error::UsageReported) => ExitCode::from(2),
        Err(e) => {
            let code = e.exit_code();
            let e = anyhow::Error::from(e);
            // A closed pipe (`rumour config | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rumour: error: {e:#}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
