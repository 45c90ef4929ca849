//! A claim's wording stage inferred from its text, by configurable phrases ([`Stage`] itself
//! is in [`crate::schema`]).
//!
//! Stages are ordered by strength; a story's stage is the strongest stage among its reports.
//! `denied` is the weakest: a story is `denied` only when every report of it is a denial.
//! In tables a stage is carried as its rank (`u32`) so that "strongest" is a `max`.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::schema::Stage;

/// Built-in stage phrases (the defaults of the `stage_keywords` setting).
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
            .select([crate::report::labels::code_names(
                infer_rank_expr(col("text"), &default_keywords()),
                &Stage::NAMES,
            )
            .alias("s")])
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
