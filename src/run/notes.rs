//! What the run saw outside any scenario (`RunNotes`) and what happened to a notification
//! stream (`StreamNote`). Data only: the runner fills them, the orchestrator and reports read
//! them.

use serde_json::Value;

/// Something that happened to one agent's notification stream during the run.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamNote {
    pub agent: String,
    pub change: StreamChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamChange {
    /// The stream ended for good, with the reason.
    Closed(String),
    /// The server forgot the client, which handshook again: notifications may have been lost.
    Rehandshook,
}

/// What the run saw outside any scenario.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunNotes {
    /// Notifications about a scenario's interaction that arrived after the scenario ended
    /// (after its barrier): `(scenario id, message)`.
    #[serde(default)]
    pub late_notifications: Vec<(String, Value)>,
    /// Notifications about interactions no scenario used.
    pub unclaimed_notifications: Vec<Value>,
    /// Notification streams that ended during the run, with the reason.
    pub closed_streams: Vec<String>,
    /// Streams the server forgot, so that they re-handshook: notifications may have been lost.
    #[serde(default)]
    pub rehandshakes: Vec<String>,
    /// Interactions the run created and could not end: they may remain on the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_behind: Vec<String>,
}

impl RunNotes {
    /// Adds another run's notes to these (shards merged into one run).
    pub fn absorb(&mut self, other: RunNotes) {
        self.late_notifications.extend(other.late_notifications);
        self.unclaimed_notifications
            .extend(other.unclaimed_notifications);
        self.closed_streams.extend(other.closed_streams);
        self.rehandshakes.extend(other.rehandshakes);
        self.left_behind.extend(other.left_behind);
    }
}
