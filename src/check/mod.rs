//! Check stage: an observation and its scenario → findings and a grade.
//!
//! Pure functions only: no IO, no clocks, no async. Every failed expectation becomes a
//! [`Finding`](crate::result::Finding) carrying expected and actual values; nothing here returns `Err`. The
//! notification diff is computed with RFC 6902 (`json-patch`) between the interaction read
//! before the request and the interaction inside the notification, minus the media's volatile
//! fields, and compared with the scenario's expected operations through matchers.

mod bayeux;
#[cfg(test)]
mod edge_tests;
mod evaluate;
mod listener;
mod load;
mod notification;
#[cfg(test)]
mod parts_tests;
mod provisioning;
mod refusal;
mod response;
mod shape;
pub mod snapshot;
mod state;
#[cfg(test)]
mod tests;
mod text;

pub use evaluate::{Checker, FIXTURES_NEEDED, Pinned, evaluate, late_notification, own_snapshot};
pub use load::{
    GroupObservation, GroupOperation, GroupVerdict, Leftover, LoadFact, LoadMark, Scope,
    after_final_barriers, judge_leftover, load_group, load_operation, load_read_your_writes,
    operation_accepted, same_user_data, unclaimed_notifications, unexplained_notification,
    user_data_of,
};
pub use shape::redact;
pub use state::interaction_diff;
