//! What a sentence says besides names: the window, the stage, context figures (age, market
//! value, fee, contract end), a cited source, and unknown players introduced by their
//! position. Each finder is a plain function of text, tested on hand-written sentences.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

use crate::schema::Stage;
use crate::windows::{Season, Window};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

/// A window named in `sentence` (relative phrases read from `published`), with the words
/// that named it. Sentences about a contract (`contract until the summer of 2028`) name no
/// window.
///
/// ```
/// use chrono::NaiveDate;
/// use rumour::extract::finders::window_in;
/// let d = NaiveDate::from_ymd_opt(2025, 9, 4).unwrap();
/// assert_eq!(window_in("Juventus tipped to revisit him next summer", d).unwrap().0.to_string(), "2026-summer");
/// assert_eq!(window_in("a move in January", d).unwrap().0.to_string(), "2026-winter");
/// assert!(window_in("his contract runs until the summer of 2028", d).is_none());
/// ```
pub fn window_in(sentence: &str, published: NaiveDate) -> Option<(Window, String)> {
    static CONTRACT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bcontract\b"));
    static ABSOLUTE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:(summer|january|winter)(?:\s+(?:transfer\s+)?window)?\s+(?:of\s+)?(20\d\d)|(20\d\d)(?:/\d\d)?\s+(summer|january|winter))\b",
        )
    });
    static YEAR_AND_SEASON: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)\bin\s+(20\d\d)\b.*\b(summer|january|winter)\b"));
    static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(next|this|coming|in|the)\s+(summer|january|winter)\b|\b(this|current)\s+(?:transfer\s+)?window\b|\bdeadline[\s-]day\b|\bbefore\s+the\s+(?:transfer\s+)?deadline\b",
        )
    });
    if CONTRACT.is_match(sentence) {
        return None;
    }
    let season = |s: &str| {
        if s.eq_ignore_ascii_case("summer") {
            Season::Summer
        } else {
            Season::Winter
        }
    };
    if let Some(c) = ABSOLUTE.captures(sentence) {
        let (s, y) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
            (Some(s), Some(y), _, _) => (s.as_str(), y.as_str()),
            (_, _, Some(y), Some(s)) => (s.as_str(), y.as_str()),
            _ => return None,
        };
        let year: i32 = y.parse().ok()?;
        return Some((
            Window {
                year,
                season: season(s),
            },
            c[0].to_string(),
        ));
    }
    if let Some(c) = YEAR_AND_SEASON.captures(sentence) {
        let year: i32 = c[1].parse().ok()?;
        return Some((
            Window {
                year,
                season: season(&c[2]),
            },
            c[0].to_string(),
        ));
    }
    let c = RELATIVE.captures(sentence)?;
    let (y, m) = (published.year(), published.month());
    let window = match (c.get(1).map(|m| m.as_str().to_lowercase()), c.get(2)) {
        (Some(when), Some(s)) if season(s.as_str()) == Season::Summer => {
            // "next summer" in September is next year's; in March, this year's.
            let year = if when == "next" && m >= 6 || m >= 9 {
                y + 1
            } else {
                y
            };
            Window {
                year,
                season: Season::Summer,
            }
        }
        (Some(_), Some(_)) => {
            // January: the coming one (after February, next year's).
            let year = if m >= 2 { y + 1 } else { y };
            Window {
                year,
                season: Season::Winter,
            }
        }
        _ => {
            // "this window", "deadline day": the window open now, or the next one.
            if m == 1 || (m == 2 && published.day() <= 1) {
                Window {
                    year: y,
                    season: Season::Winter,
                }
            } else if m <= 8 || (m == 9 && published.day() <= 1) {
                Window {
                    year: y,
                    season: Season::Summer,
                }
            } else {
                Window {
                    year: y + 1,
                    season: Season::Winter,
                }
            }
        }
    };
    Some((window, c[0].to_string()))
}

/// Words that undo a stage phrase right before it (`never close to signing`).
const NEGATIONS: &[&str] = &[
    "never", "not", "no", "nor", "without", "isn't", "aren't", "wasn't", "weren't", "didn't",
    "doesn't", "don't", "won't",
];

/// The stage `folded` (a sentence folded by [`super::text::Folded`]) reports: the phrases of
/// `keywords` tried from denials down to interest, as `score` does, except that a phrase right
/// after a negation (`never`, `not`, … within three words) does not count unless it is a
/// denial. `None`: no phrase (speculation).
pub fn stage_in(folded: &str, raw: &str, keywords: &[(Stage, Vec<String>)]) -> Option<Stage> {
    let lower_words: Vec<&str> = raw.split_whitespace().collect();
    let negated_before = |byte: usize| -> bool {
        // The three words of `raw` before the folded match's start, roughly: count words.
        let prefix = &folded[..byte];
        let n = prefix.split_whitespace().count();
        let start = n.saturating_sub(3);
        lower_words.iter().skip(start).take(n - start).any(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
            NEGATIONS.iter().any(|neg| {
                w.eq_ignore_ascii_case(neg) || w.to_lowercase().replace('’', "'") == *neg
            })
        })
    };
    for (stage, phrases) in keywords {
        for p in phrases {
            let mut from = 0;
            while let Some(at) = folded[from..].find(p.as_str()) {
                let at = from + at;
                let word_start = at == 0 || folded.as_bytes()[at - 1] == b' ';
                if word_start && (*stage == Stage::Denied || !negated_before(at)) {
                    return Some(*stage);
                }
                from = at + p.len();
            }
        }
    }
    None
}

/// The stage phrases of a configuration, folded, in the order they are tried.
pub fn stage_phrases(
    keywords: &std::collections::BTreeMap<String, Vec<String>>,
) -> Vec<(Stage, Vec<String>)> {
    crate::wording::INFERENCE_ORDER
        .into_iter()
        .filter_map(|s| {
            keywords.get(s.name()).map(|ps| {
                (
                    s,
                    ps.iter()
                        .map(|p| crate::normalise::fold(p))
                        .filter(|p| !p.is_empty())
                        .collect(),
                )
            })
        })
        .collect()
}

/// Whether a sentence speaks of a move at all (a stage phrase, or words such as `move`,
/// `sign`, `loan`, `swoop`, `race`): clubs in other sentences are history or scenery.
pub fn speaks_of_a_move(folded: &str) -> bool {
    static MOVE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:move|sign|join|swoop|pursu|pursuit|chase|chasing|race|battle|compet|fight|hijack|loan|transfer|switch|bid|offer|deal|talk|interest|keen|want|target|link|eye|eyeing|monitor|track|consider|revisit|tipped|return|reunion|homecoming|signature|rival|capture|acquire|recruit|poach|raid|approach|priced|snap|lure|land|bring|re-sign|reunite|replace|replacement|admire|admirer|suitor|favourite|option|contact|enquir|inquir|negotiat|shortlist|scout|watch|plot|prepar|tabl|tabs|look|eyes|covet|buy|purchase|fee|agree|terms|medical|clause|swap|exchange|cover|successor|sell|sale|leave|exit|departure|future|release|follow|cost|price|asking|valuation|progress|rumour|speculation|swirl|complete|switch)(?:s|es|ed|d|ing|ion|ions|er|ers|ment|ments|e)?\b",
        )
    });
    MOVE.is_match(folded)
}

/// Context figures a sentence states.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub age: Option<u32>,
    pub market_value_eur: Option<f64>,
    pub fee_eur: Option<f64>,
    /// The year a contract ends.
    pub contract_until: Option<i32>,
}

/// Euros of an amount like `€20 million`, `£50m`, `$3.5bn`, `20m euros`. Pounds and dollars
/// are converted at fixed rates (`GBP_EUR`, `USD_EUR`): context for a model, not accounting.
fn euros(currency: &str, number: &str, unit: &str, trailing: &str) -> Option<f64> {
    const GBP_EUR: f64 = 1.15;
    const USD_EUR: f64 = 0.92;
    let n: f64 = number.replace(',', "").parse().ok()?;
    let scale = match unit.to_lowercase().as_str() {
        "m" | "million" | "mln" => 1e6,
        "bn" | "billion" => 1e9,
        "k" | "thousand" => 1e3,
        "" if n >= 10_000.0 => 1.0,
        _ => return None,
    };
    let rate = match (currency, trailing.to_lowercase().as_str()) {
        ("£", _) | (_, "pounds") => GBP_EUR,
        ("$", _) | (_, "dollars") => USD_EUR,
        _ => 1.0,
    };
    Some(n * scale * rate)
}

/// Age, market value, fee and contract end stated in `sentence` (`published` reads
/// "runs out in the summer").
///
/// ```
/// use chrono::NaiveDate;
/// use rumour::extract::finders::context_in;
/// let d = NaiveDate::from_ymd_opt(2025, 9, 4).unwrap();
/// let c = context_in("The 26-year-old is valued at €20 million by Transfermarkt", d);
/// assert_eq!((c.age, c.market_value_eur), (Some(26), Some(20_000_000.0)));
/// ```
pub fn context_in(sentence: &str, published: NaiveDate) -> Context {
    static AGE: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)\b(\d\d)[\s-]year[\s-]old\b|\baged\s+(\d\d)\b|[A-Za-z\p{L}],\s+(\d\d),")
    });
    static MONEY: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)([€£$])\s?(\d+(?:[.,]\d+)?)\s?(m|million|mln|bn|billion|k)?\b(?:\s+(euros|pounds|dollars))?|\b(\d+(?:\.\d+)?)\s?(m|million|bn)\s+(euros|pounds|dollars)\b",
        )
    });
    static VALUE_CUE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(valu\w*|worth|estimat\w*)\b"));
    static FEE_CUE: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)\b(fee|bid|offer|deal|signing|price|release\s+clause|buy-out|cost|pay|paid|tag)\b")
    });
    static CONTRACT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\bcontract\b[^.]*?\b(?:until|till|to|in|expires|ends|runs|running|valid)\b[^.]*?\b(20\d\d)\b",
        )
    });
    static CONTRACT_SUMMER: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\bcontract\b[^.]*?\b(?:runs\s+out|expires|ends|is\s+up)\b[^.]*?\b(?:this|the|next)\s+summer\b",
        )
    });
    let mut c = Context::default();
    if let Some(m) = AGE.captures(sentence) {
        c.age = (1..=3)
            .find_map(|i| m.get(i))
            .and_then(|a| a.as_str().parse().ok())
            .filter(|a| (15..=45).contains(a));
    }
    for m in MONEY.captures_iter(sentence) {
        let amount = match (m.get(1), m.get(2), m.get(5)) {
            (Some(cur), Some(n), _) => euros(
                cur.as_str(),
                &n.as_str().replace(',', "."),
                m.get(3).map_or("", |u| u.as_str()),
                m.get(4).map_or("", |t| t.as_str()),
            ),
            (_, _, Some(n)) => euros(
                "",
                n.as_str(),
                m.get(6).map_or("", |u| u.as_str()),
                m.get(7).map_or("", |t| t.as_str()),
            ),
            _ => None,
        };
        let Some(amount) = amount else { continue };
        // The cue nearest before the amount decides (a value, else a fee).
        let before = &sentence[..m.get(0).map_or(0, |x| x.start())];
        let value_at = VALUE_CUE.find_iter(before).last().map(|x| x.start());
        let fee_at = FEE_CUE
            .find_iter(sentence)
            .map(|x| x.start())
            .min_by_key(|&s| s.abs_diff(m.get(0).map_or(0, |x| x.start())));
        match (value_at, fee_at) {
            (Some(v), Some(f)) if v >= f => {
                c.market_value_eur = c.market_value_eur.or(Some(amount))
            }
            (Some(_), None) => c.market_value_eur = c.market_value_eur.or(Some(amount)),
            (_, Some(_)) => c.fee_eur = c.fee_eur.or(Some(amount)),
            (None, None) => {}
        }
    }
    if let Some(m) = CONTRACT.captures(sentence) {
        c.contract_until = m[1].parse().ok();
    } else if CONTRACT_SUMMER.is_match(sentence) {
        let y = published.year();
        c.contract_until = Some(if published.month() >= 7 { y + 1 } else { y });
    }
    c
}

/// Words that are not a source's name when they start a sentence with `says` or `claims`.
const NOT_A_SOURCE: &[&str] = &[
    "The", "He", "She", "It", "They", "This", "That", "Which", "Who", "His", "Her", "Their",
    "Reports", "Report", "Sources", "Source", "A", "An",
];

/// The source `sentence` cites: `according to X`, `as reported by X`, `X claims` (with an
/// aside in brackets allowed: `X (an account specialised in …) claims`), `X reports`.
///
/// ```
/// use rumour::extract::finders::cited_in;
/// assert_eq!(cited_in("La Tribune Olympienne (an X account) claims that …").as_deref(), Some("La Tribune Olympienne"));
/// assert_eq!(cited_in("He is keen, according to Sky Sports.").as_deref(), Some("Sky Sports"));
/// assert_eq!(cited_in("The same source confirms interest"), None);
/// ```
pub fn cited_in(sentence: &str) -> Option<String> {
    const NAME: &str = r"((?:[A-Z][\p{L}'’.&-]*|L'[A-Z][\p{L}]*)(?:\s+(?:[A-Z][\p{L}'’.&-]*|de|del|di|da|della|dello|the|of)){0,5})";
    static AFTER: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"\b(?:according\s+to|as\s+reported\s+by|reported\s+by|reports\s+from|via|per|,\s*(?:says|said|reports|reported|claims|claimed|writes|wrote))\s+{NAME}"
        ))
    });
    static BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"{NAME}(?:\s*\([^)]*\))?,?\s+(?:claims?|reports?|says|said|understands|reveals?|revealed|suggests?|confirms?|confirmed|writes|adds|states|insists)\b"
        ))
    });
    let clean = |s: &str| -> Option<String> {
        let s = s
            .trim()
            .trim_end_matches(['.', ',', '’', '\''])
            .trim_end_matches(" the")
            .trim_end_matches(" of");
        let mut words = s.split_whitespace();
        let first = words.next()?;
        let more = words.next().is_some();
        // `The Athletic` is a name; `The` alone, or `He`, `They`, is not.
        let ok = !NOT_A_SOURCE.contains(&first) || (first == "The" && more);
        (ok && s.len() >= 2).then(|| s.to_string())
    };
    AFTER
        .captures(sentence)
        .and_then(|c| clean(&c[1]))
        .or_else(|| BEFORE.captures(sentence).and_then(|c| clean(&c[1])))
}

/// Players a sentence introduces by their position or role although their name is unknown
/// (`Croatia centre-back Duje Caleta Car`): byte ranges of capitalised names after such a
/// word.
pub fn introduced_players(sentence: &str) -> Vec<(usize, usize)> {
    static INTRO: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:striker|forward|midfielder|defender|winger|goalkeeper|keeper|centre-back|center-back|centre-half|full-back|left-back|right-back|wing-back|playmaker|youngster|teenager|midfield|defender/midfielder|midfielder/defender|forward/winger|winger/forward|attacker|full-back|captain|international)\s+((?:[A-Z][\p{L}'’-]+\s+(?:(?:de|da|van|von|der|den|di|dos|del|ter|ten|el|le|la)\s+)?){0,3}[A-Z][\p{L}'’-]+)",
        )
    });
    INTRO
        .captures_iter(sentence)
        .filter_map(|c| c.get(1))
        .map(|m| {
            // Without a possessive: `Declan Rice's agent` introduces Declan Rice.
            let t = m.as_str();
            let t = t
                .strip_suffix("'s")
                .or_else(|| t.strip_suffix("’s"))
                .unwrap_or(t);
            (m.start(), m.start() + t.len())
        })
        .collect()
}

/// Phrases before a club that make it the player's club or a past one, not a buyer: `from`,
/// `leave`, `contract with`, `spell at`, `former`, `ex-`.
pub fn leaving_cue_before(before: &str) -> bool {
    static CUE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:from|swap|swaps|leave|leaves|leaving|left|quit|quits|exit|exits|depart\w*|contract\s+with|deal\s+with|spell\s+(?:at|with)|former|ex|loan\s+at|loan\s+from|playing\s+for|plays\s+for|captain\s+of|released\s+by|sold\s+by|out\s+of|away\s+from)\s*[-–]?\s*(?:the\s+)?$",
        )
    });
    static BUYER: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:interest|offers?|bids?|approach(?:es)?|enquir\w*|inquir\w*|attention|admirers|suitors|competition|calls?|proposals?)\s+from\s*$",
        )
    });
    CUE.is_match(before) && !BUYER.is_match(before)
}

/// Whether the words around a club make it the seller in a negotiation: `talks with Rennes
/// over`, `an offer to Celtic for`, `a bid to Bologna for`.
pub fn seller_context(before: &str, after: &str) -> bool {
    static BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:talks|negotiations|discussions|contact|agreement|deal|offer|bid|approach|proposal|fee)\s+(?:with|to)\s+$",
        )
    });
    static AFTER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^\s+(?:over|for|about|regarding)\b"));
    // The club that takes or turns down an offer sells: `Fulham accept Union Berlin offer`.
    static ANSWERS: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)^\s+(?:have\s+|has\s+)?(?:accept|accepts|accepted|reject|rejects|rejected|turn\s+down|turned\s+down|hold\s+out|holding\s+out|are\s+holding\s+out)\b",
        )
    });
    (BEFORE.is_match(before) && AFTER.is_match(after)) || ANSWERS.is_match(after)
}

/// Phrases after a club that make it a past or present club: `youth product`, `academy`,
/// `in 2019` (a year before the article's).
pub fn past_cue_after(after: &str, published_year: i32) -> bool {
    static CUE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:'s|’s)?\s*(?:youth\s+product|academy|graduate|loanee|contract|career|debut|team-?mates?|side\s+in)\b",
        )
    });
    static YEAR: LazyLock<Regex> = LazyLock::new(|| re(r"^\s+in\s+(\d{4})\b"));
    CUE.is_match(after)
        || YEAR
            .captures(after)
            .and_then(|c| c[1].parse::<i32>().ok())
            .is_some_and(|y| y < published_year)
}

/// Whether the words between a club and a player make the club the player's own: `Arsenal
/// and England defender Ben White`, `Manchester City's 32-year-old Argentina striker Sergio
/// Aguero` — a possessive or `and <nation>`, then descriptive words only.
pub fn describes_player(between: &str) -> bool {
    static STOP: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:are|is|was|were|have|has|had|will|would|could|be|to|for|in|with|from|at|on|by|over|about|into|after|that|which|who|while|but|or|if|as|target|want|wants|bid|offer|move|sign|signing|deal|interest|interested|keen|join)\b",
        )
    });
    static OPENER: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:'s|’s|and\s|&\s|\d+-year-old\b|(?:striker|forward|midfielder|defender|winger|goalkeeper|keeper|centre-back|center-back|centre-half|full-back|left-back|right-back|wing-back|playmaker|youngster|teenager|attacker|captain|star|academy|youth|teenage|young|veteran|talented|international|loanee|midfield|defensive|attacking|central|left|right)\b|\p{Lu})",
        )
    });
    let t = between.trim();
    if t.split_whitespace().count() > 7 || STOP.is_match(t) {
        return false;
    }
    t.is_empty() || OPENER.is_match(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("day")
    }

    #[test]
    fn windows_absolute_and_relative() {
        let sep = day(2025, 9, 4);
        let w = |s: &str, d| window_in(s, d).map(|(w, _)| w.to_string());
        assert_eq!(
            w("a new onslaught in the summer of 2026", sep).as_deref(),
            Some("2026-summer")
        );
        assert_eq!(
            w(
                "to rekindle their interest in 2026, most likely in the summer",
                sep
            )
            .as_deref(),
            Some("2026-summer")
        );
        assert_eq!(
            w("revisit the option next summer", sep).as_deref(),
            Some("2026-summer")
        );
        assert_eq!(
            w("a move next summer", day(2021, 3, 1)).as_deref(),
            Some("2021-summer")
        );
        assert_eq!(
            w("a move this summer", day(2021, 3, 1)).as_deref(),
            Some("2021-summer")
        );
        assert_eq!(
            w("a loan in January", day(2021, 3, 1)).as_deref(),
            Some("2022-winter")
        );
        assert_eq!(
            w("on deadline day", day(2021, 2, 1)).as_deref(),
            Some("2021-winter")
        );
        assert_eq!(
            w("before this window shuts", day(2021, 7, 10)).as_deref(),
            Some("2021-summer")
        );
        assert_eq!(
            w("in the January 2027 window", sep).as_deref(),
            Some("2027-winter")
        );
        assert_eq!(
            w(
                "tied to Marseille with a contract valid until the summer of 2028",
                sep
            ),
            None
        );
        assert_eq!(w("Juventus want him", sep), None);
    }

    #[test]
    fn stages_from_phrases_with_negation() {
        let kw = stage_phrases(&crate::wording::default_keywords());
        let s = |raw: &str| {
            let f = crate::extract::text::Folded::new(raw);
            stage_in(&f.text, raw, &kw)
        };
        assert_eq!(
            s("The same source confirms interest from Juventus"),
            Some(Stage::Interest)
        );
        assert_eq!(
            s("Juventus were never truly close to signing Balerdi"),
            None
        );
        assert_eq!(
            s("Juventus are close to signing Balerdi"),
            Some(Stage::Advanced)
        );
        assert_eq!(
            s("Marseille have ruled out selling Balerdi"),
            Some(Stage::Denied)
        );
        assert_eq!(
            s("Leicester are set to make a late loan move"),
            Some(Stage::Talks)
        );
        assert_eq!(
            s("Atlético Madrid have agreed personal terms"),
            Some(Stage::Agreed)
        );
        assert_eq!(s("Balerdi's departure"), None);
    }

    #[test]
    fn context_figures() {
        let d = day(2021, 3, 1);
        let c = context_in("Leicester City are interested in signing Watford and England midfielder Nathaniel Chalobah, 26, on deadline day.", d);
        assert_eq!(c.age, Some(26));
        let c = context_in("Arsenal hope to confirm the £50m signing of England defender Ben White, 23, from Brighton.", d);
        assert_eq!((c.age, c.fee_eur), (Some(23), Some(50_000_000.0 * 1.15)));
        assert_eq!(c.market_value_eur, None);
        let c = context_in("Transfermarkt estimates his value at €20 million", d);
        assert_eq!(c.market_value_eur, Some(20_000_000.0));
        let c = context_in(
            "He is tied to Marseille with a contract valid until the summer of 2028",
            d,
        );
        assert_eq!(c.contract_until, Some(2028));
        let c = context_in(
            "Patrick van Aanholt, whose contract with Crystal Palace runs out in the summer",
            d,
        );
        assert_eq!(c.contract_until, Some(2021));
        let c = context_in(
            "Barcelona want a fee of 35m euros (£30m) for the 20-year-old",
            d,
        );
        assert_eq!((c.fee_eur, c.age), (Some(35_000_000.0), Some(20)));
    }

    #[test]
    fn citations() {
        assert_eq!(
            cited_in("Nevertheless, La Tribune Olympienne (an X account specialised in Marseille news) claims that the Ligue 1 giants never blocked the departure").as_deref(),
            Some("La Tribune Olympienne")
        );
        assert_eq!(
            cited_in("Chelsea are keen, as reported by The Athletic.").as_deref(),
            Some("The Athletic")
        );
        assert_eq!(
            cited_in("Calciomercato reports that Inter want him.").as_deref(),
            Some("Calciomercato")
        );
        assert_eq!(cited_in("He says he is happy."), None);
    }

    #[test]
    fn unknown_players_by_their_position() {
        let s = "Liverpool have made an approach for Marseille and Croatia centre-back Duje Caleta Car, 24.";
        let found: Vec<&str> = introduced_players(s)
            .iter()
            .map(|&(a, b)| &s[a..b])
            .collect();
        assert_eq!(found, ["Duje Caleta Car"]);
    }

    #[test]
    fn club_roles_from_the_words_around_it() {
        assert!(describes_player(" and England defender/midfielder "));
        assert!(describes_player("'s 32-year-old Argentina striker "));
        assert!(describes_player(
            " and England's 22-year-old central midfielder "
        ));
        assert!(!describes_player(" are set to make a late loan move for "));
        assert!(!describes_player(" want "));
        assert!(!describes_player(" believe they can land "));
        assert!(describes_player(" forward "));
        assert!(describes_player(" goalkeeper and fellow countryman "));
        assert!(leaving_cue_before(
            "the £50m signing of Ben White, 23, from "
        ));
        assert!(leaving_cue_before("whose contract with "));
        assert!(!leaving_cue_before("interest from Juventus and "));
        assert!(seller_context(
            "Liverpool are in talks with ",
            " over Ibrahima Sarr"
        ));
        assert!(seller_context(
            "Brighton are set to make a £20m offer to ",
            " for Odsonne Edouard"
        ));
        assert!(!seller_context(
            "Kai Brandt has agreed personal terms with ",
            "; the clubs"
        ));
        assert!(seller_context(
            "Man City have agreed a fee with ",
            " for Ferran Williams"
        ));
        assert!(seller_context("", " accept Union Berlin offer"));
        assert!(leaving_cue_before("Pedro Isak could swap "));
        assert!(past_cue_after(" youth product who moved", 2025));
        assert!(past_cue_after(" in 2019, but", 2025));
        assert!(!past_cue_after(" are interested", 2025));
    }
}
