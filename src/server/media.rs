//! The reference server's own model of each media type: URLs, resource shapes, envelopes.
//!
//! This is written independently of `specs/media.yaml` on purpose: the suite checks the server
//! against the table, so a slip in either shows up as a failure instead of being shared.
//! Where the documentation offers several spellings this server picks one (see media.yaml for
//! the alternatives the suite also accepts).

use serde_json::{Map, Value, json};

/// How deletes are spelled for a media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteParam {
    /// Voice: DeleteUserData removes everything, DeleteUserDataPair takes `key`.
    All,
    Keys,
    Key,
}

#[derive(Debug)]
pub struct ServerMedia {
    /// The fixture-contract name.
    pub name: &'static str,
    pub feature: &'static str,
    /// Path under `/api/v2/me/` (openmedia adds its media type).
    pub collection: &'static str,
    pub resource_key: &'static str,
    pub channel: &'static str,
    pub message_type: &'static str,
    pub notification_type: &'static str,
    pub reference_id_in_notification: bool,
    pub reference_id_in_response: bool,
    pub delete: DeleteParam,
    pub capabilities: &'static [&'static str],
    id_prefix: &'static str,
}

const CHAT_CAPS: &[&str] = &[
    "Transfer",
    "Leave",
    "Invite",
    "Consult",
    "SetInFocus",
    "SetDisposition",
    "AttachUserData",
    "DeleteUserData",
    "UpdateUserData",
    "Complete",
    "SendMessage",
    "SendStartTypingNotification",
    "SendStopTypingNotification",
];
const ITEM_CAPS: &[&str] = &[
    "Transfer",
    "AttachUserData",
    "UpdateUserData",
    "DeleteUserData",
    "SetInFocus",
    "Complete",
];

pub static MEDIA: &[ServerMedia] = &[
    ServerMedia {
        name: "voice",
        feature: "api-voice",
        collection: "calls",
        resource_key: "call",
        channel: "/v2/me/calls",
        message_type: "CallStateChangeMessage",
        notification_type: "AttachedDataChanged",
        reference_id_in_notification: false,
        reference_id_in_response: false,
        delete: DeleteParam::All,
        capabilities: &[
            "UpdateUserData",
            "SendDtmf",
            "AttachUserData",
            "DeleteUserDataPair",
            "DeleteUserData",
            "Hangup",
        ],
        id_prefix: "01RCC3N118B1V0SL8O7GK2",
    },
    ServerMedia {
        name: "chat",
        feature: "api-multimedia",
        collection: "chats",
        resource_key: "chat",
        channel: "/v2/me/chats",
        message_type: "ChatStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: false,
        delete: DeleteParam::Keys,
        capabilities: CHAT_CAPS,
        id_prefix: "0000Wa9CAM6W",
    },
    ServerMedia {
        name: "sms",
        feature: "api-multimedia",
        collection: "smssessions",
        resource_key: "smssession",
        channel: "/v2/me/smssessions",
        message_type: "SMSsessionStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: false,
        delete: DeleteParam::Keys,
        capabilities: CHAT_CAPS,
        id_prefix: "0000Wa9CSMS0",
    },
    ServerMedia {
        name: "email",
        feature: "api-multimedia",
        collection: "emails",
        resource_key: "email",
        channel: "/v2/me/emails",
        message_type: "EmailStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: false,
        delete: DeleteParam::Keys,
        capabilities: &[
            "Transfer",
            "Reply",
            "ReplyAll",
            "AddComment",
            "AttachUserData",
            "UpdateUserData",
            "DeleteUserData",
            "SetDisposition",
            "SetInFocus",
            "Complete",
        ],
        id_prefix: "0001EM7D2Q",
    },
    ServerMedia {
        name: "openmedia",
        feature: "api-multimedia",
        collection: "openmedia",
        resource_key: "openmedia",
        channel: "/v2/me/openmedia",
        message_type: "OpenmediaStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: true,
        delete: DeleteParam::Keys,
        capabilities: ITEM_CAPS,
        id_prefix: "03W07R2K4V",
    },
    ServerMedia {
        name: "workitem",
        feature: "api-multimedia",
        collection: "workitems",
        resource_key: "workitem",
        channel: "/v2/me/workitems",
        message_type: "WorkitemStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: true,
        delete: DeleteParam::Keys,
        capabilities: ITEM_CAPS,
        id_prefix: "03W07R2WKI",
    },
    ServerMedia {
        name: "im",
        feature: "api-voice-instant-messaging",
        collection: "im-sessions",
        resource_key: "imSession",
        channel: "/v2/me/im-sessions",
        message_type: "IMSessionStateChangeMessage",
        notification_type: "AttachedDataChanged",
        reference_id_in_notification: false,
        reference_id_in_response: false,
        delete: DeleteParam::Key,
        capabilities: &[
            "Complete",
            "AttachUserData",
            "DeleteUserData",
            "UpdateUserData",
            "SendMessage",
        ],
        id_prefix: "1239812309182",
    },
    ServerMedia {
        name: "facebook-pm",
        feature: "api-multimedia",
        collection: "facebooksessions",
        resource_key: "facebooksession",
        channel: "/v2/me/facebooksession",
        message_type: "FacebooksessionStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: false,
        delete: DeleteParam::Keys,
        capabilities: &[
            "Transfer",
            "Leave",
            "SetInFocus",
            "AttachUserData",
            "UpdateUserData",
            "DeleteUserData",
            "Complete",
            "SendMessage",
        ],
        id_prefix: "0000FBPM3X",
    },
    ServerMedia {
        name: "twitter",
        feature: "api-multimedia",
        collection: "twitter",
        resource_key: "twitter",
        channel: "/v2/me/twitter",
        message_type: "TwitterStateChangeMessage",
        notification_type: "PropertiesUpdated",
        reference_id_in_notification: true,
        reference_id_in_response: true,
        delete: DeleteParam::Keys,
        capabilities: &[
            "Transfer",
            "Reply",
            "AttachUserData",
            "UpdateUserData",
            "DeleteUserData",
            "SetInFocus",
            "Complete",
        ],
        id_prefix: "01QQQG2MU2",
    },
];

pub fn by_name(name: &str) -> Option<&'static ServerMedia> {
    MEDIA.iter().find(|m| m.name == name)
}

pub fn by_collection(collection: &str) -> Option<&'static ServerMedia> {
    MEDIA
        .iter()
        .find(|m| m.collection == collection && m.name != "openmedia")
}

impl ServerMedia {
    pub fn new_id(&self, serial: u64) -> String {
        format!("{}{:0>10}", self.id_prefix, to_base36(serial))
    }

    /// The interaction path under the API root, e.g. `/api/v2/me/chats/{id}`.
    pub fn api_path(&self, open_media_type: &str, id: &str) -> String {
        if self.name == "openmedia" {
            format!("/api/v2/me/openmedia/{open_media_type}/{id}")
        } else {
            format!("/api/v2/me/{}/{id}", self.collection)
        }
    }

    /// Builds the interaction object as GET and notifications show it.
    pub fn resource(
        &self,
        base: &str,
        id: &str,
        open_media_type: &str,
        user_data: &Map<String, Value>,
        age_secs: u64,
    ) -> Value {
        let mut r = match self.name {
            "voice" => json!({
                "id": id,
                "state": "Dialing",
                "callUuid": id,
                "connId": format!("0071027198{:06x}", fold(id) & 0xff_ffff),
                "deviceUri": format!("{base}/api/v2/devices/631608b3-ceb1-472b-ba05-2ae39555b0d1"),
                "participants": [{"e164Number": "", "formattedPhoneNumber": "15001", "phoneNumber": "15001", "digits": "15001"}],
                "dnis": "15001",
                "callType": "Internal",
                "capabilities": self.capabilities,
                "duration": age_secs.to_string(),
                "mute": "Off",
                "supervisorListeningIn": false,
                "monitoredUserMuted": false,
                "monitoring": false,
                "uri": format!("{base}/api/v2/me/calls/{id}"),
                "path": format!("/calls/{id}"),
            }),
            "chat" | "sms" | "facebook-pm" => json!({
                "state": "Chatting",
                "capabilities": self.capabilities,
                "uri": format!("{base}/api/v2/{}/{id}", self.collection),
                "participants": [
                    {"nickname": "Customer", "type": "Customer", "participantId": "007352CE982D031B"},
                    {"nickname": "Agent", "type": "Agent", "participantId": "007352CE984F0321"},
                ],
                "id": id,
            }),
            "email" => json!({
                "id": id,
                "state": "Processing",
                "uri": format!("{base}/api/v2/emails/{id}"),
                "from": "customer@example.com",
                "to": ["support@example.com"],
                "subject": "Customer support",
                "capabilities": self.capabilities,
            }),
            "openmedia" => json!({
                "receivedDate": "2014-03-26 16:02:22.000+0200",
                "uri": format!("{base}/api/v2/openmedia/{open_media_type}/{id}"),
                "capabilities": self.capabilities,
                "state": "Processing",
                "mediaType": open_media_type,
                "openmediaType": "Inbound",
                "id": id,
            }),
            "workitem" | "twitter" => json!({
                "receivedDate": "2014-03-26 16:02:22.000+0200",
                "uri": format!("{base}/api/v2/{}/{id}", self.collection),
                "capabilities": self.capabilities,
                "state": "Processing",
                "id": id,
            }),
            _ => json!({
                "state": "Talking",
                "id": id,
                "uri": format!("{base}/api/v2/me/im-sessions/{id}"),
                "path": format!("/im-sessions/{id}"),
                "participants": [{"id": "agent2", "type": "Agent"}],
                "capabilities": self.capabilities,
            }),
        };
        // Voice drops the property when nothing is attached (documented for DeleteUserData);
        // the other media always carry the object.
        if self.name != "voice" || !user_data.is_empty() {
            r["userData"] = Value::Object(user_data.clone());
        }
        r
    }
}

impl ServerMedia {
    /// Rewrites a call into the GWS 8.5.0/8.5.1 form seen in a real capture: participants are
    /// phone-number strings with the details in `participantsInfo`, there is no `connId`,
    /// `path` or monitoring flags, and `callUuid` differs from `id`. Other media are unchanged.
    pub fn as_gws_8_5_1(&self, resource: &mut Value) {
        if self.name != "voice" {
            return;
        }
        let Some(call) = resource.as_object_mut() else {
            return;
        };
        let participants = call
            .remove("participants")
            .and_then(|p| p.as_array().cloned())
            .unwrap_or_default();
        let numbers: Vec<Value> = participants
            .iter()
            .map(|p| p.get("phoneNumber").cloned().unwrap_or(Value::Null))
            .collect();
        let info: Vec<Value> = participants
            .iter()
            .map(|p| {
                json!({
                    "digits": p.get("digits"),
                    "e164Number": p.get("e164Number"),
                    "formattedPhoneNumber": p.get("formattedPhoneNumber"),
                })
            })
            .collect();
        for gone in [
            "connId",
            "path",
            "supervisorListeningIn",
            "monitoredUserMuted",
            "monitoring",
        ] {
            call.remove(gone);
        }
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            let uuid = format!("00QEAG4KU4A5P78IG2DAHG{:010X}", fold(id) & 0xff_ffff_ffff);
            call.insert("callUuid".into(), Value::String(uuid));
        }
        call.insert("participants".into(), Value::Array(numbers));
        call.insert("participantsInfo".into(), Value::Array(info));
    }
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// FNV-1a: a stable hash for ids derived from names.
pub(crate) fn fold(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
