//! The commands' own logic, reached without the CLI: merging shards (and refusing what does
//! not merge), the load request's refusals, the agents' shard slices.

use super::TargetChoice;
use super::combine::{self, CombineError, Merged};
use super::load::{LoadCommandError, LoadPlan};
use crate::report::json::{Provenance, RunRecord};
use crate::result::ScenarioResult;
use crate::server::ServerConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn provenance(target: &str) -> Provenance {
    Provenance {
        tool: "gws-conformance".into(),
        tool_version: "0".into(),
        suite_hash: "h".into(),
        target_name: target.into(),
        target_url: "http://127.0.0.1:9".into(),
        started: "2026-12-01T10:00:00Z".into(),
        finished: "2026-12-01T10:01:00Z".into(),
        profile: None,
        shard: Some("1/2".into()),
        gws_version: Default::default(),
    }
}

fn passed(id: &str) -> ScenarioResult {
    ScenarioResult::for_test(id, "chat", Vec::new())
}

fn shard(root: &Path, name: &str, target: &str, ids: &[&str]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let results = ids.iter().map(|id| passed(id)).collect();
    RunRecord::new(provenance(target), None, results, Default::default())
        .write(&dir.join("results.json"))
        .unwrap();
    dir
}

#[test]
fn shards_merge_into_one_bundle_with_every_result() {
    let root = tempfile::tempdir().unwrap();
    let suite = crate::suite::builtin().unwrap();
    let dirs = [
        shard(root.path(), "a", "t", &["chat/UpdateUserData/a"]),
        shard(root.path(), "b", "t", &["chat/UpdateUserData/b"]),
    ];
    let out = root.path().join("merged");
    let Merged::Suite {
        record,
        not_started,
    } = combine::merge(&suite, &dirs, None, &out).unwrap()
    else {
        panic!("suite results merge as suite results");
    };
    assert!(not_started.is_none());
    assert_eq!(record.results.len(), 2);
    assert_eq!(record.provenance.shard, None, "the merged run is whole");
    let back = RunRecord::read_dir(&out).unwrap();
    assert_eq!(back.tally.total, 2);
    assert!(out.join("junit.xml").exists() && out.join("report.html").exists());
}

#[test]
fn what_does_not_merge_is_refused_naming_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let suite = crate::suite::builtin().unwrap();
    let out = root.path().join("merged");
    let twice = [
        shard(root.path(), "a", "t", &["chat/UpdateUserData/a"]),
        shard(root.path(), "b", "t", &["chat/UpdateUserData/a"]),
    ];
    assert!(matches!(
        combine::merge(&suite, &twice, None, &out),
        Err(CombineError::TwiceMerged { id, .. }) if id == "chat/UpdateUserData/a"
    ));
    let other = [
        shard(root.path(), "c", "t", &["chat/UpdateUserData/c"]),
        shard(root.path(), "d", "other", &["chat/UpdateUserData/d"]),
    ];
    let err = combine::merge(&suite, &other, None, &out).unwrap_err();
    assert!(matches!(err, CombineError::OtherRun { .. }), "{err}");
    assert!(err.to_string().contains("/d is a run of `other`"), "{err}");
    let unknown = combine::merge(&suite, &other[..1], Some("no-such-profile"), &out);
    assert!(matches!(unknown, Err(CombineError::Profile(_))));
}

fn load_plan() -> LoadPlan {
    let suite = crate::suite::builtin().unwrap();
    let cases = crate::plan::build(&suite, &Default::default());
    LoadPlan {
        ops: crate::load::model::replayable(&cases, false),
        target: TargetChoice::Embedded(ServerConfig::default()),
        agents: None,
        shard: None,
        duration: Duration::from_secs(1),
        rate: None,
        concurrency: None,
        shared: 1,
        ops_per_agent: None,
        interactions_per_agent: None,
        request_timeout: Duration::from_secs(1),
        notification_timeout: Duration::from_secs(1),
        out: None,
    }
}

#[test]
fn a_load_that_would_test_nothing_is_refused() {
    assert!(load_plan().check().is_ok());
    type Change = fn(&mut LoadPlan);
    let refusals: [(&str, Change); 6] = [
        ("--shared", |p| p.shared = 0),
        ("--agents", |p| p.agents = Some(0)),
        ("--concurrency", |p| p.concurrency = Some(0)),
        ("--duration", |p| p.duration = Duration::ZERO),
        ("--rate", |p| p.rate = Some(f64::NAN)),
        ("no replayable scenario", |p| p.ops.clear()),
    ];
    for (named, change) in refusals {
        let mut plan = load_plan();
        change(&mut plan);
        match plan.check() {
            Err(LoadCommandError::Request(why)) => assert!(why.contains(named), "{why}"),
            other => panic!("{named}: {:?}", other.err()),
        }
    }
    let mut fixed_work = load_plan();
    fixed_work.duration = Duration::ZERO;
    fixed_work.ops_per_agent = Some(3);
    assert!(
        fixed_work.check().is_ok(),
        "a fixed amount of work needs no duration"
    );
}

#[test]
fn agent_shards_are_disjoint_and_cover_every_agent() {
    let agents: Vec<usize> = (0..7).collect();
    let slices: Vec<Vec<usize>> = (1..=3)
        .map(|k| crate::plan::shard_slice(&agents, k, 3))
        .collect();
    assert_eq!(slices.concat(), agents);
    assert_eq!(slices, vec![vec![0, 1], vec![2, 3], vec![4, 5, 6]]);
}
