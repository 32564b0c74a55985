//! Which way each media is provisioned, and the ledger that makes sure whatever the run
//! created is ended.
//!
//! A media is provisioned natively when `fixtures.native` covers it, else through the fixture
//! contract when the target has one; otherwise it cannot be provisioned (the scenario is not
//! applicable and the media needs fixtures). Every interaction obtained is recorded in the
//! ledger before anything else can fail, and leaves it only once it was ended; `close` ends
//! what is still there (a scenario cut off by its deadline, a run stopped with Ctrl-C), so no
//! interaction created by the run remains on the target.
//!
//! How an interaction is created lives in `fixtures.rs` (contract) and `native.rs` (documented
//! operations); this module only chooses and keeps account. A media with no way is
//! [`NoWay`]; an interaction that could not be ended, a [`ReleaseError`].

use super::Runner;
use super::fixtures::{self, ProvisionError, Provisioned, Way};
use super::native::{self, EndError};
use super::target::Contract;
use super::wire::WireLog;
use crate::util::Unpoisoned;
use serde_json::{Map, Value};

impl Runner {
    /// Obtains an interaction of `media` owned by `agent`, starting with `user_data`.
    pub async fn provision(
        &self,
        agent: usize,
        media: &str,
        user_data: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<Provisioned, ProvisionError> {
        match self.way_for(media) {
            Err(no_way) => Err(ProvisionError::NotProvisionable(no_way.reason)),
            Ok(Chosen::Native) => self.provision_native(agent, media, user_data, wire).await,
            Ok(Chosen::Contract(contract)) => {
                let session = &self.sessions[agent];
                let made = fixtures::provision(
                    contract,
                    session,
                    media,
                    user_data,
                    self.config.deadlines.request,
                    wire,
                )
                .await?;
                self.router.own(agent, &made.id);
                self.remember(agent, media, &made);
                Ok(made)
            }
        }
    }

    /// Whether the target file gives a way to provision `media`, and why not.
    pub fn can_provision(&self, media: &str) -> Result<(), NoWay> {
        self.way_for(media).map(|_| ())
    }

    fn way_for(&self, media: &str) -> Result<Chosen<'_>, NoWay> {
        let fixtures = &self.target.fixtures;
        let native_refusal = match &fixtures.native {
            Some(native) => match native::unavailable(native, media) {
                None => return Ok(Chosen::Native),
                Some(why) => why,
            },
            None => "the target names no fixtures (native, url or exec)".into(),
        };
        fixtures
            .contract
            .as_ref()
            .map(Chosen::Contract)
            .ok_or_else(|| NoWay {
                media: media.to_string(),
                reason: native_refusal,
            })
    }

    /// Records an interaction the run must end.
    pub(super) fn remember(&self, agent: usize, media: &str, provisioned: &Provisioned) {
        self.ledger.locked().insert(
            provisioned.id.clone(),
            Obtained {
                agent,
                media: media.to_string(),
                provisioned: provisioned.clone(),
            },
        );
    }

    /// Ends interaction `id` the way it was obtained (documented ending or the contract's
    /// DELETE) and takes it off the ledger once that worked. Returns the problem, if any; an
    /// interaction whose ending failed stays on the ledger for `close` to try again.
    pub async fn release(&self, id: &str, wire: &WireLog) -> Option<ReleaseError> {
        let entry = self.ledger.locked().get(id).cloned();
        let Obtained {
            agent,
            media,
            provisioned,
        } = entry?;
        let problem = match (&provisioned.way, &self.target.fixtures.contract) {
            (Way::Native { .. }, _) => self
                .end_native(agent, &provisioned, &media, wire)
                .await
                .err()
                .map(ReleaseError::from),
            (Way::Contract, Some(contract)) => {
                fixtures::cleanup(contract, &self.sessions[agent], id, wire)
                    .await
                    .map(ReleaseError::from)
            }
            (Way::Contract, None) => None,
        };
        if problem.is_none() {
            self.ledger.locked().remove(id);
        }
        problem
    }

    /// Ends everything still on the ledger; returns what could not be ended.
    pub(super) async fn release_all(&self, wire: &WireLog) -> Vec<String> {
        let left: Vec<Obtained> = self.ledger.locked().values().cloned().collect();
        let mut problems = Vec::new();
        for obtained in left {
            let id = &obtained.provisioned.id;
            if let Some(problem) = self.release(id, wire).await {
                problems.push(format!(
                    "agent {}: {} interaction {id} may remain on the target: {problem}",
                    self.sessions[obtained.agent].username, obtained.media
                ));
            }
        }
        problems
    }
}

/// Why the target file gives no way to provision a media.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct NoWay {
    pub media: String,
    pub reason: String,
}

/// Why an interaction the run obtained could not be ended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Native(#[from] EndError),
    #[error(transparent)]
    Contract(#[from] fixtures::CleanupError),
}

/// The way a media is provisioned.
enum Chosen<'a> {
    Native,
    Contract(&'a Contract),
}

/// An interaction the run obtained and has not yet ended.
#[derive(Debug, Clone)]
pub(super) struct Obtained {
    agent: usize,
    media: String,
    provisioned: Provisioned,
}
