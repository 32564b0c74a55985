//! The commands as library calls: each takes a configuration resolved once by the CLI, does
//! the whole job (the embedded server's life, the run or load, the merge, the files), and
//! returns its outcome as data, so that the CLI only parses, prints and maps to an exit code,
//! and library tests reach every part of a command.
//!
//! Nothing here parses arguments or prints; presentation is the caller's (through the events it
//! is handed) and `report`'s.

pub mod bench;
pub mod combine;
pub mod doctor;
pub mod embedded;
pub mod load;
pub mod mutants;
pub mod run;
pub mod serve;

pub use combine::{CombineError, Compared, Merged};
pub use embedded::TargetChoice;
pub use load::{LoadCommandError, LoadPlan};
pub use run::{RunCommandError, RunOutcome, RunPlan, RunStatus};

/// A stop requested by Ctrl-C: cancelled on the first interrupt, after `on_interrupt` ran (to
/// say so); the listener ends with the guard. Needs a tokio runtime.
pub struct InterruptGuard {
    pub stop: tokio_util::sync::CancellationToken,
    listener: tokio::task::JoinHandle<()>,
}

impl InterruptGuard {
    pub fn listen(on_interrupt: impl FnOnce() + Send + 'static) -> InterruptGuard {
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let listener = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt();
                token.cancel();
            }
        });
        InterruptGuard { stop, listener }
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// The multi-threaded tokio runtime every command runs on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests;
