//! What every subcommand prints through: stdout that survives a closed pipe, errors on
//! stderr, the exit codes, and the one runtime.

use std::process::ExitCode;

/// Exit code: every `must` scenario passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a conformance failure.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: a usage error, an invalid spec, or a harness fault.
pub const EXIT_ERROR: u8 = 2;

/// Writes to stdout. A reader that went away (`gws-conformance list | head`) is not worth a
/// panic: the program ends quietly with 141, the status a shell reports for SIGPIPE.
pub fn emit(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|_| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(141);
    }
}

/// Runs a command's future on the one runtime builder; failing to build it is a harness error.
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, ExitCode> {
    gws_conformance::command::runtime()
        .map(|runtime| runtime.block_on(future))
        .map_err(|e| error(format!("cannot start the async runtime: {e}")))
}

pub fn error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_ERROR)
}
