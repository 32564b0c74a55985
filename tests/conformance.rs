//! The suite as a cargo test: one libtest-mimic trial per scenario, against the embedded
//! reference server over real HTTP and Bayeux on loopback.
//!
//! Every scenario runs twice: as `<id>` against a server without CSRF protection and as
//! `csrf/<id>` against one with it. Against the reference server every scenario must pass.
//! The notification of each scenario is pinned with insta in `snapshots/<media>__<operation>__<name>.snap`
//! (volatile values redacted); `cargo insta review` accepts changes.
//!
//! Each process starts its servers lazily, so this works under nextest's process-per-test too.

use gws_conformance::check::Checker;
use gws_conformance::command::embedded::Embedded;
use gws_conformance::orchestrator::{Event, Orchestrator, Retention};
use gws_conformance::plan::{self, Case};
use gws_conformance::result::Grade;
use gws_conformance::run::{RunConfig, Runner};
use gws_conformance::server::{RunningServer, ServerConfig};
use gws_conformance::suite;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

struct Env {
    orchestrator: Orchestrator<'static>,
    _server: RunningServer,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    plain: OnceLock<Result<Env, String>>,
    csrf: OnceLock<Result<Env, String>>,
    /// Lives as long as the test process, like the orchestrators that borrow it.
    checker: &'static Checker,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Harness {
    fn env(&self, csrf: bool) -> Result<&Env, String> {
        let cell = if csrf { &self.csrf } else { &self.plain };
        cell.get_or_init(|| {
            self.runtime.block_on(async {
                let config = ServerConfig {
                    csrf,
                    ..ServerConfig::default()
                };
                let Embedded { target, server } =
                    Embedded::start(config, "embedded reference server")
                        .await
                        .map_err(|e| e.to_string())?;
                let runner = Runner::connect(target, RunConfig::default())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Env {
                    orchestrator: Orchestrator::new(runner, self.checker, Retention::DropResults),
                    _server: server,
                })
            })
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    fn trial(&self, case: &Case, csrf: bool) -> Result<(), Failed> {
        let env = self.env(csrf)?;
        let mut finished = None;
        let stop = tokio_util::sync::CancellationToken::new();
        self.runtime.block_on(
            env.orchestrator
                .run(std::slice::from_ref(case), &stop, |event| {
                    if let Event::CaseFinished { result, .. } = event {
                        finished = Some(result.clone());
                    }
                }),
        );
        let Some(result) = finished else {
            return Err("the orchestrator finished no case".into());
        };
        // Omitting a CSRF token, or presenting another session's, tests nothing on a server
        // that issues none.
        let csrf_scenario_without_csrf =
            !csrf && case.scenario.send.csrf != gws_conformance::spec::CsrfMode::Send;
        if csrf_scenario_without_csrf && result.grade == Grade::NotApplicable {
            return Ok(());
        }
        if result.grade != Grade::Pass {
            let style = gws_conformance::report::terminal::Style {
                color: false,
                verbose: true,
            };
            return Err(gws_conformance::report::terminal::scenario(style, &result).into());
        }
        if !csrf && case.scenario.wants_snapshot() {
            let Some(notification) = &result.notification else {
                return Err("the scenario expects a notification but none was captured".into());
            };
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(root().join("snapshots"));
            settings.set_prepend_module_to_snapshot(false);
            settings.set_input_file(&case.scenario.source.file);
            settings.set_omit_expression(true);
            settings.set_description(format!(
                "{}: notification of {}",
                case.id, case.scenario.source.file
            ));
            settings.bind(|| insta::assert_json_snapshot!(case.snapshot_name(), notification));
        }
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    // cargo runs tests from the package root; relative paths keep snapshot metadata portable.
    let specs = if Path::new("specs/media.yaml").exists() {
        PathBuf::from("specs")
    } else {
        root().join("specs")
    };
    let suite = match suite::from_dir(&specs) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let cases = plan::build(&suite, &plan::Selection::default());
    assert!(!cases.is_empty(), "the suite has no scenarios");
    // insta pins the exact redacted notification below, which is stricter than the pinned
    // shape layer of the checks, so that layer is left out.
    let checker = Box::leak(Box::new(Checker {
        snapshots: None,
        redact_keys: suite.media.redact_keys.clone(),
        own_snapshots: None,
        gws_version: Default::default(),
    }));
    let harness = Arc::new(Harness {
        runtime: tokio::runtime::Runtime::new().expect("a tokio runtime"),
        plain: OnceLock::new(),
        csrf: OnceLock::new(),
        checker,
    });
    let mut trials = Vec::new();
    for csrf in [false, true] {
        for case in &cases {
            let harness = Arc::clone(&harness);
            let case = case.clone();
            let name = if csrf {
                format!("csrf/{}", case.id)
            } else {
                case.id.clone()
            };
            trials
                .push(Trial::test(name, move || harness.trial(&case, csrf)).with_kind("scenario"));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
