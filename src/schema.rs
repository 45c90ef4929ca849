//! The vocabulary of the tables: column names the stages share, the deal key, the wording
//! [`Stage`] and the [`Outcome`] of a story or deal, with the predicates over them. Codes are
//! carried in tables as `u32` (so "strongest stage" is a `max`); the enums give them names.

use polars::prelude::*;

/// The columns that identify a deal: a player, the club they would join, the window.
pub const DEAL: [&str; 3] = ["player", "to_club", "window"];

/// [`DEAL`] as column expressions.
pub fn deal_cols() -> Vec<Expr> {
    DEAL.iter().map(|c| col(*c)).collect()
}

/// What became of a story or deal by the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// The window has not closed (or the grace days after it have not passed).
    Open = 0,
    /// The player joined the club in the window.
    Confirmed = 1,
    /// The window closed without the move.
    Refuted = 2,
    /// The move happened, but in a later window.
    Late = 3,
}

impl Outcome {
    /// All outcomes, by code.
    pub const ALL: [Outcome; 4] = [
        Outcome::Open,
        Outcome::Confirmed,
        Outcome::Refuted,
        Outcome::Late,
    ];

    /// The code carried in tables.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The name written in reports.
    pub fn name(self) -> &'static str {
        outcome::NAMES[self as usize]
    }

    /// The outcome of a code.
    ///
    /// ```
    /// use rumour::schema::Outcome;
    /// assert_eq!(Outcome::from_code(2), Some(Outcome::Refuted));
    /// assert_eq!(Outcome::from_code(2).map(Outcome::name), Some("refuted"));
    /// assert_eq!(Outcome::from_code(9), None);
    /// ```
    pub fn from_code(code: u32) -> Option<Outcome> {
        Outcome::ALL.get(code as usize).copied()
    }

    /// Whether the outcome settles the claim (confirmed or refuted; late counts as neither).
    pub fn is_resolved(self) -> bool {
        matches!(self, Outcome::Confirmed | Outcome::Refuted)
    }
}

/// Outcome codes as constants, for `lit(...)` and `match` arms.
pub mod outcome {
    use super::Outcome;
    pub const OPEN: u32 = Outcome::Open as u32;
    pub const CONFIRMED: u32 = Outcome::Confirmed as u32;
    pub const REFUTED: u32 = Outcome::Refuted as u32;
    pub const LATE: u32 = Outcome::Late as u32;
    /// Names by code.
    pub const NAMES: [&str; 4] = ["open", "confirmed", "refuted", "late"];
}

/// `outcome` is confirmed or refuted: the rows a reliability or a model learns from
/// ([`Outcome::is_resolved`] as an expression).
pub fn is_resolved(outcome: Expr) -> Expr {
    outcome
        .clone()
        .eq(lit(self::outcome::CONFIRMED))
        .or(outcome.eq(lit(self::outcome::REFUTED)))
}

/// A wording stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Denied = 0,
    Speculation = 1,
    Interest = 2,
    Talks = 3,
    Advanced = 4,
    Agreed = 5,
    Done = 6,
}

impl Stage {
    /// All stages, weakest first.
    pub const ALL: [Stage; 7] = [
        Stage::Denied,
        Stage::Speculation,
        Stage::Interest,
        Stage::Talks,
        Stage::Advanced,
        Stage::Agreed,
        Stage::Done,
    ];
    /// Their names, in the same order.
    pub const NAMES: [&'static str; 7] = [
        "denied",
        "speculation",
        "interest",
        "talks",
        "advanced",
        "agreed",
        "done",
    ];

    pub fn name(self) -> &'static str {
        Stage::NAMES[self as usize]
    }

    pub fn rank(self) -> u32 {
        self as u32
    }

    pub fn from_rank(rank: u32) -> Option<Stage> {
        Stage::ALL.get(rank as usize).copied()
    }

    /// Parses a stage name, ignoring case and surrounding spaces.
    pub fn parse(s: &str) -> Option<Stage> {
        // Runs for every claim: no allocation.
        let s = s.trim();
        if let Some(i) = Stage::NAMES.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Stage::from_rank(i as u32);
        }
        SYNONYMS
            .iter()
            .find(|(word, _)| word.eq_ignore_ascii_case(s))
            .map(|(_, stage)| *stage)
    }
}

/// Other words for the stages that files from elsewhere use in a `stage` column.
const SYNONYMS: [(&str, Stage); 16] = [
    ("denial", Stage::Denied),
    ("deny", Stage::Denied),
    ("rumour", Stage::Speculation),
    ("rumor", Stage::Speculation),
    ("gossip", Stage::Speculation),
    ("interested", Stage::Interest),
    ("monitoring", Stage::Interest),
    ("negotiation", Stage::Talks),
    ("negotiations", Stage::Talks),
    ("bid", Stage::Talks),
    ("close", Stage::Advanced),
    ("medical", Stage::Advanced),
    ("agreement", Stage::Agreed),
    ("here we go", Stage::Done),
    ("completed", Stage::Done),
    ("official", Stage::Done),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_codes_round_trip_and_name_themselves() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_code(o.code()), Some(o));
        }
        assert_eq!(Outcome::Late.name(), "late");
        assert!(Outcome::Confirmed.is_resolved() && Outcome::Refuted.is_resolved());
        assert!(!Outcome::Open.is_resolved() && !Outcome::Late.is_resolved());
    }

    #[test]
    fn is_resolved_expr_agrees_with_the_enum() {
        let df = df!("outcome" => [0u32, 1, 2, 3]).expect("frame");
        let got = df
            .lazy()
            .select([is_resolved(col("outcome")).alias("r")])
            .collect()
            .expect("collect");
        let got: Vec<Option<bool>> = got
            .column("r")
            .expect("r")
            .bool()
            .expect("bool")
            .iter()
            .collect();
        let want: Vec<Option<bool>> = Outcome::ALL.iter().map(|o| Some(o.is_resolved())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn stage_names_ranks_and_synonyms() {
        for s in Stage::ALL {
            assert_eq!(Stage::from_rank(s.rank()), Some(s));
            assert_eq!(Stage::parse(s.name()), Some(s));
        }
        assert_eq!(Stage::parse("  Here We Go "), Some(Stage::Done));
        assert_eq!(Stage::parse("rumor"), Some(Stage::Speculation));
        assert_eq!(Stage::parse("maybe"), None);
        assert_eq!(deal_cols().len(), DEAL.len());
    }
}
