//! The `rumour` binary: runs the command line and maps errors to exit codes.

use std::process::ExitCode;

// polars allocates and frees many buffers, some of hundreds of megabytes. jemalloc hands freed
// memory back to the system sooner than mimalloc (which this replaced) and glibc's malloc: at
// ten million claims the peak is 0.25-0.37 GiB lower than with mimalloc and about 1 GiB lower
// than with glibc; at a million claims it is 5-11% slower than mimalloc, from the pages it
// returns and touches again (BENCHMARKS.md, "The allocator"). jemalloc does not build with
// MSVC; there the system allocator is used.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Turns transparent huge pages off for this process. Under the kernel's `always` setting
/// (and with allocators that ask for them, as mimalloc did, `madvise(MADV_HUGEPAGE)`) every
/// large buffer is backed by 2 MiB pages, and on virtual machines their first touch can
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
