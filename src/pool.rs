//! The thread pool: rumour's parallel work and polars' run on one pool, polars' own.

/// Runs `f` on polars' thread pool, so that rumour's own parallel work (rayon's `par_iter`,
/// `join` and parallel sorts, called from there) and polars' share one pool of a thread per
/// core. Called from anywhere else, rumour's work goes to rayon's global pool, a second
/// thread per core, and the two pools' threads take the cores from each other, those waiting
/// for work spinning while the others work: at a million wide claims the whole run took
/// 7% longer (BENCHMARKS.md, "One thread pool"). The command line runs every command here
/// (`cli::run`); the library's callers may too (`rumour::pipeline::on_polars_pool`).
///
/// `f` then runs on one of the pool's threads, and while it waits for a thread of its own
/// (the reading threads, the stories report's) that thread is lost to the pool; the threads
/// it waits for hand their polars work to the others. A pool of one thread would have none
/// left: there (`POLARS_MAX_THREADS=1`) `f` runs where it is called.
pub fn on_polars_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let pool = &polars_core::runtime::THREAD_POOL;
    if pool.current_num_threads() > 1 {
        pool.install(f)
    } else {
        f()
    }
}
