//! Plan stage: a loaded suite → the ordered list of cases to run.
//!
//! A case is one scenario on one media, with its stable id, its starting `userData` resolved
//! (preset merged under the scenario's own), and its snapshot name. Filtering (`--filter`) and
//! sharding (`--shard K/N`) happen here, so what will run is plain data that `list` can print
//! before anything touches a network.

use crate::spec::{MediaFacts, Scenario, Suite};
use serde_json::{Map, Value};
use std::sync::Arc;

/// One scenario instantiated for one media.
#[derive(Debug, Clone)]
pub struct Case {
    /// `<media>/<operation>/<name>`, stable across runs.
    pub id: String,
    pub media: String,
    pub facts: Arc<MediaFacts>,
    pub scenario: Arc<Scenario>,
    /// The interaction's `userData` at the start.
    pub user_data: Map<String, Value>,
}

impl Case {
    /// File name stem of the pinned notification shape.
    pub fn snapshot_name(&self) -> String {
        self.id.replace('/', "__")
    }
}

/// Which cases to keep.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Substring of the id, or a glob with `*`.
    pub filters: Vec<String>,
    /// `(k, n)`: keep the k-th of n deterministic slices (1-based).
    pub shard: Option<(usize, usize)>,
    /// Keep only these media.
    pub media: Option<Vec<String>>,
}

/// The `k`-th of `n` contiguous slices of `items` (1-based), for sharding the agents of a
/// load: contiguous, so shards never share an agent (scenario shards hash ids instead).
pub fn shard_slice<T: Clone>(items: &[T], k: usize, n: usize) -> Vec<T> {
    let len = items.len();
    let from = len * (k - 1) / n;
    let to = len * k / n;
    items[from..to].to_vec()
}

/// Expands every scenario over its media, in file order, then applies the selection.
pub fn build(suite: &Suite, selection: &Selection) -> Vec<Case> {
    let facts: Vec<(String, Arc<MediaFacts>)> = suite
        .media
        .media
        .iter()
        .map(|(name, f)| (name.to_string(), Arc::new(f.clone())))
        .collect();
    let mut cases = Vec::new();
    for scenario in &suite.scenarios {
        let scenario = Arc::new(scenario.clone());
        for media in &scenario.media {
            let Some((_, f)) = facts.iter().find(|(n, _)| n == media) else {
                continue;
            };
            let mut user_data = Map::new();
            if let Some(Value::Object(preset)) = scenario
                .given
                .preset
                .as_ref()
                .and_then(|p| suite.media.presets.get(p))
            {
                user_data.extend(preset.clone());
            }
            if let Some(Value::Object(own)) = &scenario.given.user_data {
                user_data.extend(own.clone());
            }
            cases.push(Case {
                id: scenario.id_for(media),
                media: media.clone(),
                facts: Arc::clone(f),
                scenario: Arc::clone(&scenario),
                user_data,
            });
        }
    }
    cases.retain(|c| {
        selection.filters.is_empty() || selection.filters.iter().any(|f| matches_filter(f, &c.id))
    });
    if let Some(media) = &selection.media {
        cases.retain(|c| media.contains(&c.media));
    }
    if let Some((k, n)) = selection.shard {
        // Slicing by a hash of the id keeps a case in the same shard when others are added.
        cases.retain(|c| (fnv(&c.id) % n as u64) as usize == k - 1);
    }
    cases
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `*` matches any run of characters; without `*` the filter is a substring.
pub fn matches_filter(filter: &str, id: &str) -> bool {
    if !filter.contains('*') {
        return id.contains(filter);
    }
    let parts: Vec<&str> = filter.split('*').collect();
    let mut rest = id;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    rest.is_empty()
}

/// Why a `--shard` value is not `K/N` with 1 ≤ K ≤ N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("`{0}` is not K/N")]
    NotKOfN(String),
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("shard {k}/{n} is out of range: need 1 ≤ K ≤ N")]
    OutOfRange { k: usize, n: usize },
}

/// Parses `K/N` with 1 ≤ K ≤ N.
pub fn parse_shard(text: &str) -> Result<(usize, usize), ShardError> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| ShardError::NotKOfN(text.to_string()))?;
    let number = |part: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| ShardError::NotANumber(part.to_string()))
    };
    let (k, n) = (number(k)?, number(n)?);
    if n == 0 || k == 0 || k > n {
        return Err(ShardError::OutOfRange { k, n });
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert!(matches_filter("sms/", "sms/UpdateUserData/x"));
        assert!(matches_filter("*/UpdateUserData/*", "sms/UpdateUserData/x"));
        assert!(!matches_filter("voice/*", "sms/UpdateUserData/x"));
        assert!(matches_filter("sms*x", "sms/UpdateUserData/x"));
    }

    #[test]
    fn shards() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("x").is_err());
    }
}
