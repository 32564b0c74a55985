//! The media table: per-media facts every scenario is instantiated with.
//!
//! One scenario (say "update one key") runs on several media; what differs between them —
//! URL collection, resource key, channel, messageType, notificationType, where `referenceId`
//! appears, how deletes are spelled, which fields change on their own — lives here, read from
//! `specs/media.yaml`. Where the GWS documentation contradicts itself a fact is a list of
//! accepted spellings; the first one is what the reference server uses.
//!
//! This module only describes media. It does not build requests or judge notifications.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole `media.yaml` file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaTable {
    /// Keys whose values vary from run to run and are redacted in pinned snapshots.
    pub redact_keys: Vec<String>,
    /// Named lists of media, usable wherever a scenario lists media.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Named `userData` objects a scenario can start from (`given.preset`).
    #[serde(default)]
    pub presets: BTreeMap<String, serde_json::Value>,
    /// Media by fixture-contract name (`voice`, `chat`, `sms` ...), in declaration order.
    pub media: indexmap_lite::OrderedMap<MediaFacts>,
}

/// Where `referenceId` must, may or must not appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Required,
    Optional,
    Absent,
}

/// How a media type deletes user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteStyle {
    /// `DeleteUserData` takes no parameter and removes everything; `DeleteUserDataPair` takes `key`.
    All,
    /// `DeleteUserData` takes `keys`, an array of strings.
    Keys,
    /// `DeleteUserData` takes `key`, one string.
    Key,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceIdRule {
    pub response: Presence,
    pub notification: Presence,
}

/// Facts about one media type. Lists hold every documented spelling; the first is canonical.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaFacts {
    /// The feature id in `GET /api/v2/features` that must be present for the media.
    pub feature: String,
    /// URL collection segment(s) under `/api/v2/me/`.
    pub collection: Vec<String>,
    /// Property name of the interaction object in GET bodies and notifications.
    pub resource_key: Vec<String>,
    pub channel: Vec<String>,
    pub message_type: Vec<String>,
    pub notification_type: Vec<String>,
    pub reference_id: ReferenceIdRule,
    pub delete: DeleteStyle,
    /// User-data operations the media supports.
    pub operations: Vec<String>,
    /// JSON pointers (inside the interaction object) that may change without an operation.
    #[serde(default)]
    pub volatile: Vec<String>,
    /// Documented: a GET shows the interaction exactly as its notifications do (every
    /// property, not only `userData`).
    #[serde(default)]
    pub get_equals_notification: bool,
    /// The documented core of the notification, per GWS version (the first shape layer).
    #[serde(default)]
    pub documented: Vec<DocumentedShape>,
}

/// A GWS release whose documented notification shapes the suite knows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize, Serialize,
)]
pub enum GwsVersion {
    /// 8.5.0/8.5.1: voice participants are strings with `participantsInfo` beside them.
    #[serde(rename = "8.5.1")]
    V8_5_1,
    #[default]
    #[serde(rename = "8.5.2")]
    V8_5_2,
}

impl GwsVersion {
    pub const ALL: [GwsVersion; 2] = [GwsVersion::V8_5_1, GwsVersion::V8_5_2];

    pub fn as_str(self) -> &'static str {
        match self {
            GwsVersion::V8_5_1 => "8.5.1",
            GwsVersion::V8_5_2 => "8.5.2",
        }
    }
}

/// A GWS release this suite has no shapes for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown GWS version `{given}`; known: {}", GwsVersion::ALL.map(GwsVersion::as_str).join(", "))]
pub struct UnknownGwsVersion {
    pub given: String,
}

impl std::str::FromStr for GwsVersion {
    type Err = UnknownGwsVersion;
    fn from_str(s: &str) -> Result<Self, UnknownGwsVersion> {
        GwsVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownGwsVersion {
                given: s.to_string(),
            })
    }
}

impl std::fmt::Display for GwsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the GWS pages (or a real capture) show of a media's notification, and where.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedShape {
    /// The versions this shape describes; empty means every version.
    #[serde(default)]
    pub gws: Vec<GwsVersion>,
    /// The page or capture the shape comes from.
    pub basis: String,
    /// What tells this version's shape apart, named in findings when a server matches it
    /// while being certified under another version.
    #[serde(default)]
    pub signature: Option<String>,
    /// A sample notification: property names and JSON types count, values do not.
    pub shape: serde_json::Value,
}

impl DocumentedShape {
    pub fn describes(&self, version: GwsVersion) -> bool {
        self.gws.is_empty() || self.gws.contains(&version)
    }
}

impl MediaFacts {
    /// Finds the interaction object inside a GET body or notification `data`, under any
    /// accepted resource key. Returns the key used and the object.
    pub fn find_resource<'v>(
        &self,
        container: &'v serde_json::Value,
    ) -> Option<(&'v str, &'v serde_json::Value)> {
        let map = container.as_object()?;
        self.resource_key
            .iter()
            .find_map(|k| map.get_key_value(k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The documented core shape for `version`, if the table records one.
    pub fn documented_for(&self, version: GwsVersion) -> Option<&DocumentedShape> {
        self.documented.iter().find(|d| d.describes(version))
    }

    pub fn canonical_resource_key(&self) -> &str {
        &self.resource_key[0]
    }
}

/// A small insertion-ordered map, so `list` and the matrix follow the table's order.
pub mod indexmap_lite {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt;

    #[derive(Debug, Clone, Default)]
    pub struct OrderedMap<V> {
        entries: Vec<(String, V)>,
    }

    impl<V> OrderedMap<V> {
        pub fn get(&self, key: &str) -> Option<&V> {
            self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        pub fn keys(&self) -> impl Iterator<Item = &str> {
            self.entries.iter().map(|(k, _)| k.as_str())
        }
        pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
            self.entries.iter().map(|(k, v)| (k.as_str(), v))
        }
        pub fn contains_key(&self, key: &str) -> bool {
            self.get(key).is_some()
        }
        pub fn len(&self) -> usize {
            self.entries.len()
        }
        pub fn is_empty(&self) -> bool {
            self.entries.is_empty()
        }
    }

    impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V2<V>(std::marker::PhantomData<V>);
            impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
                type Value = OrderedMap<V>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a mapping")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                    let mut entries: Vec<(String, V)> = Vec::new();
                    while let Some((k, v)) = a.next_entry::<String, V>()? {
                        if entries.iter().any(|(e, _)| *e == k) {
                            return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
                        }
                        entries.push((k, v));
                    }
                    Ok(OrderedMap { entries })
                }
            }
            d.deserialize_map(V2(std::marker::PhantomData))
        }
    }

    impl<V: Serialize> Serialize for OrderedMap<V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
        }
    }
}

/// The user-data operations GWS defines, in matrix order.
pub const OPERATIONS: &[&str] = &[
    "AttachUserData",
    "UpdateUserData",
    "DeleteUserData",
    "DeleteUserDataPair",
];
