//! The format's vocabulary: the keys each mapping of a scenario file has (and which are
//! required), and the keywords each keyword-valued key accepts.
//!
//! `model.rs` declares the same things through serde and schemars for the JSON Schema
//! (`specs/scenario.schema.json`); the tests here compare the two, so neither can change
//! alone. What the keys mean, and how their values are read, is the conversion's
//! (`reader.rs`).

use crate::spec::convert::Keys;

/// The keys of each mapping in the format. `model.rs` declares the same keys through serde for
/// the JSON Schema; a test keeps the two equal.
pub(super) mod keys {
    use super::Keys;

    /// A scenario file.
    pub const FILE: Keys = Keys {
        allowed: &["scenarios"],
        required: &["scenarios"],
    };
    pub const SCENARIO: Keys = Keys {
        allowed: &[
            "name",
            "operation",
            "media",
            "level",
            "description",
            "given",
            "request",
            "then",
            "send",
            "expect",
        ],
        required: &["name", "operation", "media", "expect"],
    };
    pub const GIVEN: Keys = Keys {
        allowed: &["preset", "userData"],
        required: &[],
    };
    pub const SEND: Keys = Keys {
        allowed: &[
            "as",
            "auth",
            "csrf",
            "cookie",
            "interaction",
            "raw_body",
            "method",
            "watch_all_agents",
            "concurrently",
            "listener",
        ],
        required: &[],
    };
    pub const EXPECT: Keys = Keys {
        allowed: &[
            "response",
            "notification",
            "unchanged",
            "undisclosed",
            "listener",
            "snapshot",
            "should",
            "refusal",
        ],
        required: &["notification"],
    };
    /// `expect.should`.
    pub const SHOULD: Keys = Keys {
        allowed: &["response"],
        required: &["response"],
    };
    /// `expect.response` and `expect.should.response`.
    pub const RESPONSE: Keys = Keys {
        allowed: &["status", "body"],
        required: &[],
    };
    /// `expect.notification` when it is not `none`.
    pub const NOTIFICATION: Keys = Keys {
        allowed: &["diff", "envelope", "resource"],
        required: &["diff"],
    };
    /// One operation of `expect.notification.diff`.
    pub const PATCH: Keys = Keys {
        allowed: &["op", "path", "value", "each"],
        required: &["op", "path"],
    };
}

/// The keywords each keyword-valued key accepts; like [`keys`], checked against the schema.
pub(super) mod words {
    use crate::spec::model::{
        AgentRole, AuthMode, CookieMode, CsrfMode, InteractionRef, Level, ListenerExpectation,
        ListenerMode, PatchOp, Refusal, SendMethod,
    };

    pub const LEVEL: &[(&str, Level)] = &[
        ("must", Level::Must),
        ("should", Level::Should),
        ("may", Level::May),
    ];
    /// `send.as`.
    pub const AGENT: &[(&str, AgentRole)] =
        &[("first", AgentRole::First), ("second", AgentRole::Second)];
    pub const AUTH: &[(&str, AuthMode)] = &[
        ("agent", AuthMode::Agent),
        ("none", AuthMode::None),
        ("wrong-password", AuthMode::WrongPassword),
        ("empty-password", AuthMode::EmptyPassword),
    ];
    pub const CSRF: &[(&str, CsrfMode)] = &[
        ("send", CsrfMode::Send),
        ("omit", CsrfMode::Omit),
        ("other-agent", CsrfMode::OtherAgent),
    ];
    /// `send.cookie`.
    pub const COOKIE: &[(&str, CookieMode)] = &[
        ("own", CookieMode::Own),
        ("none", CookieMode::None),
        ("forged", CookieMode::Forged),
        ("other-agent", CookieMode::OtherAgent),
        ("planted", CookieMode::Planted),
        ("logged-out", CookieMode::LoggedOut),
    ];
    pub const INTERACTION: &[(&str, InteractionRef)] = &[
        ("own", InteractionRef::Own),
        ("unknown", InteractionRef::Unknown),
        ("other-media", InteractionRef::OtherMedia),
    ];
    /// `send.listener`.
    pub const LISTENER: &[(&str, ListenerMode)] = &[
        ("anonymous", ListenerMode::Anonymous),
        ("wrong-password", ListenerMode::WrongPassword),
        ("foreign-client-id", ListenerMode::ForeignClientId),
        ("other-channels", ListenerMode::OtherChannels),
        ("protocol", ListenerMode::Protocol),
        ("publisher", ListenerMode::Publisher),
    ];
    /// `expect.listener`.
    pub const LISTENER_EXPECTATION: &[(&str, ListenerExpectation)] = &[
        ("silent", ListenerExpectation::Silent),
        ("refused", ListenerExpectation::Refused),
        ("conformant", ListenerExpectation::Conformant),
    ];
    /// `expect.refusal`.
    pub const REFUSAL: &[(&str, Refusal)] = &[
        ("required", Refusal::Required),
        ("allowed", Refusal::Allowed),
    ];
    pub const METHOD: &[(&str, SendMethod)] = &[
        ("post", SendMethod::Post),
        ("get", SendMethod::Get),
        ("put", SendMethod::Put),
        ("delete", SendMethod::Delete),
    ];
    pub const PATCH_OP: &[(&str, PatchOp)] = &[
        ("add", PatchOp::Add),
        ("remove", PatchOp::Remove),
        ("replace", PatchOp::Replace),
    ];
    /// `expect.notification: none` (its other form is a mapping).
    pub const NONE: &str = "none";
}

/// The loader's tables against the JSON Schema derived from `model.rs`: the format is written
/// down twice (serde attributes for the schema, tables here for the located loader), so these
/// tests fail as soon as one changes without the other.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::ScenarioFile;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn schema() -> Value {
        serde_json::to_value(schemars::schema_for!(ScenarioFile)).expect("the schema is JSON")
    }

    /// The schema object of a definition; the root is `ScenarioFile`.
    fn definition<'s>(schema: &'s Value, name: &str) -> &'s Value {
        if name == "ScenarioFile" {
            return schema;
        }
        schema["$defs"]
            .get(name)
            .unwrap_or_else(|| panic!("the schema has no definition `{name}`"))
    }

    fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        items.into_iter().map(str::to_string).collect()
    }

    /// Every mapping of the format, by its schema definition name.
    const OBJECTS: &[(&str, Keys)] = &[
        ("ScenarioFile", keys::FILE),
        ("Scenario", keys::SCENARIO),
        ("Given", keys::GIVEN),
        ("Send", keys::SEND),
        ("Expectation", keys::EXPECT),
        ("ShouldExpectation", keys::SHOULD),
        ("ResponseExpectation", keys::RESPONSE),
        ("NotificationSpec", keys::NOTIFICATION),
        ("PatchExpectation", keys::PATCH),
    ];

    #[test]
    fn the_loader_accepts_exactly_the_keys_the_schema_declares() {
        let schema = schema();
        for (name, keys) in OBJECTS {
            let def = definition(&schema, name);
            let declared = set(def["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("`{name}` has no properties"))
                .keys()
                .map(String::as_str));
            assert_eq!(
                set(keys.allowed.iter().copied()),
                declared,
                "keys of `{name}`"
            );
            let required = set(def["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                .unwrap_or_default());
            assert_eq!(
                set(keys.required.iter().copied()),
                required,
                "required keys of `{name}`"
            );
            assert_eq!(
                def["additionalProperties"],
                Value::Bool(false),
                "`{name}` is closed"
            );
        }
        // A new mapping in the model needs a table here (and a conversion) too.
        let checked = set(OBJECTS.iter().map(|(n, _)| *n));
        for (name, def) in schema["$defs"].as_object().expect("$defs") {
            if def.get("properties").is_some() {
                assert!(
                    checked.contains(name),
                    "the loader has no key table for `{name}`"
                );
            }
        }
    }

    /// The strings an enum definition allows, whether schemars wrote `enum` or `oneOf` consts.
    fn allowed_words(def: &Value) -> BTreeSet<String> {
        if let Some(list) = def["enum"].as_array() {
            return set(list.iter().filter_map(Value::as_str));
        }
        let variants = def["oneOf"].as_array().expect("an enum or oneOf");
        set(variants.iter().filter_map(|v| v["const"].as_str()))
    }

    fn words<T>(table: &[(&'static str, T)]) -> BTreeSet<String> {
        set(table.iter().map(|(w, _)| *w))
    }

    #[test]
    fn the_loader_accepts_exactly_the_keywords_the_schema_declares() {
        let schema = schema();
        for (name, accepted) in [
            ("Level", words(words::LEVEL)),
            ("AgentRole", words(words::AGENT)),
            ("AuthMode", words(words::AUTH)),
            ("CsrfMode", words(words::CSRF)),
            ("CookieMode", words(words::COOKIE)),
            ("InteractionRef", words(words::INTERACTION)),
            ("SendMethod", words(words::METHOD)),
            ("PatchOp", words(words::PATCH_OP)),
            ("Refusal", words(words::REFUSAL)),
            ("NoneKeyword", set([words::NONE])),
        ] {
            assert_eq!(
                accepted,
                allowed_words(definition(&schema, name)),
                "keywords of `{name}`"
            );
        }
    }
}
