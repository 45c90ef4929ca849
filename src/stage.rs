//! Wording stages of a rumour, from a denial to a done deal, and their inference from text.
//!
//! Stages are ordered by strength; a story's stage is the strongest stage among its reports.
//! `denied` is the weakest: a story is `denied` only when every report of it is a denial.
//! In tables a stage is carried as its rank (`u32`) so that "strongest" is a `max`.

use std::collections::BTreeMap;

use polars::prelude::*;

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

/// Built-in stage phrases (see [`crate::config::Config::stage_keywords`]).
pub fn default_keywords() -> BTreeMap<String, Vec<String>> {
    let table: [(&str, &[&str]); 6] = [
        (
            "denied",
            &[
                "deny",
                "denies",
                "denied",
                "not for sale",
                "rule out",
                "rules out",
                "ruled out",
                "no intention",
                "not interested",
                "will not be sold",
                "won't be sold",
                "not leaving",
                "staying put",
                "no plans to sell",
            ],
        ),
        (
            "done",
            &[
                "here we go",
                "completed",
                "completes",
                "has signed",
                "have signed",
                "signs for",
                "has joined",
                "done deal",
                "unveiled",
                "officially",
            ],
        ),
        (
            "agreed",
            &[
                "agreed",
                "agreement",
                "personal terms",
                "deal in place",
                "accepted a bid",
                "accepted an offer",
                "fee agreed",
            ],
        ),
        (
            "advanced",
            &[
                "advanced",
                "close to",
                "closing in",
                "on the verge",
                "medical",
                "final stages",
                "nearing",
                "set to sign",
                "poised",
            ],
        ),
        (
            "talks",
            &[
                "talks",
                "negotiat",
                "bid",
                "offer",
                "approach",
                "contact",
                "discussions",
                "enquir",
                "inquir",
                "set to make",
            ],
        ),
        (
            "interest",
            &[
                "interest", "keen", "monitor", "eye", "eyeing", "track", "target", "want",
                "consider", "admire", "scout", "watch", "linked", "revisit", "tipped",
            ],
        ),
    ];
    table
        .iter()
        .map(|(s, kws)| (s.to_string(), kws.iter().map(|k| k.to_string()).collect()))
        .collect()
}

/// The order in which stage phrases are tried: denials first (a denial usually quotes the
/// rumour it denies), then from the strongest stage down.
pub const INFERENCE_ORDER: [Stage; 6] = [
    Stage::Denied,
    Stage::Done,
    Stage::Agreed,
    Stage::Advanced,
    Stage::Talks,
    Stage::Interest,
];

/// Stage rank inferred from `text`: a `when/then` chain of case-insensitive phrase matches
/// (each phrase anchored at a word start), `speculation` when nothing matches or there is no
/// text. Returns a `UInt32` expression.
pub fn infer_rank_expr(text: Expr, keywords: &BTreeMap<String, Vec<String>>) -> Expr {
    let mut chain: Option<Then> = None;
    let mut chained: Option<ChainedThen> = None;
    for stage in INFERENCE_ORDER {
        let Some(phrases) = keywords.get(stage.name()) else {
            continue;
        };
        if phrases.is_empty() {
            continue;
        }
        let alternatives: Vec<String> = phrases
            .iter()
            .map(|p| regex::escape(&p.to_lowercase()))
            .collect();
        let pattern = format!("(?i)(?-u:\\b)(?:{})", alternatives.join("|"));
        let cond = text
            .clone()
            .str()
            .contains(lit(pattern), false)
            .fill_null(lit(false));
        let value = lit(stage.rank());
        match (chain.take(), chained.take()) {
            (None, None) => chain = Some(when(cond).then(value)),
            (Some(t), None) => chained = Some(t.when(cond).then(value)),
            (None, Some(c)) => chained = Some(c.when(cond).then(value)),
            (Some(_), Some(_)) => unreachable!("only one builder is live"),
        }
    }
    let fallback = lit(Stage::Speculation.rank());
    match (chain, chained) {
        (Some(t), None) => t.otherwise(fallback),
        (None, Some(c)) => c.otherwise(fallback),
        _ => fallback,
    }
    .cast(DataType::UInt32)
}

/// Maps a `UInt32` rank column to stage names (for reports).
pub fn name_expr(rank: Expr) -> Expr {
    let mut expr: Option<ChainedThen> = None;
    let mut first: Option<Then> = None;
    for stage in Stage::ALL {
        let cond = rank.clone().eq(lit(stage.rank()));
        let value = lit(stage.name());
        match (first.take(), expr.take()) {
            (None, None) => first = Some(when(cond).then(value)),
            (Some(t), None) => expr = Some(t.when(cond).then(value)),
            (None, Some(c)) => expr = Some(c.when(cond).then(value)),
            (Some(_), Some(_)) => unreachable!("only one builder is live"),
        }
    }
    match (first, expr) {
        (_, Some(c)) => c.otherwise(lit(NULL).cast(DataType::String)),
        (Some(t), None) => t.otherwise(lit(NULL).cast(DataType::String)),
        (None, None) => lit(NULL).cast(DataType::String),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_rank_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.name()), Some(s));
            assert_eq!(Stage::from_rank(s.rank()), Some(s));
        }
        assert_eq!(Stage::parse("  Here "), None);
        assert_eq!(Stage::parse(" DONE "), Some(Stage::Done));
        assert_eq!(Stage::parse("Here we go"), Some(Stage::Done));
        assert_eq!(Stage::parse("Rumour"), Some(Stage::Speculation));
        assert_eq!(Stage::parse("maybe"), None);
        assert!(Stage::Done > Stage::Interest && Stage::Speculation > Stage::Denied);
    }

    #[test]
    fn inference_from_text() {
        let df = df!("text" => [
            Some("Juventus tipped to revisit Balerdi next summer"),
            Some("Here we go! Balerdi to Juventus"),
            Some("Marseille deny any contact with Juventus"),
            Some("Liverpool have made an approach for Caleta-Car"),
            Some("Chelsea close to agreement... personal terms agreed"),
            Some("A story with no stage words"),
            None,
        ])
        .expect("frame");
        let out = df
            .lazy()
            .select([name_expr(infer_rank_expr(col("text"), &default_keywords())).alias("s")])
            .collect()
            .expect("collect");
        let got: Vec<Option<&str>> = out
            .column("s")
            .expect("s")
            .str()
            .expect("str")
            .iter()
            .collect();
        assert_eq!(
            got,
            vec![
                Some("interest"),
                Some("done"),
                Some("denied"),
                Some("talks"),
                Some("agreed"),
                Some("speculation"),
                Some("speculation"),
            ]
        );
    }
}
