//! Legal variants of the reference server: answers the GWS documentation allows besides the
//! ones the faithful model gives, so that the suite can be shown to certify each reading.
//!
//! A variant is not a defect: a server making that choice is correct and must be certified.
//! Several can be on at once. This module only names them; the forks live where they act.

use std::fmt;

macro_rules! variants {
    ($($variant:ident = $name:literal : $about:literal,)*) => {
        /// One legal choice the server can make where the documentation allows several.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Variant { $($variant,)* }

        impl Variant {
            pub const ALL: &'static [Variant] = &[$(Variant::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Variant::$variant => $name,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Variant::$variant => $about,)* }
            }
        }
    };
}

variants! {
    RicherGet = "richer-get": "outside calls, GET shows a `lastModified` property its notifications do not carry",
    AsyncVoiceErrors = "async-voice-errors": "a voice request that reaches the telephony back end is answered statusCode 0, and its refusal comes as an ErrorMessage notification on /v2/me/calls",
    RefuseAbsentKeys = "refuse-absent-keys": "deleting a key the interaction does not have is refused (statusCode 2), changing nothing",
    RefuseUnusualData = "refuse-unusual-data": "user data the server will not store faithfully (null, non-integral numbers, nested objects, arrays, booleans, the empty key, values over 64 KiB) is refused (statusCode 10), changing nothing",
}

impl Variant {
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name() == name)
    }
}

/// A variant name no variant has; its message says where the names are listed.
#[derive(Debug, thiserror::Error)]
#[error("unknown variant `{0}`; `gws-conformance serve --list-variants` lists them")]
pub struct UnknownVariant(pub String);

impl std::str::FromStr for Variant {
    type Err = UnknownVariant;

    fn from_str(name: &str) -> Result<Variant, UnknownVariant> {
        Variant::parse(name).ok_or_else(|| UnknownVariant(name.to_string()))
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
