//! `specs/profiles.yaml`'s types: certification profiles, each naming the media it covers.
//!
//! They are read with the suite (`assemble.rs`); what a profile's results add up to is
//! `crate::verdict`'s, not this module's.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `specs/profiles.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    /// Media names or groups from the media table.
    pub media: MediaList,
    /// Whether a `flaky` scenario (failed, then passed on a retry) counts as passed. By
    /// default it does not: it blocks certification.
    #[serde(default)]
    pub flaky_counts_as_passed: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum MediaList {
    One(String),
    Many(Vec<String>),
}

impl MediaList {
    pub fn names(&self) -> Vec<String> {
        match self {
            MediaList::One(s) => vec![s.clone()],
            MediaList::Many(v) => v.clone(),
        }
    }
}
