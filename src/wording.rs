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

/// Stage ranks inferred from text by case-insensitive phrase matches, each phrase anchored at
/// a word start: the first stage of [`INFERENCE_ORDER`] with a matching phrase, `speculation`
/// when none matches or there is no text. One pattern per stage, compiled once.
pub struct StageInference {
    /// One pattern per stage with phrases, matched together in one scan of the text.
    patterns: regex::RegexSet,
    /// The rank of each pattern's stage.
    ranks: Vec<u32>,
}

impl StageInference {
    /// The patterns of `keywords` (stage name → phrases; stages without phrases are skipped).
    ///
    /// # Errors
    /// A pattern the regex engine refuses (in practice only one over its size limit).
    pub fn new(keywords: &BTreeMap<String, Vec<String>>) -> Result<StageInference, regex::Error> {
        let mut patterns = Vec::new();
        let mut ranks = Vec::new();
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
            patterns.push(pattern);
            ranks.push(stage.rank());
        }
        Ok(StageInference {
            patterns: regex::RegexSet::new(patterns)?,
            ranks,
        })
    }

    /// The stage rank of `text`.
    pub fn rank(&self, text: Option<&str>) -> u32 {
        // The first stage (in the order tried) whose pattern matches.
        text.and_then(|t| self.patterns.matches(t).iter().next())
            .map(|k| self.ranks[k])
            .unwrap_or(Stage::Speculation.rank())
    }

    /// `stage` with each missing value inferred from `text` (row by row; `text` is read only
    /// where `stage` is missing). The rows to infer are matched in parallel, in a fixed order.
    pub fn fill(&self, stage: &UInt32Chunked, text: &StringChunked) -> UInt32Chunked {
        use rayon::prelude::*;
        let mut ranks: Vec<Option<u32>> = stage.iter().collect();
        let missing: Vec<usize> = (0..ranks.len()).filter(|&i| ranks[i].is_none()).collect();
        let inferred: Vec<u32> = missing
            .par_iter()
            .map(|&i| self.rank(text.get(i)))
            .collect();
        for (i, rank) in missing.into_iter().zip(inferred) {
            ranks[i] = Some(rank);
        }
        UInt32Chunked::from_iter_options(stage.name().clone(), ranks.into_iter())
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
    fn only_missing_stages_are_inferred_and_given_ones_kept() {
        let inference = StageInference::new(&default_keywords()).expect("patterns");
        // A given stage wins over the text; a missing one comes from the text, or is
        // speculation without text; chunk boundaries do not move rows.
        let mut stage = UInt32Chunked::from_slice_options(
            "stage".into(),
            &[Some(Stage::Talks.rank()), None, None],
        );
        stage
            .append(&UInt32Chunked::from_slice_options(
                "stage".into(),
                &[None, Some(0)],
            ))
            .expect("append");
        let text = StringChunked::from_slice_options(
            "text".into(),
            &[
                Some("Here we go"),
                Some("Here we go"),
                None,
                Some("Fee agreed"),
                None,
            ],
        );
        let filled: Vec<Option<u32>> = inference.fill(&stage, &text).iter().collect();
        assert_eq!(
            filled,
            vec![
                Some(Stage::Talks.rank()),
                Some(Stage::Done.rank()),
                Some(Stage::Speculation.rank()),
                Some(Stage::Agreed.rank()),
                Some(0),
            ]
        );
        // No phrases at all: everything missing is speculation.
        let none = StageInference::new(&BTreeMap::new()).expect("empty");
        assert_eq!(none.rank(Some("Here we go")), Stage::Speculation.rank());
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
        let inference = StageInference::new(&default_keywords()).expect("patterns");
        let stage = UInt32Chunked::full_null("stage".into(), df.height());
        let filled = inference.fill(&stage, df.column("text").expect("text").str().expect("str"));
        let out = df!("s" => filled.into_series())
            .expect("frame")
            .lazy()
            .select([crate::report::labels::code_names(col("s"), &Stage::NAMES).alias("s")])
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
