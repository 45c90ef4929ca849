//! One article read into claims: the names it mentions, its main player, who is linked
//! with whom, and each claim's fields with the evidence for them. [`Reader::read`] runs the
//! phases in order over a [`Scan`] of the article.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::finders::{
    cited_in, context_in, describes_player, introduced_players, leaving_cue_before, past_cue_after,
    seller_context, speaks_of_a_move, stage_in, window_in, Context,
};
use super::gazetteer::{Gazetteer, Kind, Mention};
use super::text::{capitalised, sentences, Folded};
use super::{
    fmt_money, name_continues, name_run_start, not_a_player_here, surname, Article, Claim,
    ClubMention, Found, PlayerMention, Reader, Who, INTRODUCED, NOT_CLUBS, SHARED_OK, UNMATCHED,
};
use crate::normalise::fold;
use crate::schema::Stage;
use crate::windows::Window;

impl Reader<'_> {
    /// The claims of one article.
    pub fn read(&self, article: &Article, default_source: Option<&str>) -> Found {
        let mut found = Found::default();
        let Some(published) = article.published else {
            return found;
        };
        let scan = Scan::new(self, article.text.as_str(), published);
        let (raw, bounds) = (scan.raw, &scan.bounds);
        let Named {
            mut players,
            people,
            mut clubs,
        } = scan.named(&mut found);
        scan.introduced_players(&mut players, &clubs);
        scan.surnames_elsewhere(&mut players, &clubs);
        scan.surnames_alone(&mut players, &clubs);

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

        let (sentence_stage, moves) = scan.sentence_facts();
        let owners = scan.ownership(&players, &clubs);
        let facts = Facts {
            players,
            clubs,
            sentence_stage,
            moves,
            owners,
        };
        let Some(main) = scan.main_player(&facts, &order, &count) else {
            found.no_player = true;
            return found;
        };
        let Some((source, cites)) =
            scan.source_and_cites(article, default_source, &facts, &citations)
        else {
            found.no_source = true;
            return found;
        };
        scan.claims(
            article,
            &facts,
            (&order, &main),
            (&source, &cites),
            &mut found,
        );
        scan.unmatched_clubs(&facts, &mut found);
        found
    }
}

/// Player, people and club mentions named in full.
struct Named {
    players: Vec<PlayerMention>,
    /// Managers and other people named like players (`Arsenal manager Mikel Arteta`).
    people: Vec<PlayerMention>,
    clubs: Vec<ClubMention>,
}

/// Clubs each player owns (written as his), clubs that are someone's, clubs that are not
/// buyers (left, past, or sellers by context).
struct Owners {
    own: BTreeMap<Who, Vec<(u32, String)>>,
    owned_by_someone: Vec<usize>,
    not_buyer: Vec<usize>,
}

/// A player of the article as his claims need him.
struct PlayerFacts<'w> {
    who: &'w Who,
    /// The longest spelling in the article, as written.
    name: String,
    /// His club, with how it was found.
    from: Option<(u32, String)>,
    context: Context,
    /// The window his sentences (else the article) name.
    window: Option<(Window, String)>,
}

/// What the phases found that the claims are made of.
struct Facts {
    players: Vec<PlayerMention>,
    clubs: Vec<ClubMention>,
    /// Each sentence's stage phrase, if any.
    sentence_stage: Vec<Option<Stage>>,
    /// Whether each sentence speaks of a move.
    moves: Vec<bool>,
    owners: Owners,
}

/// One article: its text folded, its sentences and the names the gazetteer found in it.
struct Scan<'s> {
    reader: &'s Reader<'s>,
    raw: &'s str,
    folded: Folded,
    bounds: Vec<(usize, usize)>,
    mentions: Vec<Mention>,
    published: NaiveDate,
    /// The clubs named unambiguously.
    club_ids: Vec<u32>,
}

impl<'s> Scan<'s> {
    fn new(reader: &'s Reader<'s>, raw: &'s str, published: NaiveDate) -> Scan<'s> {
        let folded = Folded::new(raw);
        let bounds = sentences(raw);
        let mentions = reader.names.find(raw, &folded);
        let club_ids: Vec<u32> = mentions
            .iter()
            .filter(|m| m.kind == Kind::Club && m.entities.len() == 1)
            .map(|m| m.entities[0])
            .collect();
        Scan {
            reader,
            raw,
            folded,
            bounds,
            mentions,
            published,
            club_ids,
        }
    }

    /// Of several players sharing a name, the one whose club on the day the article names
    /// (`None` when no one or more than one is).
    fn the_one_at_a_named_club(&self, ids: &[u32]) -> Option<u32> {
        let mut at_club = ids.iter().copied().filter(|&p| {
            self.reader
                .names
                .club_on(p, self.published)
                .is_some_and(|c| self.club_ids.contains(&c))
        });
        match (at_club.next(), at_club.next()) {
            (Some(p), None) => Some(p),
            _ => None,
        }
    }

    /// The sentence holding byte `at`.
    fn sentence_of(&self, at: usize) -> usize {
        self.bounds
            .partition_point(|&(_, e)| e <= at)
            .min(self.bounds.len().saturating_sub(1))
    }

    /// Players and clubs named in full; a name several players share goes to the one whose
    /// club the article names, else to `found.ambiguous`.
    fn named(&self, found: &mut Found) -> Named {
        let (raw, mentions) = (self.raw, &self.mentions);
        let sentence_of = |at: usize| self.sentence_of(at);
        // Players and clubs named in full.
        let mut players: Vec<PlayerMention> = Vec::new();
        // Managers and other people named like players (`Arsenal manager Mikel Arteta`).
        let mut people: Vec<PlayerMention> = Vec::new();
        let mut clubs: Vec<ClubMention> = Vec::new();
        for m in mentions {
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
                        self.the_one_at_a_named_club(ids)
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
                    let more = name_continues(raw, m.end, mentions);
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
        Named {
            players,
            people,
            clubs,
        }
    }

    /// Players no list knows, introduced by their position.
    fn introduced_players(&self, players: &mut Vec<PlayerMention>, clubs: &[ClubMention]) {
        let (raw, bounds, mentions) = (self.raw, &self.bounds, &self.mentions);
        let sentence_of = |at: usize| self.sentence_of(at);
        let taken = |a: usize, b: usize, mentions: &[Mention]| {
            mentions.iter().any(|m| a < m.end && m.start < b)
        };
        for &(s0, s1) in bounds {
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
                let free = !taken(a, b, mentions)
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
    }

    /// Surnames of the players named in full, elsewhere in the article.
    fn surnames_elsewhere(&self, players: &mut Vec<PlayerMention>, clubs: &[ClubMention]) {
        let (raw, folded) = (self.raw, &self.folded);
        let sentence_of = |at: usize| self.sentence_of(at);
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
    }

    /// A known player's surname alone (`Kane`), not at a sentence's start: the player of that
    /// surname whose club the article names, or the name as written.
    fn surnames_alone(&self, players: &mut Vec<PlayerMention>, clubs: &[ClubMention]) {
        let (raw, bounds, mentions, folded, names) = (
            self.raw,
            &self.bounds,
            &self.mentions,
            &self.folded,
            self.reader.names,
        );
        let sentence_of = |at: usize| self.sentence_of(at);
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
                let ids = names.with_surname(w);
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
                    match name_run_start(raw, a, bounds) {
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
                let who = match self.the_one_at_a_named_club(ids) {
                    Some(p) => Who::Known(p),
                    None => Who::Unknown(raw[a..b].to_string()),
                };
                players.push(PlayerMention {
                    who,
                    start: a,
                    end: b,
                    sentence: sentence_of(a),
                });
            }
        }
    }

    /// Each sentence's stage phrase, found once (it makes a sentence speak of a move, and
    /// gives the claims of the sentence their stage), and whether it speaks of a move.
    fn sentence_facts(&self) -> (Vec<Option<Stage>>, Vec<bool>) {
        let (raw, bounds) = (self.raw, &self.bounds);
        let sentence_folded: Vec<Folded> = bounds
            .iter()
            .map(|&(a, b)| Folded::new(&raw[a..b]))
            .collect();
        let sentence_stage: Vec<Option<Stage>> = sentence_folded
            .iter()
            .zip(bounds)
            .map(|(f, &(a, b))| stage_in(&f.text, &raw[a..b], &self.reader.stages))
            .collect();
        let moves: Vec<bool> = sentence_folded
            .iter()
            .zip(&sentence_stage)
            .map(|(f, stage)| stage.is_some() || speaks_of_a_move(&f.text))
            .collect();

        (sentence_stage, moves)
    }

    /// Clubs each player owns (written as his), clubs that are someone's past or present.
    fn ownership(&self, players: &[PlayerMention], clubs: &[ClubMention]) -> Owners {
        let (raw, bounds, published) = (self.raw, &self.bounds, self.published);
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
        Owners {
            own,
            owned_by_someone,
            not_buyer,
        }
    }

    /// The main player: mentions, plus one when a sentence introduces him (by position, age,
    /// or as a club's), plus a half for a full name; then the first mentioned.
    fn main_player(
        &self,
        facts: &Facts,
        order: &[Who],
        count: &BTreeMap<Who, usize>,
    ) -> Option<Who> {
        let (raw, bounds) = (self.raw, &self.bounds);
        let (players, own) = (&facts.players, &facts.owners.own);

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
        order
            .iter()
            .max_by(|a, b| {
                weight(a).total_cmp(&weight(b)).then_with(|| {
                    let pos = |w: &Who| order.iter().position(|o| o == w).unwrap_or(0);
                    pos(b).cmp(&pos(a))
                })
            })
            .cloned()
    }

    /// The article's source (its own, the default, or the first citation that is not a club)
    /// and the outlet it cites; `None` without a source.
    fn source_and_cites(
        &self,
        article: &Article,
        default_source: Option<&str>,
        facts: &Facts,
        citations: &[(usize, String)],
    ) -> Option<(String, String)> {
        let raw = self.raw;
        let (players, clubs) = (&facts.players, &facts.clubs);

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
            return None;
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
        Some((source, cites))
    }

    /// The claims of each player, the main one first: the clubs linked to him in his
    /// The claims of each player, the main one first: the clubs linked to him in his
    /// sentences, with his club, the window, the stage and the context.
    fn claims(
        &self,
        article: &Article,
        facts: &Facts,
        (order, main): (&[Who], &Who),
        (source, cites): (&str, &str),
        found: &mut Found,
    ) {
        let (raw, bounds) = (self.raw, &self.bounds);
        let players = &facts.players;
        let all: Vec<usize> = (0..bounds.len()).collect();
        // Looked for only when a player's own sentences name no window.
        let article_window = std::cell::OnceCell::new();

        let mut n = 0;
        // The main player first; another player gets only the clubs linked to him alone (a
        // club linked to the main player in a sentence naming both is the main player's).
        let mut main_buyers: Vec<u32> = Vec::new();
        let mut main_own: Vec<u32> = Vec::new();
        let mut by_weight: Vec<&Who> = order.iter().filter(|w| *w == main).collect();
        by_weight.extend(order.iter().filter(|w| *w != main));
        for who in by_weight {
            let mine: Vec<usize> = (0..bounds.len())
                .filter(|&si| {
                    let named = players.iter().any(|p| p.sentence == si && &p.who == who);
                    let no_one = !players.iter().any(|p| p.sentence == si);
                    named || (no_one && who == main)
                })
                .collect();
            let (from, his_clubs) = self.his_club(facts, who, &mine);
            let from_id = from.as_ref().map(|f| f.0);
            let mut buyers = self.linked_clubs(facts, who, &mine, (from_id, &his_clubs));
            if who == main {
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
            let name = players
                .iter()
                .filter(|p| &p.who == who)
                .map(|p| raw[p.start..p.end].to_string())
                .max_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)))
                .unwrap_or_default();
            let player = PlayerFacts {
                who,
                name,
                from,
                context: self.context_of(&mine),
                window: self
                    .window_of(&mine)
                    .or_else(|| article_window.get_or_init(|| self.window_of(&all)).clone()),
            };
            for (club, sents) in buyers {
                n += 1;
                let claim_id = format!("{}-{n}", article.id);
                found.claims.push(self.claim(
                    article,
                    facts,
                    &player,
                    (club, &sents),
                    (claim_id, source, cites),
                ));
            }
        }
    }

    /// The player's club: his own as written, a club he leaves, else his club on file; and
    /// every club he belongs to on the day (a loan's lender too).
    fn his_club(
        &self,
        facts: &Facts,
        who: &Who,
        mine: &[usize],
    ) -> (Option<(u32, String)>, Vec<u32>) {
        let (raw, bounds, published) = (self.raw, &self.bounds, self.published);
        let names = self.reader.names;
        let (clubs, own, not_buyer) = (&facts.clubs, &facts.owners.own, &facts.owners.not_buyer);
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
            Who::Known(p) => names.club_on(*p, published),
            Who::Unknown(_) => None,
        };
        let his_clubs = match who {
            Who::Known(p) => names.clubs_on(*p, published),
            Who::Unknown(_) => Vec::new(),
        };
        if from.is_none() {
            from = on_file.map(|c| (c, format!("his club on {published} in the transfers file")));
        }
        (from, his_clubs)
    }

    /// The clubs linked with the player in his sentences that speak of a move, in order of
    /// first mention, each with its sentences; his own and other players' clubs left out.
    fn linked_clubs(
        &self,
        facts: &Facts,
        who: &Who,
        mine: &[usize],
        (from_id, his_clubs): (Option<u32>, &[u32]),
    ) -> Vec<(u32, Vec<usize>)> {
        let (clubs, moves) = (&facts.clubs, &facts.moves);
        let Owners {
            own,
            owned_by_someone,
            not_buyer,
        } = &facts.owners;
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
        buyers
    }

    /// Context from the player's sentences, first stated wins.
    fn context_of(&self, mine: &[usize]) -> Context {
        let (raw, bounds, published) = (self.raw, &self.bounds, self.published);
        let mut context = Context::default();
        for &si in mine {
            let (a, b) = bounds[si];
            let c = context_in(&raw[a..b], published);
            context.age = context.age.or(c.age);
            context.market_value_eur = context.market_value_eur.or(c.market_value_eur);
            context.fee_eur = context.fee_eur.or(c.fee_eur);
            context.contract_until = context.contract_until.or(c.contract_until);
        }
        context
    }

    /// The first window a sentence of `range` names that closes on or after publication.
    fn window_of(&self, range: &[usize]) -> Option<(Window, String)> {
        let (raw, published) = (self.raw, self.published);
        range.iter().find_map(|&si| {
            let (a, b) = self.bounds[si];
            window_in(&raw[a..b], published)
                .filter(|(w, _)| self.reader.calendar.close(*w) >= published)
        })
    }

    /// The claim that `player` moves to `club`, from the sentences `sents` linking them,
    /// with the evidence for each field and a confidence.
    fn claim(
        &self,
        article: &Article,
        facts: &Facts,
        player: &PlayerFacts,
        (club, sents): (u32, &[usize]),
        (claim_id, source, cites): (String, &str, &str),
    ) -> Claim {
        let (raw, bounds, published) = (self.raw, &self.bounds, self.published);
        let names = self.reader.names;
        let (players, clubs, sentence_stage) =
            (&facts.players, &facts.clubs, &facts.sentence_stage);
        let PlayerFacts {
            who,
            name,
            from,
            context,
            window: player_window,
        } = player;
        let mut stage: Option<Stage> = None;
        for &si in sents {
            if let Some(s) = sentence_stage[si] {
                stage = Some(match stage {
                    Some(Stage::Denied) => Stage::Denied,
                    _ if s == Stage::Denied => Stage::Denied,
                    Some(old) if old.rank() >= s.rank() => old,
                    _ => s,
                });
            }
        }
        let window = self.window_of(sents).or_else(|| player_window.clone());
        let text: Vec<&str> = sents
            .iter()
            .map(|&si| raw[bounds[si].0..bounds[si].1].trim())
            .collect();
        let club_name = &names.clubs[club as usize];
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
            .any(|si| players.iter().any(|p| p.sentence == *si && &p.who == *who))
        {
            confidence *= 0.8; // the club's sentence names no player
        }
        if stage.is_none() {
            confidence *= 0.9;
        }
        Claim {
            claim_id,
            published: published.to_string(),
            source: source.to_string(),
            author: article.author.clone(),
            player: name.clone(),
            from_club: from
                .as_ref()
                .map(|(c, _)| names.clubs[*c as usize].clone())
                .unwrap_or_default(),
            to_club: club_name.clone(),
            stage: stage.map(|s| s.name().to_string()).unwrap_or_default(),
            window: window
                .as_ref()
                .map(|(w, _)| w.to_string())
                .unwrap_or_default(),
            text: text.join(" "),
            url: article.url.clone(),
            cites: cites.to_string(),
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
        }
    }

    /// Club-like names that matched nothing: a capitalised name right before `are`/`have` + a
    /// move word, that is neither a known name nor a player.
    fn unmatched_clubs(&self, facts: &Facts, found: &mut Found) {
        let (raw, bounds, mentions) = (self.raw, &self.bounds, &self.mentions);
        let (players, moves) = (&facts.players, &facts.moves);
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
    }
}
