//! Command-line interface: clap definitions, conversion to library configuration, dispatch,
//! and the mapping of outcomes to exit codes (0 conformant, 1 conformance failure, 2 usage or
//! harness error). Only this module knows clap.

/// `println!` that ends the program quietly when stdout is a closed pipe (`| head`).
macro_rules! outln {
    () => { $crate::cli::emit(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` with the same closed-pipe handling as `outln!`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::emit(format_args!($($arg)*)) };
}

mod app;
mod args;
mod bench;
mod combine;
mod doctor;
mod load;
mod mutants;
mod output;
mod run;
mod serve;
mod spec;

pub use app::main;
pub use args::{ServerArgs, SuiteArgs, TargetArgs, TimeoutArgs, parse_duration};
pub use output::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, block_on, emit, error};
pub use spec::spec_errors;
