//! The shared context of one load run, which every part (dispatcher, executor, finish) reads:
//! the runner, the operations, the configuration, the journal; and the run's identity in its
//! report. Data only: the parts' jobs are in their own files.

use super::config::LoadConfig;
use super::ids::OpIndex;
use super::journal::Journal;
use super::model::LoadOp;
use crate::run::Runner;

/// What the parts of one load run share: the runner, the operations, the configuration, the
/// journal.
pub(crate) struct LoadContext {
    pub(crate) runner: Runner,
    pub(crate) ops: Vec<LoadOp>,
    pub(crate) config: LoadConfig,
    pub(crate) journal: Journal,
    /// Media of the selection the target cannot provision, with the reason.
    pub(crate) left_out: Vec<String>,
}

impl LoadContext {
    pub(crate) fn op(&self, op: OpIndex) -> &LoadOp {
        &self.ops[op.0]
    }
}

/// The run's identity in its report.
pub(crate) struct Identity {
    pub(crate) started: String,
    pub(crate) target_name: String,
    pub(crate) target_url: String,
}
