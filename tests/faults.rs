//! The harness through a faulty network (#26): the fault injector of `tests/support/faults.rs`
//! between the binary and a standalone reference server, and a server restarted mid-run.
//!
//! What must hold: a correct server is certified however the link misbehaves (each run saying
//! how many exchanges it re-did and why), a server with a real defect is still failed with the
//! same root cause, and a restart leaves every scenario with a result and the verdict
//! certified or incomplete, never a false failure.

mod support;

use std::path::Path;
use std::process::Output;
use support::faults::{FaultPlan, Injector};
use support::target::{AGENT_PASSWORDS, TargetFile};
use support::{bin, serve, text};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run_through(injector: &Injector, out: &Path, args: &[&str]) -> Output {
    let target =
        TargetFile::new("Reference server behind a faulty link", injector.base_url()).write(out);
    bin()
        .args([
            "run",
            "--quiet",
            "--target",
            s(&target),
            "--out",
            s(&out.join("out")),
        ])
        .args(args)
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap()
}

#[test]
#[ignore]
fn experiment() {
    let served = serve(&[]);
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let injector = Injector::start(&served.base_url, FaultPlan::hostile_link(seed));
    let dir = tempfile::tempdir().unwrap().keep();
    println!("out: {}", dir.display());
    let filter = std::env::var("FILTER").unwrap_or_default();
    let mut args = vec!["--profile", "full"];
    if !filter.is_empty() {
        args.extend(["--filter", filter.as_str()]);
    }
    let out = run_through(&injector, &dir, &args);
    println!("{}\n{}", text(&out.stdout), text(&out.stderr));
    println!(
        "exit {:?} counts {:?}",
        out.status.code(),
        injector.counts()
    );
}
