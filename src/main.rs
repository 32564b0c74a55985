//! The `gws-conformance` command: parses arguments and hands over to `cli`.

mod cli;

/// mimalloc instead of the system allocator: under `load` and `bench --load` the glibc
/// allocator's free lists are a fifth of the CPU (measured with perf; see README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
