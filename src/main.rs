//! The `rumour` binary: runs the command line and maps errors to exit codes.

use std::process::ExitCode;

// polars allocates and frees many short buffers; mimalloc does that faster than glibc's
// malloc and hands memory back to the system instead of fragmenting (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process. mimalloc asks for them on its arenas
/// (`madvise(MADV_HUGEPAGE)`), and on virtual machines the first touch of a 2 MiB page can
/// cost several times more per byte than 4 KiB pages: on the 2-core development VM a whole
/// `score` spent 3–5 s of 7 in the kernel zeroing huge pages at a million claims, and 0.7 s
/// without them (BENCHMARKS.md, "Huge pages"). The peak is lower too, since half-used huge
/// pages are not held.
fn without_huge_pages() {
    // A kernel that refuses leaves the default: slower, not wrong.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}

fn main() -> ExitCode {
    without_huge_pages();
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
