//! What `load` sends and what it must produce: the suite's positive scenarios that can be
//! replayed on a long-lived interaction, and the documented meaning of the four user-data
//! operations as a state transition (attach and update merge, deletes remove keys or
//! everything, per the media's delete style).
//!
//! It is written from the documentation and the scenario format, not from the reference
//! server, so that a mistake in either shows up as a `wrong` operation. It does no IO and does
//! not judge notifications (`check::load_operation` does).

use crate::plan::Case;
use crate::spec::{
    AgentRole, AuthMode, CookieMode, CsrfMode, DeleteStyle, InteractionRef, SendMethod,
};
use serde_json::{Map, Value};

/// Requests larger than this are left out: load measures delivery, not payload size, and large
/// generated values would make the per-operation state copies dominate the run.
const MAX_REQUEST_BYTES: usize = 2048;

/// The change one operation makes to an interaction's user data.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Attach or update: every pair is written (existing keys overwritten).
    Merge(Map<String, Value>),
    /// These keys are removed (absent ones are no change).
    DeleteKeys(Vec<String>),
    /// Every key is removed.
    DeleteAll,
}

impl Effect {
    /// The effect of `request` on an interaction of a media with `style` of deletion; `None`
    /// when the request is not a user-data operation this model knows.
    pub fn of(request: &Value, style: DeleteStyle) -> Option<Effect> {
        let obj = request.as_object()?;
        let key = || obj.get("key").and_then(Value::as_str).map(str::to_string);
        match obj.get("operationName")?.as_str()? {
            "AttachUserData" | "UpdateUserData" => {
                Some(Effect::Merge(obj.get("userData")?.as_object()?.clone()))
            }
            "DeleteUserDataPair" => Some(Effect::DeleteKeys(vec![key()?])),
            "DeleteUserData" => match style {
                DeleteStyle::All => Some(Effect::DeleteAll),
                DeleteStyle::Key => Some(Effect::DeleteKeys(vec![key()?])),
                DeleteStyle::Keys => obj
                    .get("keys")?
                    .as_array()?
                    .iter()
                    .map(|k| k.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(Effect::DeleteKeys),
            },
            _ => None,
        }
    }

    pub fn apply(&self, state: &mut Map<String, Value>) {
        match self {
            Effect::Merge(pairs) => {
                for (k, v) in pairs {
                    state.insert(k.clone(), v.clone());
                }
            }
            Effect::DeleteKeys(keys) => {
                for k in keys {
                    state.shift_remove(k);
                }
            }
            Effect::DeleteAll => state.clear(),
        }
    }

    /// The keys the operation changes; `None` for "everything".
    pub fn keys(&self) -> Option<Vec<String>> {
        match self {
            Effect::Merge(pairs) => Some(pairs.keys().cloned().collect()),
            Effect::DeleteKeys(keys) => Some(keys.clone()),
            Effect::DeleteAll => None,
        }
    }
}

/// One replayable operation: the scenario it comes from, its request and its effect.
#[derive(Debug, Clone)]
pub struct LoadOp {
    pub case: Case,
    pub request: Value,
    pub effect: Effect,
}

/// The cases `load` replays: positive scenarios (a successful notification expected) sent by
/// the owner with its own credentials, one JSON request, no follow-ups, small enough, and
/// understood by [`Effect::of`]. With `shared`, operations that delete everything are left
/// out, since they cannot share an interaction on disjoint keys.
pub fn replayable(cases: &[Case], shared: bool) -> Vec<LoadOp> {
    cases
        .iter()
        .filter_map(|case| {
            let s = &case.scenario;
            let send = &s.send;
            let plain = s.expects_notification()
                && send.agent == AgentRole::First
                && send.interaction == InteractionRef::Own
                && send.auth == AuthMode::Agent
                && send.csrf == CsrfMode::Send
                && matches!(send.cookie, None | Some(CookieMode::Own))
                && send.method == SendMethod::Post
                && send.raw_body.is_none()
                && !send.concurrently
                // A listener scenario's point is its eavesdropping client, which `load` does
                // not open; its operation repeats the plain scenarios'.
                && send.listener.is_none()
                && s.then.is_empty();
            let request = s.request.as_ref()?;
            if !plain || request.to_string().len() > MAX_REQUEST_BYTES {
                return None;
            }
            let effect = Effect::of(request, case.facts.delete)?;
            if shared && effect == Effect::DeleteAll {
                return None;
            }
            Some(LoadOp {
                case: case.clone(),
                request: request.clone(),
                effect,
            })
        })
        .collect()
}

/// `request` with every user-data key it names suffixed, so that operations sharing one
/// interaction work on disjoint keys.
pub fn with_key_suffix(request: &Value, suffix: &str) -> Value {
    let mut out = request.clone();
    let renamed = |k: &str| format!("{k}{suffix}");
    if let Some(obj) = out.as_object_mut() {
        if let Some(Value::Object(pairs)) = obj.get_mut("userData") {
            *pairs = pairs.iter().map(|(k, v)| (renamed(k), v.clone())).collect();
        }
        if let Some(Value::String(k)) = obj.get_mut("key") {
            *k = renamed(k);
        }
        if let Some(Value::Array(keys)) = obj.get_mut("keys") {
            for k in keys.iter_mut() {
                if let Value::String(s) = k {
                    *s = renamed(s);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effects_follow_the_documented_meaning() {
        let mut state = json!({"a": 1, "b": 2}).as_object().cloned().unwrap();
        let update = json!({"operationName": "UpdateUserData", "userData": {"b": 3, "c": 4}});
        Effect::of(&update, DeleteStyle::Keys)
            .unwrap()
            .apply(&mut state);
        assert_eq!(
            Value::Object(state.clone()),
            json!({"a": 1, "b": 3, "c": 4})
        );
        let delete = json!({"operationName": "DeleteUserData", "keys": ["a", "zz"]});
        Effect::of(&delete, DeleteStyle::Keys)
            .unwrap()
            .apply(&mut state);
        assert_eq!(Value::Object(state.clone()), json!({"b": 3, "c": 4}));
        let all = json!({"operationName": "DeleteUserData"});
        assert_eq!(Effect::of(&all, DeleteStyle::All), Some(Effect::DeleteAll));
        assert_eq!(
            Effect::of(&all, DeleteStyle::Keys),
            None,
            "keys are required"
        );
        let pair = json!({"operationName": "DeleteUserDataPair", "key": "b"});
        Effect::of(&pair, DeleteStyle::All)
            .unwrap()
            .apply(&mut state);
        assert_eq!(Value::Object(state), json!({"c": 4}));
    }

    #[test]
    fn suffixes_rename_every_key() {
        let r = json!({"operationName": "DeleteUserData", "keys": ["a"], "key": "k", "userData": {"x": 1}});
        assert_eq!(
            with_key_suffix(&r, "#2"),
            json!({"operationName": "DeleteUserData", "keys": ["a#2"], "key": "k#2", "userData": {"x#2": 1}})
        );
    }
}
