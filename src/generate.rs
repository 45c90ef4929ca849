//! A synthetic transfer market: claims, transfers and the hidden truth, for tests and
//! benchmarks.
//!
//! The model (deterministic for a seed):
//!
//! * Windows 2019-summer to 2026-summer have closed; 2027-winter is open. The world ends on
//!   [`WORLD_END`]: score generated data `--as-of 2026-11-20`.
//! * Clubs have Zipf-like popularity (how often they are linked) and a hidden propensity to
//!   complete deals. Players have a club, an age, a market value and a contract end.
//! * Each window has a pool of deals (player, buying club). Whether a deal happens is drawn from
//!   `sigmoid(season + buyer propensity + contract + age effects)`: summer windows complete far
//!   more than winter ones; a player moves at most once a window, so some linked players move
//!   elsewhere.
//! * Sources have Zipf-like volume, a stage mix and hidden hit rates
//!   `h(source, stage, season) = sigmoid(a_stage + b_source + d_season)`; a denial is right with
//!   `sigmoid(1.6 + 0.6 b_source)`. A report at stage `g` is about a deal that happens with
//!   probability `h`, which is what `truth.csv` states (averaged over the source's reports).
//! * Some outlets copy another: the same wording a day later, half the time citing it.
//! * Names vary: case, accents dropped, `FC` suffixes, the aliases of `data/aliases.csv`.
//! * Transfers: every deal that happens (60% dated, the rest known by window; loans, free
//!   transfers), moves nobody rumoured, and returns from loan.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::schema::Stage;
use crate::windows::{Season, Window, WindowCalendar};

/// The last day of the generated world.
pub const WORLD_END: &str = "2026-11-20";

/// The alias table shipped in `data/aliases.csv`, used for name variants.
pub const ALIASES_CSV: &str = include_str!("../data/aliases.csv");

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub claims: u64,
    pub seed: u64,
    pub out: PathBuf,
    /// The market's shape; [`Shape::default`] is the project's own world.
    pub shape: Shape,
}

/// The knobs of a world's shape. The defaults give the project's own world, byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Number of sources (default: grows with the square root of the claims, 15 to 400).
    pub sources: Option<usize>,
    /// Number of clubs (default: the 80-odd real clubs; more get names `Club N`).
    pub clubs: Option<usize>,
    /// Number of players (default: claims / 8, 200 to 1.5M).
    pub players: Option<usize>,
    /// First summer window (default 2019); the world still ends with 2027-winter open.
    pub first_year: i32,
    /// Share of claims that leave their stage empty (default 0.2; 1 with no wording is a
    /// market with no stage at all).
    pub without_stage: f64,
    /// Share of claims without wording (default 0).
    pub without_text: f64,
    /// Share of claims whose window is left empty, among those whose window their date
    /// gives (default 0.3).
    pub without_window: f64,
    /// Share of transfers with a date (default 0.6; the rest are known by window only).
    pub dated_share: f64,
    /// Share of each window's claims published in the last two days before its close
    /// (default 0).
    pub deadline_share: f64,
    /// Added to every stage's hit-rate logit: negative for a market where few rumoured
    /// deals happen, positive for one where many do (default 0).
    pub hit_shift: f64,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape {
            sources: None,
            clubs: None,
            players: None,
            first_year: 2019,
            without_stage: 0.2,
            without_text: 0.0,
            without_window: 0.3,
            dated_share: 0.6,
            deadline_share: 0.0,
            hit_shift: 0.0,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenerateSummary {
    pub claims: u64,
    pub transfers: u64,
    pub deals: u64,
    pub sources: usize,
    pub players: usize,
    pub clubs: usize,
    pub as_of: &'static str,
}

const CLUBS: &[&str] = &[
    "Manchester United",
    "Manchester City",
    "Liverpool",
    "Chelsea",
    "Arsenal",
    "Tottenham Hotspur",
    "Newcastle United",
    "Aston Villa",
    "West Ham United",
    "Brighton & Hove Albion",
    "Wolverhampton Wanderers",
    "Everton",
    "Crystal Palace",
    "Leeds United",
    "Leicester City",
    "Nottingham Forest",
    "Fulham",
    "Brentford",
    "Southampton",
    "Burnley",
    "Real Madrid",
    "Barcelona",
    "Atletico Madrid",
    "Sevilla FC",
    "Real Betis",
    "Real Sociedad",
    "Villarreal",
    "Athletic Bilbao",
    "Valencia",
    "Girona",
    "Bayern Munich",
    "Borussia Dortmund",
    "RB Leipzig",
    "Bayer Leverkusen",
    "Eintracht Frankfurt",
    "Borussia Mönchengladbach",
    "VfL Wolfsburg",
    "VfB Stuttgart",
    "SC Freiburg",
    "Hertha BSC",
    "Juventus",
    "Inter Milan",
    "AC Milan",
    "Napoli",
    "AS Roma",
    "Lazio",
    "Atalanta",
    "Fiorentina",
    "Torino",
    "Bologna",
    "Paris Saint-Germain",
    "Marseille",
    "Lyon",
    "AS Monaco",
    "LOSC Lille",
    "Rennes",
    "OGC Nice",
    "RC Lens",
    "Benfica",
    "FC Porto",
    "Sporting CP",
    "SC Braga",
    "Ajax",
    "PSV Eindhoven",
    "Feyenoord",
    "AZ Alkmaar",
    "Celtic",
    "Rangers",
    "Club Brugge",
    "Anderlecht",
    "Galatasaray",
    "Fenerbahçe",
    "Beşiktaş",
    "RB Salzburg",
    "Shakhtar Donetsk",
    "Olympiacos",
    "Zenit",
    "Dinamo Zagreb",
    "Red Star Belgrade",
    "Slavia Prague",
    "FC Copenhagen",
    "Young Boys",
    "Sporting Braga B",
    "Udinese",
    "Sassuolo",
    "Genoa",
    "Sampdoria",
    "Verona",
    "Stade Brest",
    "Montpellier",
    "FC Nantes",
    "Toulouse",
    "Strasbourg",
    "Getafe",
    "Osasuna",
    "Celta Vigo",
    "Mallorca",
    "Espanyol",
    "Union Berlin",
    "Mainz 05",
    "Werder Bremen",
    "FC Augsburg",
    "TSG Hoffenheim",
    "Norwich City",
    "Watford",
    "Sheffield United",
    "West Bromwich Albion",
    "Middlesbrough",
    "Sunderland",
    "Stoke City",
];

const FIRST: &[&str] = &[
    "Leonardo",
    "Martin",
    "Luka",
    "Kylian",
    "Erling",
    "Jude",
    "Pedro",
    "Rafael",
    "Lucas",
    "Mateo",
    "Nicolò",
    "Federico",
    "Dušan",
    "Joško",
    "Bukayo",
    "Declan",
    "Mason",
    "Phil",
    "Jadon",
    "Marcus",
    "Youssef",
    "Achraf",
    "Hakim",
    "Sofyan",
    "Takefusa",
    "Kaoru",
    "Heung-min",
    "Min-jae",
    "Victor",
    "Randal",
    "Khvicha",
    "Rafael",
    "Gonçalo",
    "João",
    "Rúben",
    "Bernardo",
    "Vitinha",
    "Nuno",
    "Diogo",
    "Ferran",
    "Dani",
    "Álvaro",
    "Iñaki",
    "Mikel",
    "Nico",
    "Florian",
    "Jamal",
    "Leroy",
    "Serge",
    "Kai",
    "Timo",
    "Joshua",
    "Antonio",
    "Aurélien",
    "Eduardo",
    "Ousmane",
    "Moussa",
    "Ibrahima",
    "Amadou",
    "Pape",
    "Mohammed",
    "Riyad",
    "Ismaël",
    "Benjamin",
    "Jonathan",
    "Thiago",
    "Gabriel",
    "Bruno",
    "Casemiro",
    "Éder",
    "Vinícius",
    "Rodrygo",
    "Endrick",
    "Alessandro",
    "Sandro",
    "Gianluca",
    "Davide",
    "Sergej",
    "Milan",
    "Piotr",
    "Arkadiusz",
    "Wojciech",
    "Jan",
    "Tomáš",
    "Patrik",
    "Stanislav",
    "Ørjan",
    "Sander",
    "Kristoffer",
    "Rasmus",
    "Emil",
];

const LAST: &[&str] = &[
    "Balerdi",
    "Ødegaard",
    "Modrić",
    "Weißhaupt",
    "Caleta-Car",
    "Müller",
    "Sørloth",
    "Núñez",
    "Fernández",
    "Gómez",
    "Barella",
    "Chiesa",
    "Vlahović",
    "Gvardiol",
    "Saka",
    "Rice",
    "Mount",
    "Foden",
    "Sancho",
    "Rashford",
    "En-Nesyri",
    "Hakimi",
    "Ziyech",
    "Amrabat",
    "Kubo",
    "Mitoma",
    "Son",
    "Kim",
    "Osimhen",
    "Kolo Muani",
    "Kvaratskhelia",
    "Leão",
    "Ramos",
    "Félix",
    "Dias",
    "Silva",
    "Neves",
    "Mendes",
    "Costa",
    "Torres",
    "Olmo",
    "Morata",
    "Williams",
    "Merino",
    "Wirtz",
    "Musiala",
    "Sané",
    "Gnabry",
    "Havertz",
    "Werner",
    "Kimmich",
    "Rüdiger",
    "Tchouaméni",
    "Camavinga",
    "Dembélé",
    "Diaby",
    "Konaté",
    "Onana",
    "Sarr",
    "Salah",
    "Mahrez",
    "Bennacer",
    "Pavard",
    "Clauss",
    "Alcântara",
    "Jesus",
    "Fernandes",
    "Militão",
    "Júnior",
    "Goes",
    "Felipe",
    "Bastoni",
    "Tonali",
    "Scamacca",
    "Frattesi",
    "Milinković-Savić",
    "Škriniar",
    "Zieliński",
    "Milik",
    "Szczęsny",
    "Oblak",
    "Souček",
    "Schick",
    "Lobotka",
    "Nyland",
    "Berge",
    "Thorsby",
    "Højlund",
    "Eriksen",
    "Kjær",
    "Dolberg",
    "Wind",
    "Isak",
    "Kulusevski",
    "Forsberg",
    "Elanga",
    "Gyökeres",
    "Szoboszlai",
    "Sallai",
    "Xhaka",
    "Akanji",
    "Sommer",
    "Embolo",
    "Sow",
    "Okafor",
    "Ndicka",
    "Kessié",
    "Zaha",
    "Ayew",
    "Partey",
    "Kudus",
    "Semenyo",
    "Iwobi",
    "Lookman",
    "Chukwueze",
    "Ndidi",
    "Iheanacho",
    "Aribo",
    "Ugochukwu",
    "Maatsen",
    "Frimpong",
    "Gakpo",
    "Simons",
    "Timber",
    "Geertruida",
    "Koopmeiners",
    "Reijnders",
    "Dumfries",
];

const OUTLETS: &[&str] = &[
    "La Tribune Olympienne",
    "Calcio Sera",
    "The Transfer Wire",
    "Daily Whisper",
    "Il Mercato Oggi",
    "Diario del Fichaje",
    "Bundesliga Briefing",
    "The Dressing Room",
    "Le Vestiaire",
    "Terrace Talk",
    "Gazeta Esportiva Europa",
    "Fichajes Hoy",
    "Kop Chronicle",
    "North London Echo",
    "Tyneside Tattle",
    "Midlands Mercury Sport",
    "Il Corriere del Gol",
    "Sportblatt Nord",
    "Voetbal Nieuws",
    "Futebol Diário",
    "The Insider XI",
    "Pitchside Press",
    "Deadline Desk",
    "Mercato Live",
    "The Athletic Eye",
    "Scout Report Weekly",
    "Elite Football Intel",
    "Gossip Gazette",
    "Ultra Sport",
    "Rumour Mill FC",
];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Picks an index with probability proportional to `weights` (cumulative, ascending).
fn pick(cumulative: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let u = rng.random::<f64>() * total;
    cumulative
        .partition_point(|c| *c <= u)
        .min(cumulative.len().saturating_sub(1))
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Strips accents (for name variants).
fn ascii(s: &str) -> String {
    deunicode::deunicode(s)
}

struct Club {
    name: std::borrow::Cow<'static, str>,
    aliases: Vec<String>,
    propensity: f64,
}

struct Player {
    name: String,
    club: usize,
    age: f64,
    value: f64,
    /// Years left on the contract at any window (contracts are renewed).
    contract_years: i32,
}

struct Source {
    name: String,
    domain: String,
    quality: f64,
    stage_cum: Vec<f64>,
    authors: Vec<String>,
    /// Index of the source it copies.
    parent: Option<usize>,
}

#[derive(Clone)]
struct Deal {
    player: usize,
    from: usize,
    to: usize,
    date: NaiveDate,
}

const STAGE_LOGIT: [f64; 7] = [0.0, -1.7, -1.1, -0.5, 0.3, 1.1, 2.0];
const STAGE_WEIGHT: [f64; 7] = [0.05, 0.22, 0.30, 0.18, 0.12, 0.07, 0.06];

fn hit_rate(source: &Source, stage: Stage, season: Season, shift: f64) -> f64 {
    if stage == Stage::Denied {
        return sigmoid(1.6 + 0.6 * source.quality);
    }
    let d = if season == Season::Summer { 0.2 } else { -0.5 };
    sigmoid(STAGE_LOGIT[stage as usize] + source.quality + d + shift)
}

fn club_variant(club: &Club, rng: &mut ChaCha8Rng) -> String {
    let r: f64 = rng.random();
    if r < 0.70 || (r < 0.85 && club.aliases.is_empty()) {
        club.name.to_string()
    } else if r < 0.85 {
        club.aliases[rng.random_range(0..club.aliases.len())].clone()
    } else if r < 0.92 {
        ascii(&club.name).to_lowercase()
    } else {
        format!("{} FC", club.name)
    }
}

fn player_variant(player: &Player, rng: &mut ChaCha8Rng) -> String {
    let r: f64 = rng.random();
    if r < 0.85 {
        player.name.clone()
    } else if r < 0.95 {
        ascii(&player.name)
    } else {
        player.name.to_uppercase()
    }
}

fn text_for(stage: Stage, player: &str, from: &str, to: &str, age: f64, variant: usize) -> String {
    let a = age.round() as i64;
    let t: &[String] = &match stage {
        Stage::Denied => vec![
            format!("{from} deny any contact with {to} over {player}"),
            format!("{player} is not for sale, {from} tell {to}"),
            format!("{to} rule out a move for {from}'s {player}, {a}"),
        ],
        Stage::Speculation => vec![
            format!("{player} could swap {from} for {to} next window"),
            format!("Rumours swirl around {player} and {to}"),
            format!("{to} may yet move for {from} midfielder {player}, {a}"),
        ],
        Stage::Interest => vec![
            format!("{to} are interested in {from}'s {player}, {a}"),
            format!("{to} tipped to revisit {player} next window"),
            format!("{to} monitoring {from} star {player}"),
        ],
        Stage::Talks => vec![
            format!("{to} open talks with {from} over {player}"),
            format!("{to} prepare a bid for {from}'s {player}, {a}"),
            format!("{to} make an approach for {player}"),
        ],
        Stage::Advanced => vec![
            format!("{to} close to signing {player} from {from}"),
            format!("{player} set for {to} medical"),
            format!("{to} in the final stages of a deal for {player}"),
        ],
        Stage::Agreed => vec![
            format!("{to} have agreed a fee with {from} for {player}"),
            format!("{player} agrees personal terms with {to}"),
            format!("{from} accept {to} offer: fee agreed for {player}"),
        ],
        Stage::Done => vec![
            format!("Here we go: {player} to {to}"),
            format!("{player} has signed for {to} from {from}"),
            format!("{to} complete the signing of {player}"),
        ],
    };
    t[variant % t.len()].clone()
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Generates a world into `opts.out` (`rumours.csv`, `transfers.csv`, `truth.csv`,
/// `aliases.csv`).
///
/// # Errors
/// [`Error::Output`] when a file cannot be written; [`Error::Usage`] for a shape no world
/// can have (no claims, shares outside 0..1, no source or player, fewer than two clubs).
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary> {
    check_shape(opts)?;
    let shape = &opts.shape;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::Output {
        path: opts.out.clone(),
        source: e,
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let calendar = WindowCalendar::default();
    let world_end = NaiveDate::parse_from_str(WORLD_END, "%Y-%m-%d")
        .map_err(|e| Error::Usage(e.to_string()))?;
    let n = opts.claims;
    let mut world = World::new(shape, n, &mut rng);
    let (windows, weights) = windows_of(shape);
    let total_w: f64 = weights.iter().sum();
    let mut out = Files::create(&opts.out)?;
    let mut tally = Tally {
        truth: vec![[(0.0, 0); 7]; world.sources.len()],
        ..Tally::default()
    };
    for (wi, window) in windows.iter().enumerate() {
        let close = calendar.close(*window);
        let open = close
            - chrono::Duration::days(if window.season == Season::Summer {
                83
            } else {
                31
            });
        let quota = if wi + 1 == windows.len() {
            n - tally.written
        } else {
            ((n as f64) * weights[wi] / total_w).round() as u64
        }
        .min(n - tally.written);
        if quota == 0 {
            continue;
        }
        let at = WindowDays {
            window: *window,
            open,
            close,
            world_end,
            quota: Quota { n, quota },
        };
        let mut pool = world.deal_pool(&at, quota, &mut rng);
        tally.deals += (pool.happen.len() + pool.not.len()) as u64;
        world.claims(
            &pool,
            &at,
            (&calendar, shape),
            &mut out,
            &mut tally,
            &mut rng,
        )?;
        world.transfers(
            &mut pool,
            &at,
            shape.dated_share,
            &mut out,
            &mut tally,
            &mut rng,
        )?;
    }
    out.finish()?;
    write_truth(&opts.out, &world.sources, &tally.truth)?;
    let aliases_path = opts.out.join("aliases.csv");
    std::fs::write(&aliases_path, ALIASES_CSV).map_err(|e| write_err(&aliases_path, e))?;
    Ok(GenerateSummary {
        claims: tally.written,
        transfers: tally.transfers,
        deals: tally.deals,
        sources: world.sources.len(),
        players: world.players.len(),
        clubs: world.clubs.len(),
        as_of: WORLD_END,
    })
}

/// The shape's shares and counts, checked.
fn check_shape(opts: &GenerateOptions) -> Result<()> {
    if opts.claims == 0 {
        return Err(Error::Usage("a world needs at least one claim".into()));
    }
    let shape = &opts.shape;
    let share_ok = |v: f64| (0.0..=1.0).contains(&v);
    if !share_ok(shape.without_stage)
        || !share_ok(shape.without_text)
        || !share_ok(shape.without_window)
        || !share_ok(shape.dated_share)
        || !share_ok(shape.deadline_share)
    {
        return Err(Error::Usage(
            "the stage, text, window, dated and deadline shares must be between 0 and 1".into(),
        ));
    }
    if shape.sources == Some(0) || shape.players == Some(0) || shape.clubs.is_some_and(|c| c < 2) {
        return Err(Error::Usage(
            "a world needs a source, a player and two clubs".into(),
        ));
    }
    if !(2000..=2026).contains(&shape.first_year) {
        return Err(Error::Usage("the first year must be 2000 to 2026".into()));
    }
    Ok(())
}

/// A window's days (it opens, closes, and the world's last day) and its claims to write.
struct WindowDays {
    window: Window,
    open: NaiveDate,
    close: NaiveDate,
    world_end: NaiveDate,
    quota: Quota,
}

/// Claims to write in all, and in this window.
#[derive(Clone, Copy)]
struct Quota {
    n: u64,
    quota: u64,
}

/// What has been written, and each source's true hit rates (sum, count) by stage.
#[derive(Default)]
struct Tally {
    written: u64,
    transfers: u64,
    deals: u64,
    truth: Vec<[(f64, u64); 7]>,
    /// Loans not yet returned: player, parent club, loan club, window.
    loans: Vec<(usize, usize, usize, Window)>,
}

/// A claim's wording and fields, shared by the report and its copies.
struct Report {
    player_name: String,
    from_name: String,
    to_name: String,
    text: String,
    window_field: String,
    stage_field: &'static str,
    /// The original report's author (copies have none).
    author: String,
    value: String,
    contract: String,
    age: String,
}

impl Report {
    /// The `rumours.csv` row of this report by `source` (and `author`), citing `cites`.
    fn record<'r>(
        &'r self,
        id: &'r str,
        date: &'r str,
        (source, author): (&'r str, &'r str),
        url: &'r str,
        cites: &'r str,
    ) -> [&'r str; 16] {
        [
            id,
            date,
            source,
            author,
            &self.player_name,
            &self.from_name,
            &self.to_name,
            self.stage_field,
            &self.window_field,
            &self.text,
            url,
            cites,
            &self.value,
            &self.contract,
            &self.age,
            "",
        ]
    }
}

/// A window's deals: those that happen, those that do not, and the players who moved.
struct Pool {
    happen: Vec<Deal>,
    not: Vec<Deal>,
    moved: std::collections::HashSet<usize>,
}

/// The claims and transfers files being written.
struct Files {
    claims_path: PathBuf,
    transfers_path: PathBuf,
    claims_w: csv::Writer<BufWriter<File>>,
    transfers_w: csv::Writer<BufWriter<File>>,
}

impl Files {
    fn create(out: &Path) -> Result<Files> {
        let claims_path = out.join("rumours.csv");
        let transfers_path = out.join("transfers.csv");
        let mut claims_w = csv::Writer::from_writer(BufWriter::with_capacity(
            1 << 20,
            File::create(&claims_path).map_err(|e| write_err(&claims_path, e))?,
        ));
        let mut transfers_w = csv::Writer::from_writer(BufWriter::new(
            File::create(&transfers_path).map_err(|e| write_err(&transfers_path, e))?,
        ));
        claims_w
            .write_record([
                "claim_id",
                "published",
                "source",
                "author",
                "player",
                "from_club",
                "to_club",
                "stage",
                "window",
                "text",
                "url",
                "cites",
                "market_value_eur",
                "contract_until",
                "player_age",
                "fee_eur",
            ])
            .map_err(|e| write_err(&claims_path, e))?;
        transfers_w
            .write_record([
                "player",
                "from_club",
                "to_club",
                "date",
                "window",
                "fee_eur",
                "kind",
            ])
            .map_err(|e| write_err(&transfers_path, e))?;

        Ok(Files {
            claims_path,
            transfers_path,
            claims_w,
            transfers_w,
        })
    }

    fn claim(&mut self, record: [&str; 16]) -> Result<()> {
        self.claims_w
            .write_record(record)
            .map_err(|e| write_err(&self.claims_path, e))
    }

    fn finish(mut self) -> Result<()> {
        self.claims_w
            .flush()
            .map_err(|e| write_err(&self.claims_path, e))?;
        self.transfers_w
            .flush()
            .map_err(|e| write_err(&self.transfers_path, e))
    }
}

/// The clubs, players and sources of a world.
struct World {
    clubs: Vec<Club>,
    club_cum: Vec<f64>,
    players: Vec<Player>,
    sources: Vec<Source>,
    /// Cumulative share of claims by source (copiers have none of their own).
    volume_cum: Vec<f64>,
    /// The sources that copy each source.
    copiers: Vec<Vec<usize>>,
}

/// The first and last windows, and the share of claims of each (summer busier).
fn windows_of(shape: &Shape) -> (Vec<Window>, Vec<f64>) {
    let first = Window {
        year: shape.first_year,
        season: Season::Summer,
    };
    let last = Window {
        year: 2027,
        season: Season::Winter,
    };
    let windows: Vec<Window> = (first.ordinal()..=last.ordinal())
        .map(Window::from_ordinal)
        .collect();
    let weights: Vec<f64> = windows
        .iter()
        .map(|w| {
            if *w == last {
                0.5
            } else if w.season == Season::Summer {
                1.6
            } else {
                1.0
            }
        })
        .collect();
    (windows, weights)
}

impl World {
    fn new(shape: &Shape, n: u64, rng: &mut ChaCha8Rng) -> World {
        let clubs = clubs(shape, rng);
        let club_cum = cumulative((0..clubs.len()).map(|i| 1.0 / (i as f64 + 2.0).powf(0.9)));
        let players = players(shape, n, &club_cum, rng);
        let sources = sources(shape, n, rng);
        let n_sources = sources.len();
        let volume_cum = cumulative((0..n_sources).map(|i| {
            if sources[i].parent.is_some() {
                0.0
            } else {
                1.0 / (i as f64 + 1.0)
            }
        }));
        let copiers: Vec<Vec<usize>> = (0..n_sources)
            .map(|p| {
                (0..n_sources)
                    .filter(|c| sources[*c].parent == Some(p))
                    .collect()
            })
            .collect();
        World {
            clubs,
            club_cum,
            players,
            sources,
            volume_cum,
            copiers,
        }
    }

    /// The window's deals: who may move where, and whether it happens (a club's propensity,
    /// the contract and the age); a player moves at most once a window.
    fn deal_pool(&self, at: &WindowDays, quota: u64, rng: &mut ChaCha8Rng) -> Pool {
        let (window, open, close) = (&at.window, at.open, at.close);
        let (players, clubs, club_cum) = (&self.players, &self.clubs, &self.club_cum);
        let n_players = players.len();
        let n_deals = ((quota as f64 / 3.5) as usize).max(20);
        let alpha = if window.season == Season::Summer {
            -1.0
        } else {
            -1.9
        };
        let mut moved: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut pool_true: Vec<Deal> = Vec::new();
        let mut pool_false: Vec<Deal> = Vec::new();
        let mut movers: Vec<usize> = Vec::new();
        for _ in 0..n_deals {
            let player = if !movers.is_empty() && rng.random::<f64>() < 0.25 {
                movers[rng.random_range(0..movers.len())]
            } else {
                rng.random_range(0..n_players)
            };
            let from = players[player].club;
            let mut to = pick(club_cum, rng);
            if to == from {
                to = (to + 1) % clubs.len();
            }
            let p = &players[player];
            let months_left = p.contract_years * 12
                + if window.season == Season::Summer {
                    0
                } else {
                    6
                };
            let contract = if months_left < 12 {
                0.8
            } else if months_left > 36 {
                -0.4
            } else {
                0.0
            };
            let age = if p.age > 30.0 { -0.3 } else { 0.0 };
            let pi = sigmoid(alpha + clubs[to].propensity + contract + age);
            let date =
                open + chrono::Duration::days(rng.random_range(0..=(close - open).num_days()));
            let happens = rng.random::<f64>() < pi && !moved.contains(&player);
            let deal = Deal {
                player,
                from,
                to,
                date,
            };
            if happens {
                moved.insert(player);
                movers.push(player);
                pool_true.push(deal);
            } else {
                pool_false.push(deal);
            }
        }
        Pool {
            happen: pool_true,
            not: pool_false,
            moved,
        }
    }

    /// The window's claims: a source picked by volume reports a deal at a stage from its mix,
    /// right with its hit rate; outlets that copy it follow.
    fn claims(
        &self,
        pool: &Pool,
        at: &WindowDays,
        (calendar, shape): (&WindowCalendar, &Shape),
        out: &mut Files,
        tally: &mut Tally,
        rng: &mut ChaCha8Rng,
    ) -> Result<()> {
        let (window, close, world_end) = (&at.window, at.close, at.world_end);
        let Quota { n, quota } = at.quota;
        let sources = &self.sources;
        let (pool_true, pool_false) = (&pool.happen, &pool.not);
        let mut emitted = 0u64;
        let mut attempts = 0u64;
        while emitted < quota && attempts < quota * 20 {
            attempts += 1;
            let s = pick(&self.volume_cum, rng);
            let g = Stage::from_rank(pick(&sources[s].stage_cum, rng) as u32)
                .unwrap_or(Stage::Speculation);
            let h = hit_rate(&sources[s], g, window.season, shape.hit_shift);
            let right = rng.random::<f64>() < h;
            let want_true = if g == Stage::Denied { !right } else { right };
            let pool = if (want_true && !pool_true.is_empty()) || pool_false.is_empty() {
                pool_true
            } else {
                pool_false
            };
            if pool.is_empty() {
                break;
            }
            // Popular deals are reported more.
            let idx = ((pool.len() as f64) * rng.random::<f64>().powf(1.6)) as usize;
            let deal = pool[idx.min(pool.len() - 1)].clone();
            let offset = match g {
                Stage::Speculation | Stage::Interest | Stage::Denied => rng.random_range(10..150),
                Stage::Talks => rng.random_range(5..60),
                Stage::Advanced => rng.random_range(1..25),
                Stage::Agreed => rng.random_range(0..10),
                Stage::Done => rng.random_range(0..3),
            };
            let published =
                if shape.deadline_share > 0.0 && rng.random::<f64>() < shape.deadline_share {
                    // The deadline rush: the last two days before the close.
                    close - chrono::Duration::days(rng.random_range(0..2))
                } else {
                    deal.date - chrono::Duration::days(offset)
                };
            if published > world_end || published < close - chrono::Duration::days(300) {
                continue;
            }
            emitted += 1;
            tally.written += 1;
            tally.truth[s][g as usize].0 += h;
            tally.truth[s][g as usize].1 += 1;
            let r = self.report(&deal, (s, g, published), at, (calendar, shape), rng);
            let id = format!("g{}", tally.written);
            let url = format!("https://{}/{}", sources[s].domain, tally.written);
            let date = published.to_string();
            out.claim(r.record(&id, &date, (&sources[s].name, &r.author), &url, ""))?;
            emitted += self.copies(&r, (s, g, h), (published, world_end, n), out, tally, rng)?;
        }
        Ok(())
    }

    /// How a source words a claim about `deal` at stage `g`: the names as it spells them, the
    /// text, and the fields it fills or leaves empty (drawn in this order).
    fn report(
        &self,
        deal: &Deal,
        (s, g, published): (usize, Stage, NaiveDate),
        at: &WindowDays,
        (calendar, shape): (&WindowCalendar, &Shape),
        rng: &mut ChaCha8Rng,
    ) -> Report {
        let sources = &self.sources;
        let window = &at.window;
        let (players, clubs) = (&self.players, &self.clubs);
        let p = &players[deal.player];
        let player_name = player_variant(p, rng);
        let from_name = club_variant(&clubs[deal.from], rng);
        let to_name = club_variant(&clubs[deal.to], rng);
        let text = text_for(
            g,
            &player_name,
            &from_name,
            &to_name,
            p.age,
            rng.random_range(0..3),
        );
        let text = if shape.without_text > 0.0 && rng.random::<f64>() < shape.without_text {
            String::new()
        } else {
            text
        };
        let inferred = calendar.window_for(published);
        let window_field = if inferred == *window && rng.random::<f64>() < shape.without_window {
            String::new()
        } else {
            window.to_string()
        };
        let stage_field = if rng.random::<f64>() < shape.without_stage {
            ""
        } else {
            g.name()
        };
        let author = if rng.random::<f64>() < 0.7 {
            sources[s].authors[rng.random_range(0..sources[s].authors.len())].clone()
        } else {
            String::new()
        };
        let value = if rng.random::<f64>() < 0.6 {
            format!("{:.0}", p.value)
        } else {
            String::new()
        };
        let contract = if rng.random::<f64>() < 0.5 {
            format!("{}-06-30", window.year + p.contract_years)
        } else {
            String::new()
        };
        let age = if rng.random::<f64>() < 0.6 {
            format!("{:.0}", p.age)
        } else {
            String::new()
        };
        Report {
            player_name,
            from_name,
            to_name,
            text,
            window_field,
            stage_field,
            author,
            value,
            contract,
            age,
        }
    }

    /// Copies of report `r` (by source `s`, stage `g`, hit rate `h`) by the outlets that follow
    /// `s`; returns how many were written.
    fn copies(
        &self,
        r: &Report,
        (s, g, h): (usize, Stage, f64),
        (published, world_end, n): (NaiveDate, NaiveDate, u64),
        out: &mut Files,
        tally: &mut Tally,
        rng: &mut ChaCha8Rng,
    ) -> Result<u64> {
        let sources = &self.sources;
        let mut emitted = 0;
        for &c in &self.copiers[s] {
            if tally.written >= n || rng.random::<f64>() >= 0.35 {
                continue;
            }
            let day = published + chrono::Duration::days(rng.random_range(0..2));
            if day > world_end {
                continue;
            }
            tally.written += 1;
            emitted += 1;
            tally.truth[c][g as usize].0 += h;
            tally.truth[c][g as usize].1 += 1;
            let cites = if rng.random::<f64>() < 0.5 {
                sources[s].name.as_str()
            } else {
                ""
            };
            let id = format!("g{}", tally.written);
            let url = format!("https://{}/{}", sources[c].domain, tally.written);
            let date = day.to_string();
            out.claim(r.record(&id, &date, (&sources[c].name, ""), &url, cites))?;
        }
        Ok(emitted)
    }

    /// The window's transfers: the deals that happened, unrumoured moves, and loans ending;
    /// each changes the player's club.
    fn transfers(
        &mut self,
        pool: &mut Pool,
        at: &WindowDays,
        dated_share: f64,
        out: &mut Files,
        tally: &mut Tally,
        rng: &mut ChaCha8Rng,
    ) -> Result<()> {
        let (window, open, close, world_end) = (&at.window, at.open, at.close, at.world_end);
        let n_players = self.players.len();
        let (players, clubs) = (&mut self.players, &self.clubs);
        let mut moves: Vec<(usize, usize, usize, NaiveDate, &'static str)> = Vec::new();
        for d in &pool.happen {
            let r: f64 = rng.random();
            let kind = if r < 0.2 {
                "loan"
            } else if r < 0.3 {
                "free"
            } else {
                "permanent"
            };
            moves.push((d.player, d.from, d.to, d.date, kind));
        }
        for _ in 0..(pool.happen.len() / 3).max(1) {
            let player = rng.random_range(0..n_players);
            if pool.moved.contains(&player) {
                continue;
            }
            let from = players[player].club;
            let to = (from + 1 + rng.random_range(0..clubs.len() - 1)) % clubs.len();
            pool.moved.insert(player);
            let date =
                open + chrono::Duration::days(rng.random_range(0..=(close - open).num_days()));
            moves.push((player, from, to, date, "permanent"));
        }
        let mut returning: Vec<(usize, usize, usize, NaiveDate, &'static str)> = Vec::new();
        tally.loans.retain(|(player, parent, loan_club, w)| {
            if w.ordinal() + 2 == window.ordinal()
                && !pool.moved.contains(player)
                && players[*player].club == *loan_club
            {
                returning.push((*player, *loan_club, *parent, open, "end_of_loan"));
                false
            } else {
                w.ordinal() + 2 > window.ordinal()
            }
        });
        moves.extend(returning);
        for (player, from, to, date, kind) in moves {
            let dated = rng.random::<f64>() < dated_share;
            let known_on = if dated {
                date
            } else {
                close + chrono::Duration::days(1)
            };
            if known_on > world_end {
                continue;
            }
            tally.transfers += 1;
            let fee = if kind == "permanent" {
                format!(
                    "{:.0}",
                    players[player].value * (0.6 + 0.8 * rng.random::<f64>())
                )
            } else {
                String::new()
            };
            let date_field = if dated {
                date.to_string()
            } else {
                String::new()
            };
            let window_field = if dated && rng.random::<f64>() < 0.5 {
                String::new()
            } else {
                window.to_string()
            };
            let record = [
                player_variant(&players[player], rng),
                club_variant(&clubs[from], rng),
                club_variant(&clubs[to], rng),
                date_field,
                window_field,
                fee,
                kind.to_string(),
            ];
            out.transfers_w
                .write_record(&record)
                .map_err(|e| write_err(&out.transfers_path, e))?;
            if kind == "loan" {
                tally.loans.push((player, from, to, *window));
            }
            players[player].club = to;
        }
        Ok(())
    }
}

/// The clubs (the real ones first, then `Club N`), with the built-in aliases of each.
fn clubs(shape: &Shape, rng: &mut ChaCha8Rng) -> Vec<Club> {
    let n_clubs = shape.clubs.unwrap_or(CLUBS.len());
    let mut clubs: Vec<Club> = (0..n_clubs)
        .map(|i| Club {
            name: match CLUBS.get(i) {
                Some(name) => std::borrow::Cow::Borrowed(*name),
                None => std::borrow::Cow::Owned(format!("Club {}", i + 1)),
            },
            aliases: Vec::new(),
            propensity: 0.6 * normal(rng),
        })
        .collect();
    for line in ALIASES_CSV.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() == 3 && f[0] == "club" {
            if let Some(c) = clubs.iter_mut().find(|c| {
                crate::normalise::key(crate::normalise::NameKind::Club, &c.name)
                    == crate::normalise::key(crate::normalise::NameKind::Club, f[2])
            }) {
                c.aliases.push(f[1].to_string());
            }
        }
    }
    clubs
}

/// The players: names from the first and last name lists, a club, an age and a value.
fn players(shape: &Shape, n: u64, club_cum: &[f64], rng: &mut ChaCha8Rng) -> Vec<Player> {
    let n_players = shape
        .players
        .unwrap_or(((n / 8) as usize).clamp(200, 1_500_000));
    let players: Vec<Player> = (0..n_players)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let extra = i / (FIRST.len() * LAST.len());
            let name = if extra == 0 {
                format!("{first} {last}")
            } else {
                format!("{first} {} {last}", LAST[(extra * 7) % LAST.len()])
            };
            let name = if extra >= LAST.len() {
                format!("{name} {}", extra / LAST.len() + 1)
            } else {
                name
            };
            let club = pick(club_cum, rng);
            Player {
                name,
                club,
                age: 18.0 + 16.0 * rng.random::<f64>(),
                value: (1e6 * (2.0 + 1.2 * normal(rng) - 0.02 * club as f64).exp()).min(2e8),
                contract_years: rng.random_range(0..5),
            }
        })
        .collect();
    players
}

/// The sources: outlets with a quality, a stage mix and authors; every seventh copies a more
/// prolific one.
fn sources(shape: &Shape, n: u64, rng: &mut ChaCha8Rng) -> Vec<Source> {
    let n_sources = shape
        .sources
        .unwrap_or((10.0 + (n as f64).sqrt() / 12.0).clamp(15.0, 400.0) as usize);
    let mut sources: Vec<Source> = (0..n_sources)
        .map(|i| {
            let name = if i < OUTLETS.len() {
                OUTLETS[i].to_string()
            } else {
                format!("{} {}", OUTLETS[i % OUTLETS.len()], i / OUTLETS.len() + 1)
            };
            let domain = format!("{}.example", crate::normalise::fold(&name).replace(' ', ""));
            let quality = 0.9 * normal(rng);
            let tilt = normal(rng);
            let stage_cum = cumulative(
                (0..7).map(|g| STAGE_WEIGHT[g] * (0.25 * tilt * (g as f64 - 3.0)).exp()),
            );
            let authors = (0..rng.random_range(1..5))
                .map(|_| {
                    format!(
                        "{}. {}",
                        &ascii(FIRST[rng.random_range(0..FIRST.len())])[..1],
                        LAST[rng.random_range(0..LAST.len())]
                    )
                })
                .collect();
            Source {
                name,
                domain,
                quality,
                stage_cum,
                authors,
                parent: None,
            }
        })
        .collect();
    // Every seventh source copies a more prolific one.
    for i in (3..n_sources).step_by(7) {
        let parent = rng.random_range(0..i);
        sources[i].parent = Some(parent);
    }
    sources
}

/// `truth.csv`: each source's true hit rate by stage, its claims, and whom it copies.
fn write_truth(out: &Path, sources: &[Source], truth: &[[(f64, u64); 7]]) -> Result<()> {
    let truth_path = out.join("truth.csv");
    let mut tw = csv::Writer::from_path(&truth_path).map_err(|e| write_err(&truth_path, e))?;
    tw.write_record(["source", "stage", "true_hit_rate", "claims", "copies"])
        .map_err(|e| write_err(&truth_path, e))?;
    for (s, src) in sources.iter().enumerate() {
        for g in Stage::ALL {
            let (sum, count) = truth[s][g as usize];
            if count == 0 {
                continue;
            }
            let copies = src
                .parent
                .map(|p| sources[p].name.clone())
                .unwrap_or_default();
            tw.write_record([
                src.name.clone(),
                g.name().to_string(),
                format!("{:.6}", sum / count as f64),
                count.to_string(),
                copies,
            ])
            .map_err(|e| write_err(&truth_path, e))?;
        }
    }
    tw.flush().map_err(|e| write_err(&truth_path, e))?;
    Ok(())
}
