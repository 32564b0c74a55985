//! The load ledger: every operation sent ends in exactly one kind (notified once, lost,
//! duplicated, crossed, late, wrong), counted in totals, and every operation that is not
//! "notified once" is listed with what happened to it.
//!
//! It classifies facts the engine recorded; it does not observe anything itself.

use serde::{Deserialize, Serialize};

/// What happened to one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Exactly one notification, to the owner's stream only, with the expected state.
    NotifiedOnce,
    /// No notification by the end of the run.
    Lost,
    /// More than one notification to the owner's stream.
    Duplicated,
    /// A notification about the operation's interaction reached another agent's stream.
    Crossed,
    /// The notification came after its deadline but before the end of the run.
    Late,
    /// A bad HTTP answer, a wrong notification (envelope or userData), or a read-your-writes
    /// mismatch.
    Wrong,
    /// Its outcome is unknown: its HTTP reply was lost to a transport fault, or its
    /// notification was missing from a window in which the agent's long poll was cut (it may
    /// have been in the cut poll). Not a fault of the server; told apart from `lost`, which the
    /// server never notified on a stream that was not interrupted.
    Indeterminate,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::NotifiedOnce,
        Kind::Lost,
        Kind::Duplicated,
        Kind::Crossed,
        Kind::Late,
        Kind::Wrong,
        Kind::Indeterminate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::NotifiedOnce => "notified-once",
            Kind::Lost => "lost",
            Kind::Duplicated => "duplicated",
            Kind::Crossed => "crossed",
            Kind::Late => "late",
            Kind::Wrong => "wrong",
            Kind::Indeterminate => "indeterminate",
        }
    }

    /// Whether this kind makes `load` exit 1 (late is reported, not failed: the deadline is
    /// the harness's choice, not a documented limit).
    pub fn fails(self) -> bool {
        matches!(
            self,
            Kind::Lost | Kind::Duplicated | Kind::Crossed | Kind::Wrong
        )
    }
}

/// The facts recorded about one operation, as flags; [`Facts::kind`] decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub notified: bool,
    pub lost: bool,
    pub late: bool,
    pub duplicated: bool,
    pub crossed: bool,
    pub wrong: bool,
    pub indeterminate: bool,
}

impl Facts {
    /// One kind per operation; the most serious fact wins (a crossed notification is a
    /// privacy fault whatever else happened).
    pub fn kind(&self) -> Kind {
        if self.crossed {
            Kind::Crossed
        } else if self.wrong {
            Kind::Wrong
        } else if self.duplicated {
            Kind::Duplicated
        } else if self.lost && !self.late {
            Kind::Lost
        } else if self.indeterminate && !self.late && !self.notified {
            Kind::Indeterminate
        } else if self.late {
            Kind::Late
        } else {
            Kind::NotifiedOnce
        }
    }
}

/// Operations per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub operations: u64,
    pub notified_once: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub crossed: u64,
    pub late: u64,
    pub wrong: u64,
    /// Operations whose outcome a transport fault hid (see [`Kind::Indeterminate`]).
    #[serde(default)]
    pub indeterminate: u64,
}

impl Totals {
    pub fn add_kind(&mut self, kind: Kind) {
        self.operations += 1;
        *self.slot(kind) += 1;
    }

    fn slot(&mut self, kind: Kind) -> &mut u64 {
        match kind {
            Kind::NotifiedOnce => &mut self.notified_once,
            Kind::Lost => &mut self.lost,
            Kind::Duplicated => &mut self.duplicated,
            Kind::Crossed => &mut self.crossed,
            Kind::Late => &mut self.late,
            Kind::Wrong => &mut self.wrong,
            Kind::Indeterminate => &mut self.indeterminate,
        }
    }

    pub fn get(&self, kind: Kind) -> u64 {
        let mut copy = *self;
        *copy.slot(kind)
    }

    pub fn add(&mut self, other: &Totals) {
        self.operations += other.operations;
        for kind in Kind::ALL {
            *self.slot(kind) += other.get(kind);
        }
    }

    /// Operations whose kind fails the run.
    pub fn failing(&self) -> u64 {
        Kind::ALL
            .iter()
            .filter(|k| k.fails())
            .map(|k| self.get(*k))
            .sum()
    }
}

/// One operation that was not simply notified once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub kind: Kind,
    /// The operation's number in its run (in order of start).
    pub op: u64,
    /// The scenario whose request it sent.
    pub scenario: String,
    pub agent: String,
    pub interaction: String,
    /// Seconds from the run's start to the operation's (intended) start.
    pub second: u64,
    /// What was seen, in words.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_fact_decides() {
        let f = |set: fn(&mut Facts)| {
            let mut facts = Facts::default();
            set(&mut facts);
            facts.kind()
        };
        assert_eq!(f(|x| x.notified = true), Kind::NotifiedOnce);
        assert_eq!(f(|x| x.lost = true), Kind::Lost);
        assert_eq!(
            f(|x| {
                x.lost = true;
                x.late = true
            }),
            Kind::Late
        );
        assert_eq!(
            f(|x| {
                x.notified = true;
                x.duplicated = true;
                x.crossed = true
            }),
            Kind::Crossed
        );
        assert_eq!(
            f(|x| {
                x.wrong = true;
                x.duplicated = true
            }),
            Kind::Wrong
        );
    }

    #[test]
    fn totals_add_and_count_failures() {
        let mut a = Totals::default();
        a.add_kind(Kind::NotifiedOnce);
        a.add_kind(Kind::Late);
        let mut b = Totals::default();
        b.add_kind(Kind::Lost);
        a.add(&b);
        assert_eq!(a.operations, 3);
        assert_eq!(a.get(Kind::Lost), 1);
        assert_eq!(a.failing(), 1, "late does not fail");
    }
}
