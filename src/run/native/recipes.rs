//! The table of native media: one row per media saying what it needs from `fixtures.native`,
//! its channel and collection, how it is created and how it is ended, and the questions asked
//! of the table (which media, why one is unavailable, which channels an agent works on).
//!
//! It is data and pure functions over the target file; it sends nothing (`native.rs` does).

use crate::run::target::Native;

/// A `fixtures.native` key a recipe needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Dial,
    QueueUri,
    QueuePath,
    OpenmediaType,
    Im,
    Chat,
}

impl Key {
    /// Its name under `fixtures.native`.
    pub fn name(self) -> &'static str {
        match self {
            Key::Dial => "dial",
            Key::QueueUri => "queue_uri",
            Key::QueuePath => "queue_path",
            Key::OpenmediaType => "openmedia_type",
            Key::Im => "im",
            Key::Chat => "chat",
        }
    }

    /// What the value is, for the message that says it is missing.
    fn what(self) -> &'static str {
        match self {
            Key::Dial => "the number each agent dials",
            Key::QueueUri => "the queue interactions are created into",
            Key::QueuePath => "the queue tweets are created into",
            Key::OpenmediaType => "the open-media type to create",
            Key::Im => "the number an IM session is initiated to",
            Key::Chat => "the Customer Chat API chats are requested through",
        }
    }

    pub(super) fn value(self, native: &Native) -> Option<&str> {
        match self {
            Key::Dial => native.dial.as_deref(),
            Key::QueueUri => native.queue_uri.as_deref(),
            Key::QueuePath => native.queue_path.as_deref(),
            Key::OpenmediaType => native.openmedia_type.as_deref(),
            Key::Im => native.im.as_deref(),
            Key::Chat => native.chat.as_ref().map(|c| c.customer_api.as_str()),
        }
    }
}

/// How a recipe creates an interaction.
#[derive(Debug, Clone, Copy)]
pub(super) enum Creation {
    /// `Dial` from the agent's device to `fixtures.native.dial`.
    Dial,
    /// `Create` in the agent's collection, into the queue `key` names, sent as `param`.
    Create { param: &'static str, key: Key },
    /// `InitiateIMSession` to `fixtures.native.im`.
    InitiateIm,
    /// `RequestChat` as a customer, then the agent's `Accept` of the offered chat.
    RequestChat,
    /// Routed in by the deployment, accepted once and reused (`inbound.rs`).
    Inbound,
}

/// What the documented API offers to create one media's interactions: one row per media.
pub(super) struct Recipe {
    pub(super) media: &'static str,
    /// The `fixtures.native` keys it needs, in the order a missing one is reported.
    pub(super) needs: &'static [Key],
    /// The contact-center channel it works on (`StartContactCenterSession`, `Ready`).
    pub(super) channel: fn(&Native) -> String,
    /// The collection under `/api/v2/me/` its interactions live in.
    pub(super) collection: fn(&Native) -> String,
    /// Channels the creating notification may arrive on.
    pub(super) notified_on: &'static [&'static str],
    pub(super) creation: Creation,
    /// The creating request documents `userData`.
    pub(super) takes_user_data: bool,
    /// Ending operations in order of preference; the first the capabilities list is used.
    pub(super) endings: &'static [&'static str],
    /// Routing offers it: only the first agent is made Ready on its channel.
    pub(super) routed: bool,
}

/// The open-media type `fixtures.native.openmedia_type` names: both its channel and the last
/// segment of its collection.
pub(super) fn openmedia_type(native: &Native) -> String {
    native
        .openmedia_type
        .clone()
        .unwrap_or_else(|| "openmedia".into())
}

pub(super) const RECIPES: &[Recipe] = &[
    Recipe {
        media: "voice",
        needs: &[Key::Dial],
        channel: |_| "voice".into(),
        collection: |_| "calls".into(),
        notified_on: &["/v2/me/calls"],
        creation: Creation::Dial,
        takes_user_data: true,
        endings: &["Hangup"],
        routed: false,
    },
    Recipe {
        media: "email",
        needs: &[Key::QueueUri],
        channel: |_| "email".into(),
        collection: |_| "emails".into(),
        notified_on: &["/v2/me/emails"],
        creation: Creation::Create {
            param: "queueUri",
            key: Key::QueueUri,
        },
        takes_user_data: true,
        endings: &["Cancel", "Complete"],
        routed: false,
    },
    Recipe {
        media: "openmedia",
        needs: &[Key::QueueUri, Key::OpenmediaType],
        channel: openmedia_type,
        collection: |native| format!("openmedia/{}", openmedia_type(native)),
        notified_on: &["/v2/me/openmedia"],
        creation: Creation::Create {
            param: "queueUri",
            key: Key::QueueUri,
        },
        takes_user_data: false,
        endings: &["Complete", "Cancel"],
        routed: false,
    },
    Recipe {
        media: "workitem",
        needs: &[Key::QueueUri],
        channel: |_| "workitem".into(),
        collection: |_| "workitems".into(),
        notified_on: &["/v2/me/workitems"],
        creation: Creation::Create {
            param: "queueUri",
            key: Key::QueueUri,
        },
        takes_user_data: false,
        endings: &["Complete", "Cancel"],
        routed: false,
    },
    Recipe {
        media: "twitter",
        needs: &[Key::QueuePath],
        channel: |_| "twitter".into(),
        collection: |_| "twitter".into(),
        notified_on: &["/v2/me/twitter"],
        creation: Creation::Create {
            param: "queuePath",
            key: Key::QueuePath,
        },
        takes_user_data: false,
        endings: &["Cancel", "Complete"],
        routed: false,
    },
    Recipe {
        media: "im",
        needs: &[Key::Im],
        channel: |_| "im".into(),
        collection: |_| "im-sessions".into(),
        notified_on: &["/v2/me/im-sessions"],
        creation: Creation::InitiateIm,
        takes_user_data: false,
        endings: &["Complete"],
        routed: false,
    },
    Recipe {
        media: "chat",
        needs: &[Key::Chat],
        channel: |_| "chat".into(),
        collection: |_| "chats".into(),
        notified_on: &["/v2/me/chats"],
        creation: Creation::RequestChat,
        takes_user_data: true,
        endings: &["Complete", "Leave"],
        routed: true,
    },
    Recipe {
        media: "sms",
        needs: &[],
        channel: |_| "sms".into(),
        collection: |_| "smssessions".into(),
        notified_on: &["/v2/me/smssessions", "/v2/me/smsessions"],
        creation: Creation::Inbound,
        takes_user_data: false,
        endings: &["Complete", "Leave"],
        routed: true,
    },
    Recipe {
        media: "facebook-pm",
        needs: &[],
        channel: |_| "facebook-pm".into(),
        collection: |_| "facebooksessions".into(),
        notified_on: &["/v2/me/facebooksession", "/v2/me/facebooksessions"],
        creation: Creation::Inbound,
        takes_user_data: false,
        endings: &["Complete", "Leave"],
        routed: true,
    },
];

/// The reason given for media no documented operation creates.
pub const NO_DOCUMENTED_CREATE: &str =
    "no documented operation creates one; use fixtures.url or fixtures.exec";

/// The media `fixtures.native.media` may name, in the table's order.
pub fn native_media() -> impl Iterator<Item = &'static str> {
    RECIPES.iter().map(|r| r.media)
}

/// Why a media cannot be provisioned natively with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("{}", NO_DOCUMENTED_CREATE)]
    NoDocumentedCreate,
    #[error(
        "no {media} was offered to the first agent within fixtures.native.inbound_wait ({wait})"
    )]
    NeverOffered { media: String, wait: String },
    #[error("the offered interaction could not be taken: {0}")]
    InboundFailed(String),
    #[error("the run did not wait for it to be offered (fixtures.native.inbound)")]
    NotAwaited,
    #[error("a routed inbound interaction is reused one scenario at a time, so load leaves it out")]
    ReusedOnly,
    #[error("routing offers it only to the first agent, the one made Ready on its channel")]
    RoutedToFirstAgent,
    #[error("{media} is not in fixtures.native.media")]
    NotListed { media: String },
    #[error("fixtures.native.{} is not set ({})", key.name(), key.what())]
    Missing { key: Key },
    #[error("unknown media `{0}`")]
    UnknownMedia(String),
}

/// A media the barrier of `media` may use on the same agent's stream: routed media cannot be
/// had twice, so their barrier runs on the first media created on demand.
pub fn barrier_media<'a>(native: &Native, media: &'a str) -> &'a str {
    match recipe(native, media) {
        Ok(r) if r.routed => RECIPES
            .iter()
            .find(|other| !other.routed && recipe(native, other.media).is_ok())
            .map_or(media, |other| other.media),
        _ => media,
    }
}

/// Whether routing offers `media` only to the first agent (the one made Ready on its channel).
pub fn first_agent_only(native: &Native, media: &str) -> bool {
    recipe(native, media).is_ok_and(|r| r.routed)
}

/// Why `media` cannot be provisioned natively with this configuration, if it cannot.
pub fn unavailable(native: &Native, media: &str) -> Option<Unavailable> {
    recipe(native, media).err()
}

/// The row that provisions `media` with this configuration, or why there is none.
pub(super) fn recipe(native: &Native, media: &str) -> Result<&'static Recipe, Unavailable> {
    let Some(recipe) = RECIPES.iter().find(|r| r.media == media) else {
        return Err(Unavailable::UnknownMedia(media.to_string()));
    };
    if matches!(recipe.creation, Creation::Inbound) && !native.inbound.iter().any(|m| m == media) {
        return Err(Unavailable::NoDocumentedCreate);
    }
    let listed = native
        .media
        .as_ref()
        .is_none_or(|list| list.iter().any(|m| m == media));
    if !listed {
        return Err(Unavailable::NotListed {
            media: media.to_string(),
        });
    }
    match recipe.needs.iter().find(|k| k.value(native).is_none()) {
        Some(key) => Err(Unavailable::Missing { key: *key }),
        None => Ok(recipe),
    }
}

/// The channels `agent` works on: every media the target provisions natively, except that
/// routing offers to whoever is Ready, so only the first agent takes routed media.
pub(super) fn agent_channels(native: &Native, agent: usize) -> Vec<String> {
    RECIPES
        .iter()
        .filter(|r| recipe(native, r.media).is_ok() && (agent == 0 || !r.routed))
        .map(|r| (r.channel)(native))
        .collect()
}

/// The channels `agent` is made `Ready` on when prepared: Ready on an inbound channel has a
/// waiting customer's interaction offered, so only the run's wait for it (`inbound.rs`) makes
/// the agent Ready there.
pub(super) fn ready_channels(native: &Native, agent: usize) -> Vec<String> {
    RECIPES
        .iter()
        .filter(|r| recipe(native, r.media).is_ok() && (agent == 0 || !r.routed))
        .filter(|r| !matches!(r.creation, Creation::Inbound))
        .map(|r| (r.channel)(native))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_native_media_is_one_row_and_says_what_it_lacks() {
        assert_eq!(
            native_media().collect::<Vec<_>>(),
            [
                "voice",
                "email",
                "openmedia",
                "workitem",
                "twitter",
                "im",
                "chat",
                "sms",
                "facebook-pm"
            ]
        );
        let inbound = Native {
            inbound: vec!["sms".into()],
            ..Native::default()
        };
        assert!(first_agent_only(&inbound, "sms"));
        assert_eq!(
            unavailable(&inbound, "facebook-pm")
                .map(|u| u.to_string())
                .as_deref(),
            Some(NO_DOCUMENTED_CREATE),
            "an inbound media is native only when listed"
        );
        let none = Native::default();
        let why = |native: &Native, media: &str| unavailable(native, media).map(|u| u.to_string());
        assert_eq!(
            why(&none, "voice").as_deref(),
            Some("fixtures.native.dial is not set (the number each agent dials)")
        );
        let queue = Native {
            queue_uri: Some("/api/v2/queues/q".into()),
            media: Some(vec!["openmedia".into(), "email".into()]),
            ..Native::default()
        };
        assert_eq!(
            why(&queue, "openmedia").as_deref(),
            Some("fixtures.native.openmedia_type is not set (the open-media type to create)")
        );
        assert_eq!(why(&queue, "email"), None);
        assert_eq!(
            why(&queue, "workitem").as_deref(),
            Some("workitem is not in fixtures.native.media")
        );
        assert_eq!(why(&queue, "sms").as_deref(), Some(NO_DOCUMENTED_CREATE));
        assert_eq!(
            why(&queue, "pigeon").as_deref(),
            Some("unknown media `pigeon`")
        );
        let typed = Native {
            openmedia_type: Some("promotion".into()),
            ..queue
        };
        let row = recipe(&typed, "openmedia").expect("a row");
        assert_eq!((row.channel)(&typed), "promotion");
        assert_eq!((row.collection)(&typed), "openmedia/promotion");
    }
}
