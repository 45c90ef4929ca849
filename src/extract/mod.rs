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

mod article;
pub mod finders;
pub mod gazetteer;
pub mod text;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, InputError, Result};
use crate::ingest::decode::{csv_reader, header_position, readable, InputFormat};
use crate::ingest::Reject;
use crate::normalise::{fold, Aliases};
use crate::schema::Stage;
use crate::windows::WindowCalendar;

use finders::stage_phrases;
use gazetteer::{Gazetteer, Mention};

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

    fn to_clubs(found: &Found) -> Vec<&str> {
        found.claims.iter().map(|c| c.to_club.as_str()).collect()
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
        assert_eq!(to_clubs(&f), ["Manchester United"]);
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
        assert_eq!(to_clubs(&f), ["Girona"]);
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
