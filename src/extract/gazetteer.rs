//! The names `extract` knows: players and clubs from the transfers file, the alias table and
//! earlier claims, matched in article text all at once with one Aho-Corasick automaton over
//! folded names.

use std::collections::BTreeMap;
use std::path::Path;

use aho_corasick::{AhoCorasick, MatchKind};
use chrono::NaiveDate;

use crate::error::{Error, InputError, Result};
use crate::ingest::decode::{csv_reader, header_position, InputFormat};
use crate::normalise::{fold, key, Aliases, NameKind};
use crate::windows::{Window, WindowCalendar};

use super::text::{capitalised, Folded};

/// Whether a mention names a player or a club.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Player,
    Club,
}

/// A name found in an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub kind: Kind,
    /// The entities the name may be (more than one: an ambiguous name).
    pub entities: Vec<u32>,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
}

/// Single words that are not names on their own, though a player or a club may be called so
/// in a transfers file (nations, months, words that start sentences).
const NOT_A_NAME: &[&str] = &[
    "the",
    "and",
    "but",
    "with",
    "from",
    "after",
    "before",
    "summer",
    "winter",
    "january",
    "february",
    "june",
    "july",
    "august",
    "september",
    "england",
    "spain",
    "france",
    "germany",
    "italy",
    "brazil",
    "argentina",
    "portugal",
    "belgium",
    "netherlands",
    "holland",
    "scotland",
    "wales",
    "ireland",
    "norway",
    "denmark",
    "sweden",
    "croatia",
    "serbia",
    "poland",
    "turkey",
    "morocco",
    "nigeria",
    "ghana",
    "senegal",
    "egypt",
    "usa",
    "mexico",
    "colombia",
    "uruguay",
    "chile",
    "japan",
    "korea",
    "europe",
    "premier",
    "league",
    "champions",
    "united",
    "city",
    "town",
    "real",
    "sporting",
    "athletic",
    "inter",
    "national",
    "international",
    "player",
    "manager",
    "coach",
    "club",
    "deal",
    "transfer",
    "will",
    "could",
    "would",
    "also",
    "while",
    "however",
    "despite",
    "meanwhile",
    "former",
    "young",
    "new",
    "star",
    "boss",
    "agent",
    "english",
    "spanish",
    "french",
    "german",
    "italian",
    "portuguese",
    "dutch",
    "belgian",
    "brazilian",
    "argentine",
    "argentinian",
    "scottish",
    "welsh",
    "irish",
    "norwegian",
    "danish",
    "swedish",
    "croatian",
    "serbian",
    "polish",
    "turkish",
    "moroccan",
    "nigerian",
    "ghanaian",
    "senegalese",
    "egyptian",
    "american",
    "mexican",
    "colombian",
    "uruguayan",
    "chilean",
    "japanese",
    "korean",
    "swiss",
    "austrian",
    "czech",
    "ukrainian",
    "russian",
    "greek",
    "african",
    "european",
    "south",
    "north",
    "costa",
    "rica",
    "copa",
    "america",
    "euro",
    "world",
    "cup",
    "serie",
    "liga",
    "ligue",
    "bundesliga",
    "championship",
    "mls",
    "israel",
    "israeli",
    "jamaica",
    "jamaican",
    "canada",
    "canadian",
    "australia",
    "australian",
    "cameroon",
    "ivory",
    "coast",
    "algeria",
    "algerian",
    "tunisia",
    "mali",
    "guinea",
    "congo",
    "ecuador",
    "peru",
    "paraguay",
    "venezuela",
    "bosnia",
    "slovakia",
    "slovenia",
    "hungary",
    "romania",
    "bulgaria",
    "albania",
    "kosovo",
    "georgia",
    "iceland",
    "finland",
    "finnish",
    "qatar",
    "saudi",
    "arabia",
    "china",
    "chinese",
    "india",
    "iran",
    "iraq",
];

/// Last words of club names that a text often leaves out (`Leicester` for Leicester City).
const CLUB_SUFFIXES: &[&str] = &[
    "city",
    "united",
    "town",
    "athletic",
    "albion",
    "rovers",
    "wanderers",
    "hotspur",
    "county",
    "fc",
    "afc",
    "cf",
    "sc",
    "calcio",
];

/// A row that gives names: of the transfers file (a move) or of a file of known names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub player: String,
    pub from_club: String,
    pub to_club: String,
    /// `YYYY-MM-DD`, or empty (then the window's close is the day).
    pub date: String,
    pub window: String,
    pub kind: String,
}

impl Row {
    /// A move for tests and examples: `Row::moved("Leonardo Balerdi", "Borussia Dortmund",
    /// "Marseille", "2020-summer")`.
    pub fn moved(player: &str, from: &str, to: &str, window: &str) -> Row {
        Row {
            player: player.into(),
            from_club: from.into(),
            to_club: to.into(),
            window: window.into(),
            kind: "permanent".into(),
            ..Row::default()
        }
    }
}

/// First words of club names that a text often leaves out (`Roma` for AS Roma).
const CLUB_PREFIXES: &[&str] = &[
    "as", "ss", "ssc", "ac", "acf", "sc", "sv", "vfl", "vfb", "tsg", "rc", "rcd", "cd", "ud", "sd",
    "ca", "us", "ogc", "rb", "bsc", "fk", "nk", "sk", "ssv", "hsc",
];

/// A move of the transfers file, for a player's clubs over time.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Move {
    day: NaiveDate,
    to: u32,
    /// The club he left (`None`: not named).
    from: Option<u32>,
    loan: bool,
}

/// Players and clubs, and the automaton that finds them.
#[derive(Debug)]
pub struct Gazetteer {
    pub players: Vec<String>,
    pub clubs: Vec<String>,
    automaton: AhoCorasick,
    /// Per pattern: what it names.
    entries: Vec<Vec<(Kind, u32)>>,
    /// Per player: moves, sorted by day and then kind (loan, return from loan, permanent).
    moves: Vec<Vec<Move>>,
    /// Folded surname → the known players who have it.
    surnames: std::collections::HashMap<String, Vec<u32>>,
}

/// Entities of one kind by key, with their spellings.
#[derive(Default)]
struct Names {
    ids: BTreeMap<String, u32>,
    /// Per entity: spelling → count (the display name is the canonical name, else the most
    /// frequent spelling).
    spellings: Vec<BTreeMap<String, u64>>,
    canonical: Vec<Option<String>>,
}

impl Names {
    fn id(&mut self, kind: NameKind, raw: &str, aliases: &Aliases) -> Option<u32> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let k = key(kind, raw);
        if k.is_empty() {
            return None;
        }
        let (k, canonical) = match aliases.canonical(kind, &k) {
            Some(c) => (key(kind, c), Some(c.to_string())),
            None => (k, None),
        };
        let next = self.ids.len() as u32;
        let id = *self.ids.entry(k).or_insert(next);
        if id == next {
            self.spellings.push(BTreeMap::new());
            self.canonical.push(None);
        }
        *self.spellings[id as usize]
            .entry(raw.to_string())
            .or_insert(0) += 1;
        if canonical.is_some() {
            self.canonical[id as usize] = canonical;
        }
        Some(id)
    }

    fn display(&self) -> Vec<String> {
        self.spellings
            .iter()
            .zip(&self.canonical)
            .map(|(s, c)| {
                c.clone().unwrap_or_else(|| {
                    s.iter()
                        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                        .map(|(k, _)| k.clone())
                        .unwrap_or_default()
                })
            })
            .collect()
    }
}

impl Gazetteer {
    /// Builds the names from the transfers file (`player, from_club, to_club, date, window`),
    /// the alias table, and optionally a file of known names (any CSV with `player`,
    /// `from_club` and/or `to_club` columns: earlier claims, say).
    ///
    /// # Errors
    /// A file that cannot be read, or a transfers file without a `player` column.
    pub fn build(
        transfers: &Path,
        known: Option<&Path>,
        aliases: &Aliases,
        calendar: &WindowCalendar,
        input: InputFormat,
    ) -> Result<Gazetteer> {
        let mut transfer_rows: Vec<Row> = Vec::new();
        let mut known_rows: Vec<Row> = Vec::new();
        for (file, is_transfers) in
            std::iter::once((transfers, true)).chain(known.map(|k| (k, false)))
        {
            let (mut rdr, header, _readable) =
                csv_reader(file, input, true).map_err(Error::Input)?;
            let pos: Vec<Option<usize>> =
                ["player", "from_club", "to_club", "date", "window", "kind"]
                    .iter()
                    .map(|c| header_position(&header, c))
                    .collect();
            if is_transfers && pos[0].is_none() {
                return Err(Error::Input(InputError::MissingColumn {
                    file: file.to_path_buf(),
                    column: "player".into(),
                    hint: " (the transfers file gives extract the players' names)".into(),
                }));
            }
            for rec in rdr.records() {
                let Ok(rec) = rec else { continue };
                let get =
                    |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim().to_string();
                let row = Row {
                    player: get(pos[0]),
                    from_club: get(pos[1]),
                    to_club: get(pos[2]),
                    date: get(pos[3]),
                    window: get(pos[4]),
                    kind: get(pos[5]),
                };
                if is_transfers {
                    transfer_rows.push(row);
                } else {
                    known_rows.push(row);
                }
            }
        }
        Gazetteer::from_rows(&transfer_rows, &known_rows, aliases, calendar)
    }

    /// The names of transfers rows (which also give each player's clubs over time) and of
    /// other rows (names only), with the alias table.
    ///
    /// # Errors
    /// More names than the matching automaton can hold ([`Error::Usage`]).
    pub fn from_rows(
        transfers: &[Row],
        known: &[Row],
        aliases: &Aliases,
        calendar: &WindowCalendar,
    ) -> Result<Gazetteer> {
        let (mut players, mut clubs) = (Names::default(), Names::default());
        // (player, day, order within the day, club): on one day (a window known by its close),
        // a loan counts least and a permanent move most (a return from loan and a sale in one
        // window: the sale is where he plays).
        let mut raw_moves: Vec<(u32, NaiveDate, u8, u32, Option<u32>)> = Vec::new();
        for (row, is_transfer) in transfers
            .iter()
            .map(|r| (r, true))
            .chain(known.iter().map(|r| (r, false)))
        {
            let player = players.id(NameKind::Player, &row.player, aliases);
            let from = clubs.id(NameKind::Club, &row.from_club, aliases);
            let to = clubs.id(NameKind::Club, &row.to_club, aliases);
            if !is_transfer {
                continue;
            }
            let day = crate::ingest::fields::date(&row.date)
                .ok()
                .or_else(|| Window::parse(&row.window).map(|w| calendar.close(w)));
            let order = match row.kind.as_str() {
                "loan" => 0,
                "end_of_loan" => 1,
                _ => 2,
            };
            if let (Some(p), Some(day), Some(to)) = (player, day, to) {
                raw_moves.push((p, day, order, to, from));
            }
        }
        for (kind, alias, canonical) in aliases.entries() {
            match kind {
                NameKind::Player => {
                    players.id(kind, canonical, aliases);
                    players.id(kind, alias, aliases);
                }
                NameKind::Club => {
                    clubs.id(kind, canonical, aliases);
                    clubs.id(kind, alias, aliases);
                }
                _ => {}
            }
        }
        let mut moves = vec![Vec::new(); players.spellings.len()];
        raw_moves.sort();
        for (p, day, order, to, from) in raw_moves {
            moves[p as usize].push(Move {
                day,
                to,
                from,
                loan: order == 0,
            });
        }
        // raw_moves was sorted by (player, day, order, club): the last of a day weighs most.
        let surnames = surnames(&players);
        let patterns = name_patterns(&players, &clubs, aliases);
        let (texts, entries): (Vec<String>, Vec<Vec<(Kind, u32)>>) = patterns
            .into_iter()
            .map(|(p, e)| (format!(" {p} "), e))
            .unzip();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
            .map_err(|e| {
                Error::Usage(format!(
                    "{} player and club names are more than the name matcher holds: {e}",
                    texts.len()
                ))
            })?;
        Ok(Gazetteer {
            players: players.display(),
            clubs: clubs.display(),
            automaton,
            entries,
            moves,
            surnames,
        })
    }

    /// The names in `raw` (folded as `folded`): the longest name wins where two overlap; a
    /// name must start with a capital in the original, except a club's name of two words or
    /// more.
    pub fn find(&self, raw: &str, folded: &Folded) -> Vec<Mention> {
        let mut found: Vec<(usize, usize, usize)> = self
            .automaton
            .find_overlapping_iter(folded.text.as_str())
            .map(|m| (m.start() + 1, m.end() - 1, m.pattern().as_usize()))
            .filter(|&(s, e, p)| {
                // A name starts with a capital; a club's name of two words or more is
                // recognised in lower case too (`athletic bilbao`), a one-word one is not
                // (`forest`, `city`).
                capitalised(raw, folded.orig[s])
                    || (folded.text[s..e].contains(' ')
                        && self.entries[p].iter().all(|(k, _)| *k == Kind::Club))
            })
            .collect();
        // Longest first, then left to right, without overlap.
        found.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
        let mut kept: Vec<(usize, usize, usize)> = Vec::new();
        for m in found {
            if kept.iter().all(|k| m.1 <= k.0 || m.0 >= k.1) {
                kept.push(m);
            }
        }
        kept.sort();
        kept.into_iter()
            .map(|(s, e, p)| {
                let entries = &self.entries[p];
                let kind = entries[0].0;
                let (start, end) = folded.original(s, e, raw);
                Mention {
                    kind,
                    entities: entries
                        .iter()
                        .filter(|(k, _)| *k == kind)
                        .map(|(_, id)| *id)
                        .collect(),
                    start,
                    end,
                }
            })
            .collect()
    }

    /// The player's club on `day`, from the transfers file: where his last move took him (of
    /// the moves of that day, a permanent move before a return from loan before a loan); for a
    /// player out on loan, the club that loaned him (the loan club may yet buy him).
    pub fn club_on(&self, player: u32, day: NaiveDate) -> Option<u32> {
        let moves = self.moves.get(player as usize)?;
        let n = moves.partition_point(|m| m.day <= day);
        let last = moves[..n].last()?;
        if last.loan {
            last.from.or(Some(last.to))
        } else {
            Some(last.to)
        }
    }

    /// The known players with this folded surname.
    pub fn with_surname(&self, folded: &str) -> &[u32] {
        self.surnames.get(folded).map_or(&[], Vec::as_slice)
    }

    /// Whether a folded word is a name on its own (not `summer`, `england`, …).
    pub fn is_common_word(folded: &str) -> bool {
        NOT_A_NAME.contains(&folded)
    }

    /// The clubs that are the player's on `day`, not buyers: his club ([`Gazetteer::club_on`])
    /// and every club a permanent move or a return from loan took him to on the day of his
    /// last move (`Monaco` and `Paris Saint-Germain` for a loan made permanent in one window).
    pub fn clubs_on(&self, player: u32, day: NaiveDate) -> Vec<u32> {
        let Some(moves) = self.moves.get(player as usize) else {
            return Vec::new();
        };
        let n = moves.partition_point(|m| m.day <= day);
        let Some(last) = moves[..n].last() else {
            return Vec::new();
        };
        let mut clubs: Vec<u32> = self.club_on(player, day).into_iter().collect();
        for m in moves[..n].iter().rev().take_while(|m| m.day == last.day) {
            if !m.loan && !clubs.contains(&m.to) {
                clubs.push(m.to);
            }
        }
        clubs
    }

    /// The day of the player's last move in the transfers file.
    pub fn last_move(&self, player: u32) -> Option<NaiveDate> {
        self.moves.get(player as usize)?.last().map(|m| m.day)
    }

    /// Whether the player has any move in the transfers file.
    pub fn has_moves(&self, player: u32) -> bool {
        self.moves
            .get(player as usize)
            .is_some_and(|m| !m.is_empty())
    }
}

/// Surnames of the known players (the last word of a name of two words or more), with the
/// players who have each.
fn surnames(players: &Names) -> std::collections::HashMap<String, Vec<u32>> {
    let mut surnames: std::collections::HashMap<String, Vec<u32>> =
        std::collections::HashMap::new();
    for (id, spellings) in players.spellings.iter().enumerate() {
        for sp in spellings.keys() {
            // The last word as written: `Hudson-Odoi` is one surname of two folded words.
            let words: Vec<&str> = sp.split_whitespace().collect();
            if words.len() >= 2 {
                let last = fold(words[words.len() - 1]);
                let last = last.as_str();
                if last.len() >= 4 && !NOT_A_NAME.contains(&last) {
                    let e = surnames.entry(last.to_string()).or_default();
                    if !e.contains(&(id as u32)) {
                        e.push(id as u32);
                    }
                }
            }
        }
    }
    surnames
}

/// The automaton's patterns: every folded spelling (and a club's key without `FC` and the
/// like), plus the short form of a club without its last word when no other club shares it.
fn name_patterns(
    players: &Names,
    clubs: &Names,
    aliases: &Aliases,
) -> BTreeMap<String, Vec<(Kind, u32)>> {
    let mut patterns: BTreeMap<String, Vec<(Kind, u32)>> = BTreeMap::new();
    // Names from the alias table are curated: `Inter` and `OM` are names there.
    let curated: std::collections::HashSet<String> = aliases
        .entries()
        .iter()
        .filter(|(k, _, _)| matches!(k, NameKind::Player | NameKind::Club))
        .flat_map(|(_, a, c)| [a.to_string(), fold(c)])
        .collect();
    let add = |patterns: &mut BTreeMap<String, Vec<(Kind, u32)>>,
               pattern: String,
               kind: Kind,
               id: u32| {
        let single = !pattern.contains(' ');
        let short = pattern.len() < if kind == Kind::Player { 4 } else { 3 };
        let common = single && NOT_A_NAME.contains(&pattern.as_str());
        if pattern.is_empty() || ((short || common) && !curated.contains(&pattern)) {
            return;
        }
        let e = patterns.entry(pattern).or_default();
        if !e.contains(&(kind, id)) {
            e.push((kind, id));
        }
    };
    for (id, spellings) in players.spellings.iter().enumerate() {
        for s in spellings.keys() {
            add(&mut patterns, fold(s), Kind::Player, id as u32);
        }
    }
    let mut short: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (id, spellings) in clubs.spellings.iter().enumerate() {
        for s in spellings.keys() {
            add(&mut patterns, fold(s), Kind::Club, id as u32);
            let k = key(NameKind::Club, s);
            add(&mut patterns, k.clone(), Kind::Club, id as u32);
            let words: Vec<&str> = k.split(' ').collect();
            if words.len() >= 2 && CLUB_PREFIXES.contains(&words[0]) {
                let s = words[1..].join(" ");
                let ids = short.entry(s).or_default();
                if !ids.contains(&(id as u32)) {
                    ids.push(id as u32);
                }
            }
            if words.len() >= 2 && CLUB_SUFFIXES.contains(&words[words.len() - 1]) {
                let s = words[..words.len() - 1].join(" ");
                let ids = short.entry(s).or_default();
                if !ids.contains(&(id as u32)) {
                    ids.push(id as u32);
                }
            }
        }
    }
    for (s, ids) in short {
        if ids.len() == 1 && s.len() >= 4 && !patterns.contains_key(&s) {
            add(&mut patterns, s, Kind::Club, ids[0]);
        }
    }
    // A pattern that names a club is not a one-word player.
    for (p, e) in patterns.iter_mut() {
        if !p.contains(' ') && e.iter().any(|(k, _)| *k == Kind::Club) {
            e.retain(|(k, _)| *k == Kind::Club);
        }
    }
    patterns
}
