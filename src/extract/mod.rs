//! `rumour extract`: articles (prose) into claims `score` reads, for a person to review.
//!
//! An article is a row of a CSV (`article_id`, `published`, `source`, `text`; `author`, `url`
//! optional) or a `.txt` file that starts with `date YYYY-MM-DD` (then the text; `source:`,
//! `author:` and `url:` lines are read as such). For each article:
//!
//! 1. **names** ([`gazetteer`]): players and clubs known from the transfers file, the alias
//!    table and earlier claims, found all at once on the folded text; players unknown to all
//!    three when a sentence introduces them by position (`Croatia centre-back Duje Caleta
//!    Car`); a surname alone (`Balerdi`) is the player named in full earlier in the article.
//! 2. **the player's club**: a club written as the player's (`Arsenal and England defender Ben
//!    White`, `Marseille's Balerdi`), a club he would leave (`from Brighton`, `contract with
//!    Crystal Palace`), else his club on the publication date in the transfers file.
//! 3. **linked clubs**: the other clubs of the sentences that speak of a move and name the
//!    player (or, naming no player, follow the article's main player); past clubs (`a Boca
//!    Juniors youth product`, `moved to Dortmund in 2019`) and other players' clubs are not.
//! 4. **what the sentences say** ([`finders`]): the stage (the `score` phrases, except after a
//!    negation), the window (`next summer`, `in January`, `summer of 2026`, read from the
//!    publication date), age, market value, fee, contract end, and the cited source.
//!
//! One claim per (player, linked club), with `evidence` (the words each field came from) and a
//! `confidence`. Articles with no player, ambiguous names and club-like names that matched
//! nothing are counted in the summary.

pub mod finders;
pub mod gazetteer;
pub mod text;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, InputError, Result};
use crate::ingest::decode::{csv_reader, header_position, readable, InputFormat};
use crate::ingest::Reject;
use crate::normalise::{fold, Aliases};
use crate::schema::Stage;
use crate::windows::{Window, WindowCalendar};

use finders::{
    cited_in, context_in, describes_player, introduced_players, leaving_cue_before, past_cue_after,
    seller_context, speaks_of_a_move, stage_in, stage_phrases, window_in, Context,
};
use gazetteer::{Gazetteer, Kind, Mention};
use text::{capitalised, sentences, Folded};

/// One article to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    pub id: String,
    pub published: Option<NaiveDate>,
    pub source: String,
    pub author: String,
    pub url: String,
    pub text: String,
}

/// A claim found in an article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub claim_id: String,
    pub published: String,
    pub source: String,
    pub author: String,
    pub player: String,
    pub from_club: String,
    pub to_club: String,
    pub stage: String,
    pub window: String,
    pub text: String,
    pub url: String,
    pub cites: String,
    pub market_value_eur: String,
    pub contract_until: String,
    pub player_age: String,
    pub fee_eur: String,
    pub article_id: String,
    pub evidence: String,
    pub confidence: String,
}

/// What one article gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub claims: Vec<Claim>,
    pub no_player: bool,
    /// Names that fit several known players or clubs.
    pub ambiguous: Vec<String>,
    /// Capitalised names in club position (`X are interested`) that no club list knows.
    pub unmatched_clubs: Vec<String>,
    /// The article had no source (no column, `source:` line, `--source`, or citation).
    pub no_source: bool,
}

/// What the extraction needs besides the article.
pub struct Reader<'a> {
    pub names: &'a Gazetteer,
    pub stages: Vec<(Stage, Vec<String>)>,
    pub calendar: WindowCalendar,
}

/// A player of one article: a known id, or a name no list knows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Who {
    Known(u32),
    Unknown(String),
}

#[derive(Debug, Clone)]
struct PlayerMention {
    who: Who,
    start: usize,
    end: usize,
    sentence: usize,
}

#[derive(Debug, Clone)]
struct ClubMention {
    id: u32,
    start: usize,
    end: usize,
    sentence: usize,
}

fn fmt_money(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{:.0}", v))
}

/// Surname of a full name: the last word, with a particle before it (`van Aanholt`).
fn surname(name: &str) -> Option<String> {
    let words: Vec<&str> = name.split(' ').collect();
    if words.len() < 2 {
        return None;
    }
    let last = words[words.len() - 1];
    let particle = words.len() >= 3
        && matches!(
            words[words.len() - 2],
            "van" | "von" | "de" | "da" | "di" | "dos" | "der" | "del" | "el" | "le" | "la"
        );
    let s = if particle {
        format!("{} {last}", words[words.len() - 2])
    } else {
        last.to_string()
    };
    (s.len() >= 3).then_some(s)
}

impl Reader<'_> {
    /// The claims of one article.
    pub fn read(&self, article: &Article, default_source: Option<&str>) -> Found {
        let mut found = Found::default();
        let Some(published) = article.published else {
            return found;
        };
        let raw = article.text.as_str();
        let folded = Folded::new(raw);
        let bounds = sentences(raw);
        let sentence_of = |at: usize| {
            bounds
                .partition_point(|&(_, e)| e <= at)
                .min(bounds.len().saturating_sub(1))
        };
        let mentions = self.names.find(raw, &folded);

        // Players and clubs named in full.
        let mut players: Vec<PlayerMention> = Vec::new();
        // Managers and other people named like players (`Arsenal manager Mikel Arteta`).
        let mut people: Vec<PlayerMention> = Vec::new();
        let mut clubs: Vec<ClubMention> = Vec::new();
        let club_ids: Vec<u32> = mentions
            .iter()
            .filter(|m| m.kind == Kind::Club && m.entities.len() == 1)
            .map(|m| m.entities[0])
            .collect();
        for m in &mentions {
            let text = &raw[m.start..m.end];
            match (m.kind, m.entities.as_slice()) {
                (Kind::Club, [id]) => clubs.push(ClubMention {
                    id: *id,
                    start: m.start,
                    end: m.end,
                    sentence: sentence_of(m.start),
                }),
                (Kind::Club, _) => found.ambiguous.push(text.to_string()),
                (Kind::Player, ids) => {
                    // Several players of this name: the one whose club the article names.
                    let who = if ids.len() == 1 {
                        Some(ids[0])
                    } else {
                        let at_club: Vec<u32> = ids
                            .iter()
                            .copied()
                            .filter(|&p| {
                                self.names
                                    .club_on(p, published)
                                    .is_some_and(|c| club_ids.contains(&c))
                            })
                            .collect();
                        (at_club.len() == 1).then(|| at_club[0])
                    };
                    // A manager, agent or relative is named like a player: `Roma manager Jose
                    // Mourinho`, `his agent Mino Raiola`.
                    let single_word = !text.trim().contains(char::is_whitespace);
                    if not_a_player_here(raw, m.start, m.end, single_word) {
                        if let (Some(p), false) = (who, single_word) {
                            people.push(PlayerMention {
                                who: Who::Known(p),
                                start: m.start,
                                end: m.end,
                                sentence: sentence_of(m.start),
                            });
                        }
                        continue;
                    }
                    // A known name followed by more of a name (`Randal Hakimi Sallai` where
                    // only `Randal Hakimi` is known) is another player, no list knows.
                    let more = name_continues(raw, m.end, &mentions);
                    if more > m.end {
                        players.push(PlayerMention {
                            who: Who::Unknown(raw[m.start..more].to_string()),
                            start: m.start,
                            end: more,
                            sentence: sentence_of(m.start),
                        });
                        continue;
                    }
                    match who {
                        Some(p) => players.push(PlayerMention {
                            who: Who::Known(p),
                            start: m.start,
                            end: m.end,
                            sentence: sentence_of(m.start),
                        }),
                        None => found.ambiguous.push(text.to_string()),
                    }
                }
            }
        }
        // Players no list knows, introduced by their position.
        let taken = |a: usize, b: usize, mentions: &[Mention]| {
            mentions.iter().any(|m| a < m.end && m.start < b)
        };
        for &(s0, s1) in &bounds {
            for (a, b) in introduced_players(&raw[s0..s1]) {
                let (a, b) = (s0 + a, s0 + b);
                // `20-year-old Dutch midfielder`: a nationality, not a name.
                if fold(&raw[a..b]).split(' ').any(Gazetteer::is_common_word) {
                    continue;
                }
                // A longer name wins over a known player's shorter one inside it (`Andrew
                // Moran` over a player called `Andrew`).
                let inside =
                    |p: &PlayerMention| p.start >= a && p.end <= b && (p.end - p.start) < (b - a);
                if players.iter().any(inside) {
                    players.retain(|p| !inside(p));
                }
                let free = !taken(a, b, &mentions)
                    || !players.iter().any(|p| a < p.end && p.start < b)
                        && !clubs.iter().any(|c| a < c.end && c.start < b);
                if free && !not_a_player_here(raw, a, b, false) {
                    players.push(PlayerMention {
                        who: Who::Unknown(raw[a..b].to_string()),
                        start: a,
                        end: b,
                        sentence: sentence_of(a),
                    });
                }
            }
        }
        // Surnames of the players named in full, elsewhere in the article.
        let full: Vec<(Who, String)> = {
            let mut v: Vec<(Who, String)> = players
                .iter()
                .map(|p| (p.who.clone(), fold(&raw[p.start..p.end])))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut by_surname: BTreeMap<String, Vec<Who>> = BTreeMap::new();
        for (who, name) in &full {
            if let Some(s) = surname(name) {
                let e = by_surname.entry(s).or_default();
                if !e.contains(who) {
                    e.push(who.clone());
                }
            }
        }
        for (s, whos) in &by_surname {
            if whos.len() != 1 {
                continue;
            }
            let pattern = format!(" {s} ");
            let mut from = 0;
            while let Some(at) = folded.text[from..].find(&pattern) {
                let (fs, fe) = (from + at + 1, from + at + 1 + s.len());
                from = fe;
                let (a, b) = folded.original(fs, fe, raw);
                let overlaps = players.iter().any(|p| a < p.end && p.start < b)
                    || clubs.iter().any(|c| a < c.end && c.start < b);
                if !overlaps && capitalised(raw, a) {
                    players.push(PlayerMention {
                        who: whos[0].clone(),
                        start: a,
                        end: b,
                        sentence: sentence_of(a),
                    });
                }
            }
        }
        // A known player's surname alone (`Kane`), not at a sentence's start: the player of
        // that surname whose club the article names, or the name as written.
        {
            let words: Vec<(usize, usize)> = {
                let t = folded.text.as_bytes();
                let mut v = Vec::new();
                let mut i = 0;
                while i < t.len() {
                    if t[i] == b' ' {
                        i += 1;
                        continue;
                    }
                    let j = i + t[i..]
                        .iter()
                        .position(|&c| c == b' ')
                        .unwrap_or(t.len() - i);
                    v.push((i, j));
                    i = j;
                }
                v
            };
            // Single words, and pairs for hyphenated surnames (`Hudson-Odoi`).
            let mut spans: Vec<(usize, usize)> = words.clone();
            spans.extend(
                words
                    .windows(2)
                    .filter(|p| {
                        raw.as_bytes().get(folded.orig[p[1].0].wrapping_sub(1)) == Some(&b'-')
                    })
                    .map(|p| (p[0].0, p[1].1)),
            );
            spans.sort_by(|x, y| (y.1 - y.0).cmp(&(x.1 - x.0)).then(x.0.cmp(&y.0)));
            for (fs, fe) in spans {
                let w = &folded.text[fs..fe];
                if w.len() < 4 || Gazetteer::is_common_word(w) {
                    continue;
                }
                let ids = self.names.with_surname(w);
                if ids.is_empty() {
                    continue;
                }
                let (a, b) = folded.original(fs, fe, raw);
                let at_start = bounds
                    .iter()
                    .any(|&(s0, e0)| s0 <= a && a < e0 && raw[s0..a].trim().is_empty());
                let overlaps = players.iter().any(|p| a < p.end && p.start < b)
                    || clubs.iter().any(|c| a < c.end && c.start < b)
                    || mentions.iter().any(|m| a < m.end && m.start < b);
                // Standalone: no capitalised word right before (but at a sentence's start)
                // or right after (`Costa Rica`, `Copa America` are not players).
                let next_word = raw[b..].split_whitespace().next().unwrap_or("");
                let prev_word = raw[..a].split_whitespace().last().unwrap_or("");
                let cap = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
                let possessive = prev_word.ends_with("'s")
                    || prev_word.ends_with("’s")
                    || prev_word.ends_with("s'");
                let glued_after = cap(next_word.trim_start_matches(['(', '"']));
                let glued_before = !at_start && !possessive && cap(prev_word);
                if overlaps || glued_after || !capitalised(raw, a) {
                    continue;
                }
                // A known surname after capitalised words is a full name no list knows
                // (`Bernardo Berge`): the run of up to three capitalised words before it.
                let a = if glued_before {
                    match name_run_start(raw, a, &bounds) {
                        Some(start)
                            if !clubs.iter().any(|c| start < c.end && c.start < b)
                                && !players.iter().any(|p| start < p.end && p.start < b)
                                && !mentions.iter().any(|m| {
                                    m.kind == Kind::Club && start < m.end && m.start < b
                                }) =>
                        {
                            start
                        }
                        _ => continue,
                    }
                } else {
                    a
                };
                if not_a_player_here(raw, a, b, false) {
                    continue;
                }
                let at_club: Vec<u32> = ids
                    .iter()
                    .copied()
                    .filter(|&p| {
                        self.names
                            .club_on(p, published)
                            .is_some_and(|c| club_ids.contains(&c))
                    })
                    .collect();
                let who = if at_club.len() == 1 {
                    Who::Known(at_club[0])
                } else {
                    Who::Unknown(raw[a..b].to_string())
                };
                players.push(PlayerMention {
                    who,
                    start: a,
                    end: b,
                    sentence: sentence_of(a),
                });
            }
        }
        // A manager is the subject of a sentence that names no player (manager moves are
        // rumours too: `Arsenal manager Mikel Arteta is on Barcelona's shortlist`).
        for p in people {
            if !players.iter().any(|q| q.sentence == p.sentence) {
                players.push(p);
            }
        }
        players.sort_by_key(|p| p.start);
        if players.is_empty() {
            found.no_player = true;
            return found;
        }
        // A cited outlet is not a club (`according to The Athletic`).
        let citations: Vec<(usize, String)> = bounds
            .iter()
            .enumerate()
            .filter_map(|(si, &(a, b))| cited_in(&raw[a..b]).map(|c| (si, c)))
            .collect();
        clubs.retain(|c| {
            let club = &raw[c.start..c.end];
            !citations.iter().any(|(si, name)| {
                *si == c.sentence && name.len() > club.len() && name.contains(club)
            })
        });

        // The main player: the most mentioned, then the first.
        let mut order: Vec<Who> = Vec::new();
        let mut count: BTreeMap<Who, usize> = BTreeMap::new();
        for p in &players {
            if !order.contains(&p.who) {
                order.push(p.who.clone());
            }
            *count.entry(p.who.clone()).or_default() += 1;
        }
        // Sentence facts.
        let sentence_folded: Vec<Folded> = bounds
            .iter()
            .map(|&(a, b)| Folded::new(&raw[a..b]))
            .collect();
        // Each sentence's stage phrase, found once: it makes a sentence speak of a move, and
        // gives the claims of the sentence their stage.
        let sentence_stage: Vec<Option<Stage>> = sentence_folded
            .iter()
            .zip(&bounds)
            .map(|(f, &(a, b))| stage_in(&f.text, &raw[a..b], &self.stages))
            .collect();
        let moves: Vec<bool> = sentence_folded
            .iter()
            .zip(&sentence_stage)
            .map(|(f, stage)| stage.is_some() || speaks_of_a_move(&f.text))
            .collect();

        // Clubs each player owns (written as his), clubs that are someone's past or present.
        let mut own: BTreeMap<Who, Vec<(u32, String)>> = BTreeMap::new();
        let mut owned_by_someone: Vec<usize> = Vec::new();
        let mut not_buyer: Vec<usize> = Vec::new();
        for (ci, c) in clubs.iter().enumerate() {
            let (s0, _) = bounds.get(c.sentence).copied().unwrap_or((0, raw.len()));
            if leaving_cue_before(&raw[s0..c.start])
                || past_cue_after(&raw[c.end..], published.year())
                || seller_context(&raw[s0..c.start], &raw[c.end..])
            {
                not_buyer.push(ci);
            }
            // The next player mention after the club, in the same sentence, with only
            // describing words between.
            if let Some(p) = players
                .iter()
                .find(|p| p.start >= c.end && p.sentence == c.sentence)
            {
                let between = &raw[c.end..p.start];
                let other_club_between = clubs.iter().any(|o| o.start >= c.end && o.end <= p.start);
                if !other_club_between && describes_player(between) {
                    own.entry(p.who.clone()).or_default().push((
                        c.id,
                        format!("'{}' written as his club", &raw[c.start..p.end]),
                    ));
                    owned_by_someone.push(ci);
                }
            }
        }

        // The main player: mentions, plus one when a sentence introduces him (by position,
        // age, or as a club's), plus a half for a full name; then the first mentioned.
        let introduced: Vec<Who> = players
            .iter()
            .filter(|p| {
                let before = &raw[bounds.get(p.sentence).map_or(0, |b| b.0)..p.start];
                INTRODUCED.is_match(before)
            })
            .map(|p| p.who.clone())
            .chain(own.keys().cloned())
            .collect();
        let weight = |w: &Who| -> f64 {
            let full = players
                .iter()
                .any(|p| &p.who == w && raw[p.start..p.end].trim().contains(' '));
            count[w] as f64
                + if introduced.contains(w) { 1.0 } else { 0.0 }
                + if full { 0.5 } else { 0.0 }
        };
        let Some(main) = order
            .iter()
            .max_by(|a, b| {
                weight(a).total_cmp(&weight(b)).then_with(|| {
                    let pos = |w: &Who| order.iter().position(|o| o == w).unwrap_or(0);
                    pos(b).cmp(&pos(a))
                })
            })
            .cloned()
        else {
            found.no_player = true;
            return found;
        };

        let source = if !article.source.trim().is_empty() {
            article.source.trim().to_string()
        } else if let Some(s) = default_source {
            s.to_string()
        } else if let Some((_, s)) = citations
            .iter()
            .find(|(_, c)| !clubs.iter().any(|k| fold(&raw[k.start..k.end]) == fold(c)))
        {
            s.clone()
        } else {
            found.no_source = true;
            return found;
        };
        // A cited name that is a player or a club is someone quoted, not a source.
        let named: Vec<String> = players
            .iter()
            .map(|p| fold(&raw[p.start..p.end]))
            .chain(clubs.iter().map(|c| fold(&raw[c.start..c.end])))
            .collect();
        let cites = citations
            .iter()
            .map(|(_, c)| c.clone())
            .find(|c| {
                let f = fold(c);
                !named.iter().any(|n| f.contains(n.as_str()))
            })
            .filter(|c| fold(c) != fold(&source))
            .unwrap_or_default();

        // Article-level window: the first a sentence names (closing on or after publication).
        let window_of = |range: &[usize]| -> Option<(Window, String)> {
            range.iter().find_map(|&si| {
                let (a, b) = bounds[si];
                window_in(&raw[a..b], published)
                    .filter(|(w, _)| self.calendar.close(*w) >= published)
            })
        };
        let all: Vec<usize> = (0..bounds.len()).collect();
        // Looked for only when a player's own sentences name no window.
        let article_window = std::cell::OnceCell::new();

        let mut n = 0;
        // The main player first; another player gets only the clubs linked to him alone (a
        // club linked to the main player in a sentence naming both is the main player's).
        let mut main_buyers: Vec<u32> = Vec::new();
        let mut main_own: Vec<u32> = Vec::new();
        let mut by_weight: Vec<&Who> = order.iter().filter(|w| **w == main).collect();
        by_weight.extend(order.iter().filter(|w| **w != main));
        for who in by_weight {
            let mine: Vec<usize> = (0..bounds.len())
                .filter(|&si| {
                    let named = players.iter().any(|p| p.sentence == si && &p.who == who);
                    let no_one = !players.iter().any(|p| p.sentence == si);
                    named || (no_one && *who == main)
                })
                .collect();
            // The player's club.
            let mut from: Option<(u32, String)> = own.get(who).and_then(|v| v.first().cloned());
            if from.is_none() {
                from = clubs
                    .iter()
                    .enumerate()
                    .filter(|(ci, c)| mine.contains(&c.sentence) && not_buyer.contains(ci))
                    .find(|(_, c)| {
                        let (s0, _) = bounds[c.sentence];
                        leaving_cue_before(&raw[s0..c.start])
                            || seller_context(&raw[s0..c.start], &raw[c.end..])
                    })
                    .map(|(_, c)| {
                        (
                            c.id,
                            format!("'{}' after a word of leaving", &raw[c.start..c.end]),
                        )
                    });
            }
            let on_file = match who {
                Who::Known(p) => self.names.club_on(*p, published),
                Who::Unknown(_) => None,
            };
            let his_clubs = match who {
                Who::Known(p) => self.names.clubs_on(*p, published),
                Who::Unknown(_) => Vec::new(),
            };
            if from.is_none() {
                from =
                    on_file.map(|c| (c, format!("his club on {published} in the transfers file")));
            }
            let from_id = from.as_ref().map(|f| f.0);
            // Linked clubs, in order of first mention.
            let mut buyers: Vec<(u32, Vec<usize>)> = Vec::new();
            for (ci, c) in clubs.iter().enumerate() {
                if !mine.contains(&c.sentence) || !moves[c.sentence] {
                    continue;
                }
                let owned_elsewhere = owned_by_someone.contains(&ci)
                    && !own
                        .get(who)
                        .is_some_and(|v| v.iter().any(|(id, _)| *id == c.id));
                if Some(c.id) == from_id
                    || his_clubs.contains(&c.id)
                    || not_buyer.contains(&ci)
                    || owned_elsewhere
                    || own
                        .get(who)
                        .is_some_and(|v| v.iter().any(|(id, _)| *id == c.id))
                {
                    continue;
                }
                match buyers.iter_mut().find(|(id, _)| *id == c.id) {
                    Some((_, s)) => {
                        if !s.contains(&c.sentence) {
                            s.push(c.sentence);
                        }
                    }
                    None => buyers.push((c.id, vec![c.sentence])),
                }
            }
            if *who == main {
                main_buyers = buyers.iter().map(|(c, _)| *c).collect();
                main_own = his_clubs.clone();
                main_own.extend(from_id);
            } else {
                // A shared club stays when this player is introduced in the club's sentence
                // with a list word between them (`Ziyech, 28, and French duo Giroud`).
                let introduced_in = |si: usize| {
                    players.iter().any(|p| {
                        &p.who == who
                            && p.sentence == si
                            && INTRODUCED.is_match(&raw[bounds[si].0..p.start])
                    })
                };
                buyers.retain(|(c, sents)| {
                    !main_own.contains(c)
                        && (!main_buyers.contains(c)
                            || (SHARED_OK && sents.iter().any(|&si| introduced_in(si))))
                });
            }
            if buyers.is_empty() {
                continue;
            }
            // The longest spelling in the article, as written (a surname alone stays so).
            let written = players
                .iter()
                .filter(|p| &p.who == who)
                .map(|p| raw[p.start..p.end].to_string())
                .max_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)))
                .unwrap_or_default();
            let name = written;
            // Context from the player's sentences, first stated wins.
            let mut context = Context::default();
            for &si in &mine {
                let (a, b) = bounds[si];
                let c = context_in(&raw[a..b], published);
                context.age = context.age.or(c.age);
                context.market_value_eur = context.market_value_eur.or(c.market_value_eur);
                context.fee_eur = context.fee_eur.or(c.fee_eur);
                context.contract_until = context.contract_until.or(c.contract_until);
            }
            let player_window =
                window_of(&mine).or_else(|| article_window.get_or_init(|| window_of(&all)).clone());
            for (club, sents) in buyers {
                n += 1;
                let mut stage: Option<Stage> = None;
                for &si in &sents {
                    if let Some(s) = sentence_stage[si] {
                        stage = Some(match stage {
                            Some(Stage::Denied) => Stage::Denied,
                            _ if s == Stage::Denied => Stage::Denied,
                            Some(old) if old.rank() >= s.rank() => old,
                            _ => s,
                        });
                    }
                }
                let window = window_of(&sents).or_else(|| player_window.clone());
                let text: Vec<&str> = sents
                    .iter()
                    .map(|&si| raw[bounds[si].0..bounds[si].1].trim())
                    .collect();
                let club_name = &self.names.clubs[club as usize];
                let mut evidence = vec![
                    format!(
                        "player: '{name}' ({})",
                        match who {
                            Who::Known(_) => "a known player",
                            Who::Unknown(_) => "introduced by position; not in the transfers file",
                        }
                    ),
                    format!(
                        "to_club: '{}'",
                        clubs
                            .iter()
                            .find(|c| c.id == club && sents.contains(&c.sentence))
                            .map_or(club_name.as_str(), |c| &raw[c.start..c.end])
                    ),
                ];
                if let Some((_, how)) = &from {
                    evidence.push(format!("from_club: {how}"));
                }
                if let Some((_, words)) = &window {
                    evidence.push(format!("window: '{words}'"));
                }
                if let Some(s) = stage {
                    evidence.push(format!("stage: {}", s.name()));
                }
                if !cites.is_empty() {
                    evidence.push(format!("cites: '{cites}'"));
                }
                let mut confidence: f64 = match who {
                    Who::Known(_) => 0.9,
                    Who::Unknown(_) => 0.7,
                };
                if !sents
                    .iter()
                    .any(|si| players.iter().any(|p| p.sentence == *si && &p.who == who))
                {
                    confidence *= 0.8; // the club's sentence names no player
                }
                if stage.is_none() {
                    confidence *= 0.9;
                }
                found.claims.push(Claim {
                    claim_id: format!("{}-{n}", article.id),
                    published: published.to_string(),
                    source: source.clone(),
                    author: article.author.clone(),
                    player: name.clone(),
                    from_club: from
                        .as_ref()
                        .map(|(c, _)| self.names.clubs[*c as usize].clone())
                        .unwrap_or_default(),
                    to_club: club_name.clone(),
                    stage: stage.map(|s| s.name().to_string()).unwrap_or_default(),
                    window: window
                        .as_ref()
                        .map(|(w, _)| w.to_string())
                        .unwrap_or_default(),
                    text: text.join(" "),
                    url: article.url.clone(),
                    cites: cites.clone(),
                    market_value_eur: fmt_money(context.market_value_eur),
                    contract_until: context
                        .contract_until
                        .map(|y| y.to_string())
                        .unwrap_or_default(),
                    player_age: context.age.map(|a| a.to_string()).unwrap_or_default(),
                    fee_eur: fmt_money(context.fee_eur),
                    article_id: article.id.clone(),
                    evidence: evidence.join("; "),
                    confidence: format!("{confidence:.2}"),
                });
            }
        }
        // Club-like names that matched nothing: a capitalised name right before `are`/`have`
        // + a move word, that is neither a known name nor a player.
        for (si, &(a, b)) in bounds.iter().enumerate() {
            if !moves[si] {
                continue;
            }
            for m in UNMATCHED.captures_iter(&raw[a..b]) {
                let Some(g) = m.get(1) else { continue };
                let (x, y) = (a + g.start(), a + g.end());
                let known = mentions.iter().any(|k| x < k.end && k.start < y)
                    || players.iter().any(|p| x < p.end && p.start < y);
                let word = g.as_str();
                if !known && !NOT_CLUBS.contains(&word.split(' ').next().unwrap_or("")) {
                    found.unmatched_clubs.push(word.to_string());
                }
            }
        }
        found
    }
}

static UNMATCHED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\b((?:[A-Z][\p{L}'’.-]+)(?:\s+[A-Z][\p{L}'’.-]+){0,3})\s+(?:are|have|were|had)\s+(?:\w+\s+){0,2}(?:interested|keen|monitoring|tracking|eyeing|considering|set|ready|plotting|preparing|willing|in\s+talks|made|submitted|launched|joined|leading|hoping|looking)\b").expect("a valid pattern")
});

/// Where a name that ends at `end` really ends: after up to two more capitalised words that
/// are names (not common words, not the start of another name found), written with a single
/// space between.
fn name_continues(raw: &str, end: usize, mentions: &[Mention]) -> usize {
    let mut at = end;
    for _ in 0..2 {
        let rest = &raw[at..];
        if !rest.starts_with(' ') || rest.starts_with("  ") {
            break;
        }
        let word_start = at + 1;
        let word: &str = raw[word_start..]
            .split(|c: char| {
                c.is_whitespace() || matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | ')' | '"')
            })
            .next()
            .unwrap_or("");
        let capital = word.chars().next().is_some_and(char::is_uppercase);
        let clean = !word.is_empty() && word.chars().all(|c| c.is_alphabetic() || c == '-');
        let other = mentions.iter().any(|m| m.start == word_start);
        if !capital || !clean || other || fold(word).split(' ').any(Gazetteer::is_common_word) {
            break;
        }
        at = word_start + word.len();
    }
    at
}

/// The start of the run of capitalised words (one to three, names rather than common words)
/// that ends right before `at`, within its sentence; `None` when a word of it is not a name.
fn name_run_start(raw: &str, at: usize, bounds: &[(usize, usize)]) -> Option<usize> {
    let sentence_start = bounds
        .iter()
        .find(|&&(s0, e0)| s0 <= at && at < e0)
        .map_or(0, |b| b.0);
    let mut start = at;
    let mut words = 0;
    loop {
        let before = raw[sentence_start..start].trim_end();
        if before.len() == raw[sentence_start..start].len() && start != sentence_start {
            return None; // glued punctuation, e.g. `Saint-Germain`
        }
        let word_start = before
            .rfind(|c: char| c.is_whitespace())
            .map_or(0, |i| i + 1);
        let w = &before[word_start..];
        let capital = w.chars().next().is_some_and(char::is_uppercase);
        let clean = w.chars().all(|c| c.is_alphabetic() || c == '-');
        if w.is_empty() || !capital || !clean {
            break; // also a possessive (`Marseille's`): the name starts after it
        }
        if fold(w).split(' ').any(Gazetteer::is_common_word) {
            return None;
        }
        start = sentence_start + word_start;
        words += 1;
        if words == 3 {
            break;
        }
    }
    (words >= 1).then_some(start)
}

/// Whether the name at `start..end` of `raw` is not a player here: it follows a role word
/// (`manager Jose Mourinho`), or it is one word glued to other capitalised words (`Jose` of
/// `Jose Mourinho`, `Costa` of `Costa Rica`).
fn not_a_player_here(raw: &str, start: usize, end: usize, single_word: bool) -> bool {
    // The role word may stand before the whole capitalised run the name is part of.
    let run_start = {
        let mut at = start;
        loop {
            let before = raw[..at].trim_end();
            let word_start = before
                .rfind(|c: char| c.is_whitespace())
                .map_or(0, |i| i + 1);
            let w = &before[word_start..];
            if !w.is_empty()
                && w.chars().next().is_some_and(char::is_uppercase)
                && before.len() < at
                && !w.ends_with([',', '.', ';', ':'])
            {
                at = word_start;
            } else {
                break at;
            }
        }
    };
    if ROLE_BEFORE.is_match(&raw[..run_start]) {
        return true;
    }
    if single_word {
        let next = raw[end..].split_whitespace().next().unwrap_or("");
        let next_cap = next.chars().next().is_some_and(char::is_uppercase);
        let prev = raw[..start].split_whitespace().last().unwrap_or("");
        let prev_cap = prev.chars().next().is_some_and(char::is_uppercase)
            && !prev.ends_with(['.', '!', '?', ':', '"']);
        return next_cap || (prev_cap && start > 0);
    }
    false
}

/// Words right before a name that make it someone other than a player.
static ROLE_BEFORE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(?:manager|boss|coach|head\s+coach|chairman|director|president|owner|agent|father|mother|mum|dad|brother|sister|wife|pundit|legend|chief|executive|scout|adviser|advisor)\s+$").expect("a valid pattern")
});

/// Words right before a player that introduce him: a position, an age, a possessive club.
static INTRODUCED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)(?:striker|forward|midfielder|defender|winger|goalkeeper|keeper|centre-back|center-back|full-back|left-back|right-back|wing-back|playmaker|youngster|teenager|international|captain|attacker|-year-old)\s+$").expect("a valid pattern")
});

const SHARED_OK: bool = true;

/// Capitalised first words that do not start a club's name.
const NOT_CLUBS: &[&str] = &[
    "They",
    "The",
    "Both",
    "Several",
    "Many",
    "Other",
    "Clubs",
    "Sides",
    "Teams",
    "Rivals",
    "Scouts",
    "Bosses",
    "Officials",
    "Talks",
    "He",
    "She",
    "We",
    "Fans",
    "Premier",
    "Serie",
    "La",
    "Bundesliga",
    "Ligue",
    "Championship",
    "European",
    "English",
    "Italian",
    "Spanish",
    "German",
    "French",
    "Saudi",
    "MLS",
    "Both",
    "All",
    "Some",
    "These",
    "Those",
    "Their",
    "His",
];

/// The header of the claims file: the claims columns `score` reads, then `article_id`,
/// `evidence` and `confidence` (the order of [`Claim`]'s fields).
pub fn claims_header() -> Vec<&'static str> {
    crate::ingest::CLAIM_COLUMNS
        .iter()
        .map(|c| c.name)
        .chain(["article_id", "evidence", "confidence"])
        .collect()
}

/// Counts and lists of a run, for the terminal and `<out>.summary.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExtractSummary {
    pub files: Vec<FileCount>,
    pub rows_add_up: bool,
    pub articles: u64,
    pub articles_with_claims: u64,
    pub articles_without_player: u64,
    pub articles_without_source: u64,
    pub claims: u64,
    pub known_players: usize,
    pub known_clubs: usize,
    /// Name → articles where it fitted several players or clubs.
    pub ambiguous_names: BTreeMap<String, u64>,
    /// Club-like name → articles; the 100 most frequent.
    pub unmatched_clubs: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCount {
    pub file: String,
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_rejected: u64,
}

/// Options of `rumour extract`.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub articles: Vec<PathBuf>,
    pub transfers: PathBuf,
    pub known_names: Option<PathBuf>,
    /// Source of articles that do not say theirs.
    pub source: Option<String>,
    pub out: PathBuf,
    pub input: InputFormat,
    pub date_format: Option<String>,
}

fn parse_date(s: &str, format: Option<&str>) -> std::result::Result<NaiveDate, String> {
    crate::ingest::fields::date_or_datetime(s.trim())
        .or_else(|e| crate::ingest::fields::date_in_format(s.trim(), format, e))
}

/// A `.txt` article: `date YYYY-MM-DD` first, then the text; `source:`, `author:`, `url:`
/// lines anywhere are fields, not text.
fn txt_article(
    path: &Path,
    content: &str,
    format: Option<&str>,
) -> std::result::Result<Article, Reject> {
    let id = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().to_string());
    let reject = |value: &str, reason: &str| Reject {
        file: path.display().to_string(),
        line: 1,
        column: "date".into(),
        value: value
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .chars()
            .take(40)
            .collect(),
        reason: reason.into(),
    };
    let body = content.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = body
        .strip_prefix("date ")
        .or_else(|| body.strip_prefix("Date "))
        .or_else(|| body.strip_prefix("date:"))
        .or_else(|| body.strip_prefix("Date:"))
    else {
        return Err(reject(body, "a text article starts with `date YYYY-MM-DD`"));
    };
    let rest = rest.trim_start();
    let (day, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let published = parse_date(day, format).map_err(|e| reject(day, &e))?;
    let mut article = Article {
        id,
        published: Some(published),
        ..Article::default()
    };
    let mut lines = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        let field = |k: &str| {
            t.get(..k.len())
                .filter(|p| p.eq_ignore_ascii_case(k))
                .map(|_| t[k.len()..].trim().to_string())
        };
        if let Some(v) = field("source:") {
            article.source = v;
        } else if let Some(v) = field("author:") {
            article.author = v;
        } else if let Some(v) = field("url:") {
            article.url = v;
        } else {
            lines.push(line);
        }
    }
    article.text = lines.join("\n").trim().to_string();
    if article.text.is_empty() {
        return Err(Reject {
            column: "text".into(),
            reason: "no text after the date".into(),
            ..reject("", "")
        });
    }
    Ok(article)
}

/// The articles of one CSV file, with the rows it rejects.
fn csv_articles(
    path: &Path,
    opts: &ExtractOptions,
    rejects: &mut Vec<Reject>,
    counts: &mut FileCount,
) -> Result<Vec<Article>> {
    let (mut rdr, header, _readable) = csv_reader(path, opts.input, true).map_err(Error::Input)?;
    let pos = |name: &str| header_position(&header, name);
    let mut required = vec!["published", "text"];
    if opts.source.is_none() {
        required.push("source");
    }
    for col in required {
        if pos(col).is_none() {
            let found: Vec<&str> = header.iter().collect();
            return Err(Error::Input(InputError::MissingColumn {
                file: path.to_path_buf(),
                column: col.into(),
                hint: format!(
                    " (articles need published, source and text; found {}{})",
                    found.join(", "),
                    if col == "source" {
                        "; or pass --source"
                    } else {
                        ""
                    }
                ),
            }));
        }
    }
    let (p_id, p_pub, p_src, p_text, p_author, p_url) = (
        pos("article_id"),
        pos("published"),
        pos("source"),
        pos("text"),
        pos("author"),
        pos("url"),
    );
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        counts.rows_read += 1;
        let line = i as u64 + 2;
        let file = path.display().to_string();
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                rejects.push(Reject {
                    file,
                    line: e.position().map_or(line, |p| p.line()),
                    column: String::new(),
                    value: String::new(),
                    reason: format!("not a CSV row: {e}"),
                });
                counts.rows_rejected += 1;
                continue;
            }
        };
        let get = |p: Option<usize>| p.and_then(|p| rec.get(p)).unwrap_or("").to_string();
        let published = get(p_pub);
        let text = get(p_text);
        let bad = |column: &str, value: &str, reason: String| Reject {
            file: path.display().to_string(),
            line,
            column: column.into(),
            value: value.chars().take(60).collect(),
            reason,
        };
        let day = match parse_date(&published, opts.date_format.as_deref()) {
            Ok(d) => d,
            Err(e) => {
                rejects.push(bad("published", &published, e));
                counts.rows_rejected += 1;
                continue;
            }
        };
        if text.trim().is_empty() {
            rejects.push(bad("text", "", "empty text".into()));
            counts.rows_rejected += 1;
            continue;
        }
        let id = get(p_id);
        counts.rows_used += 1;
        out.push(Article {
            id: if id.trim().is_empty() {
                format!("a{line}")
            } else {
                id.trim().to_string()
            },
            published: Some(day),
            source: get(p_src),
            author: get(p_author),
            url: get(p_url),
            text,
        });
    }
    Ok(out)
}

/// Reads every article file (CSV, or `.txt` articles).
///
/// # Errors
/// A file that cannot be read, a CSV without a required column.
pub fn read_articles(opts: &ExtractOptions) -> Result<(Vec<Article>, Vec<Reject>, Vec<FileCount>)> {
    let (mut articles, mut rejects, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for path in &opts.articles {
        let mut counts = FileCount {
            file: path.display().to_string(),
            ..FileCount::default()
        };
        let is_txt = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
        if is_txt {
            let r = readable(path, opts.input).map_err(Error::Input)?;
            let content = std::fs::read_to_string(&r.read_path).map_err(|e| {
                Error::Input(InputError::Unreadable {
                    file: path.clone(),
                    source: e,
                })
            })?;
            counts.rows_read = 1;
            match txt_article(path, &content, opts.date_format.as_deref()) {
                Ok(a) => {
                    counts.rows_used = 1;
                    articles.push(a);
                }
                Err(r) => {
                    counts.rows_rejected = 1;
                    rejects.push(r);
                }
            }
        } else {
            articles.extend(csv_articles(path, opts, &mut rejects, &mut counts)?);
        }
        files.push(counts);
    }
    Ok((articles, rejects, files))
}

/// The claims of every article, in article order (in parallel; the same output whatever the
/// thread count).
pub fn extract_all(reader: &Reader, articles: &[Article], source: Option<&str>) -> Vec<Found> {
    articles
        .par_iter()
        .with_min_len(256)
        .map(|a| reader.read(a, source))
        .collect()
}

/// A temporary name beside `path` for a file written then renamed over it.
fn temporary_beside(path: &Path) -> PathBuf {
    path.with_extension(format!(
        "{}.rumour-{}",
        path.extension()
            .map_or_else(String::new, |e| e.to_string_lossy().to_string()),
        std::process::id()
    ))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_beside(path);
    let out_err = |source| Error::Output {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(out_err)?;
    }
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(out_err)
}

fn csv_bytes<T: Serialize>(rows: &[T], header: &[&str]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(header)
            .map_err(|e| Error::Usage(e.to_string()))?;
    }
    for r in rows {
        w.serialize(r).map_err(|e| Error::Usage(e.to_string()))?;
    }
    w.into_inner().map_err(|e| Error::Usage(e.to_string()))
}

/// The companion files of `out`: `<stem>.rejects.csv` and `<stem>.summary.json`.
pub fn companions(out: &Path) -> (PathBuf, PathBuf) {
    let stem = out
        .file_stem()
        .map_or_else(|| "claims".to_string(), |s| s.to_string_lossy().to_string());
    let dir = out.parent().unwrap_or(Path::new(""));
    (
        dir.join(format!("{stem}.rejects.csv")),
        dir.join(format!("{stem}.summary.json")),
    )
}

/// `rumour extract`: reads the articles, writes the claims (and the rejects and the summary
/// beside them), each file atomically.
///
/// # Errors
/// Unreadable inputs, a CSV without a required column, an unwritable output.
pub fn extract(
    opts: &ExtractOptions,
    aliases: &Aliases,
    settings: &crate::settings::Settings,
) -> Result<ExtractSummary> {
    let config = settings.config();
    let calendar = settings.calendar;
    let names = Gazetteer::build(
        &opts.transfers,
        opts.known_names.as_deref(),
        aliases,
        &calendar,
        opts.input,
    )?;
    let (articles, rejects, files) = read_articles(opts)?;
    let reader = Reader {
        names: &names,
        stages: stage_phrases(&config.stage_keywords),
        calendar,
    };
    let mut summary = ExtractSummary {
        rows_add_up: files
            .iter()
            .all(|f| f.rows_read == f.rows_used + f.rows_rejected),
        files,
        articles: articles.len() as u64,
        known_players: names.players.len(),
        known_clubs: names.clubs.len(),
        ..ExtractSummary::default()
    };
    let header = claims_header();
    // The claims are written as they are found, a chunk of articles at a time (read in
    // parallel, written in order), into a temporary file renamed over `--out` at the end.
    let out_err = |source| Error::Output {
        path: opts.out.clone(),
        source,
    };
    let tmp = temporary_beside(&opts.out);
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(out_err)?;
    }
    let written = (|| -> Result<()> {
        let file = std::fs::File::create(&tmp).map_err(out_err)?;
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
        let csv_err = |e: csv::Error| out_err(std::io::Error::other(e.to_string()));
        w.write_record(&header).map_err(csv_err)?;
        let mut unmatched: BTreeMap<String, u64> = BTreeMap::new();
        for chunk in articles.chunks(1 << 16) {
            for f in extract_all(&reader, chunk, opts.source.as_deref()) {
                summary.articles_with_claims += u64::from(!f.claims.is_empty());
                summary.articles_without_player += u64::from(f.no_player);
                summary.articles_without_source += u64::from(f.no_source);
                for a in f.ambiguous {
                    *summary.ambiguous_names.entry(a).or_default() += 1;
                }
                for u in f.unmatched_clubs {
                    *unmatched.entry(u).or_default() += 1;
                }
                summary.claims += f.claims.len() as u64;
                for c in &f.claims {
                    w.serialize(c).map_err(csv_err)?;
                }
            }
        }
        let mut top: Vec<(String, u64)> = unmatched.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        summary.unmatched_clubs = top.into_iter().take(100).collect();
        let file = w
            .into_inner()
            .map_err(|e| out_err(std::io::Error::other(e.to_string())))?
            .into_inner()
            .map_err(|e| out_err(e.into_error()))?;
        file.sync_all().map_err(out_err)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let (rejects_path, summary_path) = companions(&opts.out);
    std::fs::rename(&tmp, &opts.out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        out_err(e)
    })?;
    write_atomically(
        &rejects_path,
        &csv_bytes(&rejects, &["file", "line", "column", "value", "reason"])?,
    )?;
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Usage(e.to_string()))?;
    write_atomically(&summary_path, format!("{json}\n").as_bytes())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::gazetteer::Row;
    use super::*;

    fn names() -> Gazetteer {
        let mut aliases = Aliases::default();
        for (a, c) in [
            ("West Brom", "West Bromwich Albion"),
            ("Newcastle", "Newcastle United"),
            ("Leicester", "Leicester City"),
            ("OM", "Marseille"),
            ("Roma", "AS Roma"),
        ] {
            aliases.insert(crate::normalise::NameKind::Club, a, c);
        }
        let transfers = [
            Row::moved(
                "Leonardo Balerdi",
                "Borussia Dortmund",
                "Marseille",
                "2020-summer",
            ),
            Row::moved(
                "Ainsley Maitland-Niles",
                "Arsenal U23",
                "Arsenal",
                "2016-summer",
            ),
            Row::moved(
                "Kylian Mbappe",
                "AS Monaco",
                "Paris Saint-Germain",
                "2018-summer",
            ),
            Row::moved("Jose Mourinho", "Sporting", "Benfica", "1990-summer"),
            Row::moved("X", "Juventus", "Atletico Madrid", "2019-summer"),
            Row::moved("Y", "Southampton", "Leicester City", "2019-summer"),
            Row::moved(
                "Z",
                "West Bromwich Albion",
                "Newcastle United",
                "2019-summer",
            ),
            Row::moved("W", "AS Roma", "Inter", "2019-summer"),
            Row::moved("Yoshinori Muto", "Mainz", "Newcastle United", "2018-summer"),
            Row::moved("Sander Berge", "Genk", "Sheffield United", "2020-winter"),
            Row::moved("Randal Hakimi", "Lyon", "Chelsea", "2019-summer"),
            Row::moved("V", "Girona", "Manchester United", "2019-summer"),
            Row::moved("U", "West Ham United", "Fulham", "2019-summer"),
            Row {
                kind: "loan".into(),
                ..Row::moved("Yoshinori Muto", "Newcastle United", "Eibar", "2020-summer")
            },
        ];
        Gazetteer::from_rows(&transfers, &[], &aliases, &WindowCalendar::default()).expect("names")
    }

    fn read(text: &str, published: &str) -> Found {
        let names = names();
        let reader = Reader {
            names: &names,
            stages: stage_phrases(&crate::wording::default_keywords()),
            calendar: WindowCalendar::default(),
        };
        let article = Article {
            id: "a".into(),
            published: crate::ingest::fields::date(published).ok(),
            source: "Desk".into(),
            text: text.into(),
            ..Article::default()
        };
        reader.read(&article, None)
    }

    fn pairs(found: &Found) -> Vec<(String, String, String)> {
        found
            .claims
            .iter()
            .map(|c| (c.player.clone(), c.from_club.clone(), c.to_club.clone()))
            .collect()
    }

    #[test]
    fn the_header_names_the_claim_fields_in_their_order() {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(Claim {
            claim_id: String::new(),
            published: String::new(),
            source: String::new(),
            author: String::new(),
            player: String::new(),
            from_club: String::new(),
            to_club: String::new(),
            stage: String::new(),
            window: String::new(),
            text: String::new(),
            url: String::new(),
            cites: String::new(),
            market_value_eur: String::new(),
            contract_until: String::new(),
            player_age: String::new(),
            fee_eur: String::new(),
            article_id: String::new(),
            evidence: String::new(),
            confidence: String::new(),
        })
        .expect("row");
        let bytes = w.into_inner().expect("bytes");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(
            text.lines().next(),
            Some(claims_header().join(",").as_str())
        );
    }

    #[test]
    fn an_article_in_the_seed_s_shape() {
        let f = read(
            "Juventus tipped to return for Leonardo Balerdi next summer. Marseille never stood in the way of a sale, says La Tribune Olympienne. The same account reports interest from Juventus and Atletico Madrid in the 26-year-old, expecting both to come back in the summer of 2026. His contract with Marseille runs until 2028, and Transfermarkt values him at €20 million.",
            "2025-09-04",
        );
        assert_eq!(
            pairs(&f),
            [
                (
                    "Leonardo Balerdi".into(),
                    "Marseille".into(),
                    "Juventus".into()
                ),
                (
                    "Leonardo Balerdi".into(),
                    "Marseille".into(),
                    "Atletico Madrid".into()
                ),
            ]
        );
        for c in &f.claims {
            assert_eq!(
                (c.window.as_str(), c.stage.as_str(), c.player_age.as_str()),
                ("2026-summer", "interest", "26")
            );
            assert_eq!(
                (c.market_value_eur.as_str(), c.contract_until.as_str()),
                ("20000000", "2028")
            );
            assert_eq!(c.cites, "La Tribune Olympienne");
        }
        assert_eq!(f.claims[0].claim_id, "a-1");
    }

    #[test]
    fn a_possessive_names_the_player_s_club_and_a_surname_the_player() {
        let f = read("Juventus want Marseille's Balerdi.", "2025-09-04");
        assert_eq!(
            pairs(&f),
            [("Balerdi".into(), "Marseille".into(), "Juventus".into())]
        );
    }

    #[test]
    fn every_club_of_a_list_is_linked() {
        let f = read(
            "Leicester are set to make a late loan move for Arsenal and England defender Ainsley Maitland-Niles. Southampton, West Brom and Newcastle are also interested in the 23-year-old.",
            "2021-02-01",
        );
        let to: Vec<String> = f.claims.iter().map(|c| c.to_club.clone()).collect();
        assert_eq!(
            to,
            [
                "Leicester City",
                "Southampton",
                "West Bromwich Albion",
                "Newcastle United"
            ]
        );
        assert!(f.claims.iter().all(|c| c.from_club == "Arsenal"));
        assert_eq!(f.claims[0].stage, "talks");
        assert_eq!(f.claims[1].stage, "interest");
    }

    #[test]
    fn accents_and_spellings_fold_to_the_known_names() {
        let f = read(
            "Atlético Madrid are keen on Kylian Mbappé, L'Équipe reports.",
            "2021-03-01",
        );
        assert_eq!(
            pairs(&f),
            [(
                "Kylian Mbappé".into(),
                "Paris Saint-Germain".into(),
                "Atletico Madrid".into()
            )]
        );
        assert_eq!(f.claims[0].cites, "L'Équipe");
    }

    #[test]
    fn a_loan_club_may_buy_and_the_lender_is_his_club() {
        let f = read(
            "Newcastle's Japanese striker Yoshinori Muto, 28, wants to join loan club Eibar on a permanent deal.",
            "2021-05-01",
        );
        assert_eq!(
            pairs(&f),
            [(
                "Yoshinori Muto".into(),
                "Newcastle United".into(),
                "Eibar".into()
            )]
        );
    }

    #[test]
    fn full_names_no_list_knows_around_known_names() {
        // A known surname after a first name: a player the transfers file does not know.
        let f = read(
            "West Ham United complete the signing of Bernardo Berge.",
            "2024-01-10",
        );
        assert_eq!(
            pairs(&f),
            [(
                "Bernardo Berge".into(),
                String::new(),
                "West Ham United".into()
            )]
        );
        // A known name with more name after it is another player.
        let f = read(
            "Arsenal are interested in Chelsea's Randal Hakimi Sallai, 34.",
            "2024-01-10",
        );
        assert_eq!(
            pairs(&f),
            [(
                "Randal Hakimi Sallai".into(),
                "Chelsea".into(),
                "Arsenal".into()
            )]
        );
    }

    #[test]
    fn club_names_of_two_words_in_lower_case_but_not_one() {
        let f = read(
            "Bernardo Berge could swap girona for manchester united.",
            "2024-01-10",
        );
        assert_eq!(
            f.claims
                .iter()
                .map(|c| c.to_club.as_str())
                .collect::<Vec<_>>(),
            ["Manchester United"]
        );
    }

    #[test]
    fn the_club_that_swaps_or_accepts_sells() {
        let f = read(
            "Bernardo Berge could swap Girona for Manchester United next window.",
            "2024-01-10",
        );
        assert_eq!(
            pairs(&f),
            [(
                "Bernardo Berge".into(),
                "Girona".into(),
                "Manchester United".into()
            )]
        );
        let f = read(
            "Fulham accept Girona offer: fee agreed for Bernardo Berge.",
            "2024-01-10",
        );
        assert_eq!(
            f.claims
                .iter()
                .map(|c| c.to_club.as_str())
                .collect::<Vec<_>>(),
            ["Girona"]
        );
    }

    #[test]
    fn a_denial_is_a_denied_claim() {
        let f = read(
            "Marseille have ruled out selling Leonardo Balerdi to Juventus.",
            "2025-09-04",
        );
        assert_eq!(f.claims.len(), 1);
        assert_eq!(
            (f.claims[0].to_club.as_str(), f.claims[0].stage.as_str()),
            ("Juventus", "denied")
        );
    }

    #[test]
    fn managers_past_clubs_and_other_news_are_not_claims() {
        let f = read(
            "Roma manager Jose Mourinho wants Leonardo Balerdi.",
            "2025-09-04",
        );
        assert_eq!(
            pairs(&f),
            [(
                "Leonardo Balerdi".into(),
                "Marseille".into(),
                "AS Roma".into()
            )]
        );
        // History: the club he left in 2019, and the club he joined from it.
        let f = read(
            "Leonardo Balerdi moved to Borussia Dortmund in 2019 and joined OM a year later.",
            "2025-09-04",
        );
        assert!(f.claims.is_empty(), "{:?}", pairs(&f));
        let f = read("A quiet day at the training ground.", "2025-09-04");
        assert!(f.no_player && f.claims.is_empty());
    }
}
