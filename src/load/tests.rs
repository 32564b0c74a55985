//! The load run end to end against the embedded server with an injected defect: what only
//! a live server and real timing can show. The rules themselves are tested without either,
//! in `attribution/tests.rs` and `check/load.rs`.

use super::model;
use super::*;
use crate::run::RunConfig;
use crate::server::{Defect, ServerConfig, state::ServerState};
use std::time::Duration;

/// Notifications that come after their deadline, several operations later, are `late`,
/// not taken for the notifications of the operations then waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_after_their_deadline_are_late() {
    let config = ServerConfig {
        agents: ServerState::numbered_agents(2),
        defect: Some(Defect::LateNotification),
        late_delay: Duration::from_millis(700),
        ..ServerConfig::default()
    };
    let crate::command::embedded::Embedded { target, server } =
        crate::command::embedded::Embedded::start(config, "late")
            .await
            .unwrap();
    let suite = crate::suite::builtin().unwrap();
    let cases = crate::plan::build(
        &suite,
        &crate::plan::Selection {
            filters: vec!["chat/UpdateUserData/".into()],
            ..Default::default()
        },
    );
    let ops = model::replayable(&cases, false);
    let load = LoadConfig {
        duration: Duration::from_millis(2500),
        pacing: Pacing::Concurrency(2),
        shared: 1,
        ops_per_agent: None,
        interactions_per_agent: None,
        run: RunConfig {
            deadlines: crate::run::Deadlines {
                notification: Duration::from_millis(200),
                ..Default::default()
            },
            ..RunConfig::default()
        },
        shard: None,
    };
    let report = run(target, ops, load, Default::default()).await.unwrap();
    server.shutdown().await;
    let l = report.ledger;
    assert!(l.late > 0, "{l:?}");
    // A late notification that shows the same state as a later operation's (replayed
    // updates often change nothing) cannot be told from that operation's own, so a few may
    // count as notified once; the ledger must still see most of them as late.
    assert!(
        l.notified_once < l.late,
        "notifications past their deadline are mostly taken as late: {l:?}"
    );
    assert_eq!(l.crossed, 0, "{l:?}");
    assert_eq!(
        (l.wrong, l.duplicated),
        (0, 0),
        "late notifications are not taken for later operations': {l:?}"
    );
    assert_eq!(l.late + l.lost + l.notified_once, l.operations, "{l:?}");
}
