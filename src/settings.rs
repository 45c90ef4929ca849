//! Every knob of a run, read from a TOML file (`--config`) over built-in defaults.
//!
//! `rumour config` prints [`Config::default`] as TOML, so the printed file is both the
//! documentation of the keys and a valid starting point.

use std::collections::BTreeMap;
use std::path::Path;

use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::Stage;
use crate::windows::WindowCalendar;

/// The whole configuration. Unknown keys are an error, so a typo cannot silently do nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub windows: WindowsConfig,
    pub outcomes: OutcomesConfig,
    pub reliability: ReliabilityConfig,
    pub likelihood: LikelihoodConfig,
    pub backtest: BacktestConfig,
    pub limits: LimitsConfig,
    /// Phrases that give a claim its stage when the `stage` column is empty.
    /// Checked from the strongest stage down; the first stage with a matching phrase wins;
    /// a claim matching none is `speculation`. Matching is on the folded, lower-case text.
    pub stage_keywords: BTreeMap<String, Vec<String>>,
    /// Column mapping for users' own headers: `canonical = "their header"`.
    pub columns: ColumnsConfig,
    /// How input files are read: separator, encoding, date format.
    pub input: InputConfig,
}

/// `[input]`: files as spreadsheets save them (the ingest stage reads them so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputConfig {
    /// `auto` (detected from the header line), `,`, `;`, `tab` or `|`.
    pub delimiter: String,
    /// `auto` (UTF-8, or UTF-16 with its byte-order mark) or an encoding label such as
    /// `windows-1252`, `latin1`, `utf-16le`.
    pub encoding: String,
    /// A chrono format for dates that are not `YYYY-MM-DD`, e.g. `%d/%m/%Y` (empty: ISO only).
    pub date_format: String,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            delimiter: "auto".into(),
            encoding: "auto".into(),
            date_format: String::new(),
        }
    }
}

impl InputConfig {
    /// The separator and encoding, checked.
    ///
    /// # Errors
    /// An unknown delimiter or encoding.
    pub fn format(&self) -> std::result::Result<InputFormat, String> {
        InputFormat::parse(&self.delimiter, &self.encoding).map_err(|e| format!("input: {e}"))
    }

    /// The date format, if one is set.
    pub fn date_format(&self) -> Option<&str> {
        let f = self.date_format.trim();
        (!f.is_empty()).then_some(f)
    }
}

/// How input files are read: from `[input]` in the configuration (the command line fills it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputFormat {
    /// `None`: detected from the header line.
    pub delimiter: Option<u8>,
    /// `None`: UTF-8, or UTF-16 when the file starts with its byte-order mark.
    pub encoding: Option<&'static Encoding>,
}

impl InputFormat {
    /// Parses the `[input]` settings: `delimiter` is `auto`, `,`, `;`, `tab` (or a tab
    /// character) or `|`; `encoding` is `auto` or an encoding label (`utf-8`, `utf-16le`,
    /// `windows-1252`, `latin1`, …).
    ///
    /// # Errors
    /// An unknown delimiter or encoding, with the accepted values.
    pub fn parse(delimiter: &str, encoding: &str) -> Result<InputFormat, String> {
        let delimiter = match delimiter.trim_matches(' ') {
            "" | "auto" => None,
            "," | "comma" => Some(b','),
            ";" | "semicolon" => Some(b';'),
            "\t" | "tab" | "\\t" => Some(b'\t'),
            "|" | "pipe" => Some(b'|'),
            other => {
                return Err(format!(
                    "unknown delimiter `{other}`: expected auto, `,`, `;`, tab or `|`"
                ))
            }
        };
        let encoding = match encoding.trim() {
            "" | "auto" => None,
            label => Some(Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                format!("unknown encoding `{label}`: expected auto or a label such as utf-8, utf-16le, windows-1252, latin1")
            })?),
        };
        Ok(InputFormat {
            delimiter,
            encoding,
        })
    }
}

/// The name of a delimiter for the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowsConfig {
    /// Month-day (`MM-DD`) on which the summer window closes.
    pub summer_close: String,
    /// Month-day (`MM-DD`) on which the winter window closes.
    pub winter_close: String,
}

impl WindowsConfig {
    /// The calendar these close days make.
    ///
    /// # Errors
    /// A close day that is not `MM-DD`, or a winter close after the summer close.
    pub fn calendar(&self) -> std::result::Result<WindowCalendar, String> {
        WindowCalendar::new(&self.summer_close, &self.winter_close)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomesConfig {
    /// Days after a window's close during which a dated move still counts for it.
    pub grace_days: i64,
    /// Whether a loan to the linked club confirms a story.
    pub loans_count: bool,
    /// Whether a return from loan confirms a story (it almost never is what a rumour meant).
    pub end_of_loan_counts: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReliabilityConfig {
    /// Mass of the equal-tailed credible interval, e.g. 0.9.
    pub interval: f64,
    /// A group with fewer resolved stories than this is flagged `insufficient`.
    pub min_resolved: u64,
    /// Fewer groups with resolved stories than this: the prior is not fitted (fallback).
    pub min_groups_for_fit: usize,
    /// Strength (alpha + beta) of the fallback prior centred on the pooled rate.
    pub fallback_strength: f64,
    /// Upper bound on the fitted prior strength (alpha + beta); the marginal likelihood is flat
    /// towards infinity when groups do not differ more than chance.
    pub max_strength: f64,
    /// Lower bound on the fitted prior strength: when every group's record is all hits or
    /// all misses the marginal likelihood rises towards a prior of no weight, which would
    /// leave a one-story source at exactly 0% or 100%.
    pub min_strength: f64,
    /// Half-life in days of a story's weight, counted back from the as-of date; 0 = no decay.
    pub half_life_days: f64,
    /// Where a wording stage has too little data for its own prior, the prior leans on the
    /// pooled rate of every stage, moved by this many log-odds per stage above or below
    /// their mean: stronger wording comes true more often (0 = no order assumed).
    pub stage_step_logit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LikelihoodConfig {
    /// Fewer resolved training deals (or only one outcome among them): use the prior model.
    pub min_training_deals: usize,
    /// From this many training deals on, calibrate with isotonic regression instead of Platt.
    pub isotonic_min_deals: usize,
    /// L2 penalty of the logistic regression (on standardised features; intercept unpenalised).
    pub ridge: f64,
    /// Mass of the likelihood band (`likelihood_low`, `likelihood_high`).
    pub band: f64,
    /// Training snapshots: each past window's deals are seen this many days before its close.
    pub training_leads_days: Vec<i64>,
    /// Reports with the same wording about the same deal within this many days are one report.
    pub copy_window_days: i64,
    /// Momentum compares reports in the last N days with the N days before.
    pub momentum_days: i64,
    /// At most this many training rows, counted at every training distance (a deterministic
    /// hash sample of deals above it; `score` then makes only the rows its models are fitted on).
    pub max_training_rows: usize,
    /// Folds (by window) for the out-of-fold predictions the calibrator is fitted on.
    pub calibration_folds: usize,
    /// With at least this many training deals at the distance from the close being scored,
    /// the model is fitted on them alone; below it, rows at other distances are pooled in
    /// with a weight chosen out of fold.
    pub pool_below_deals: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestConfig {
    /// Days before each window's close at which the backtest fits and predicts: every
    /// window is tested at each (a single number is read as a list of one).
    #[serde(deserialize_with = "one_or_many")]
    pub lead_days: Vec<i64>,
    /// Bins of the reliability table and of the expected calibration error.
    pub bins: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// A field longer than this many bytes rejects its row.
    pub max_field_bytes: usize,
    /// Fees above this many euros are rejected as absurd.
    pub max_fee_eur: f64,
    /// Player ages outside this range are rejected.
    pub min_age: f64,
    pub max_age: f64,
}

/// Column mapping: `[columns.claims] published = "date"` reads the user's `date` column as
/// `published`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnsConfig {
    pub claims: BTreeMap<String, String>,
    pub transfers: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            windows: WindowsConfig::default(),
            outcomes: OutcomesConfig::default(),
            reliability: ReliabilityConfig::default(),
            likelihood: LikelihoodConfig::default(),
            backtest: BacktestConfig::default(),
            limits: LimitsConfig::default(),
            stage_keywords: crate::wording::default_keywords(),
            columns: ColumnsConfig::default(),
            input: InputConfig::default(),
        }
    }
}

impl Default for WindowsConfig {
    fn default() -> Self {
        WindowsConfig {
            summer_close: "09-01".into(),
            winter_close: "02-01".into(),
        }
    }
}

impl Default for OutcomesConfig {
    fn default() -> Self {
        OutcomesConfig {
            grace_days: 7,
            loans_count: true,
            end_of_loan_counts: false,
        }
    }
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        ReliabilityConfig {
            interval: 0.9,
            min_resolved: 5,
            min_groups_for_fit: 5,
            fallback_strength: 2.0,
            max_strength: 1000.0,
            min_strength: 2.0,
            half_life_days: 0.0,
            stage_step_logit: 0.5,
        }
    }
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        LikelihoodConfig {
            min_training_deals: 200,
            isotonic_min_deals: 2000,
            ridge: 1.0,
            band: 0.9,
            training_leads_days: vec![0, 30, 60],
            copy_window_days: 1,
            momentum_days: 14,
            max_training_rows: 150_000,
            calibration_folds: 5,
            pool_below_deals: 20_000,
        }
    }
}

/// A list of numbers, or one number as a list of one.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(i64),
        Many(Vec<i64>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    })
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            lead_days: vec![1, 7, 30, 60],
            bins: 10,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_field_bytes: 65_536,
            max_fee_eur: 1.0e9,
            min_age: 14.0,
            max_age: 50.0,
        }
    }
}

/// How many threads read one input file, and the size below which a file is read by one.
/// Reports do not depend on either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub threads: usize,
    pub split_min_bytes: u64,
}

impl Default for Reading {
    /// The machine's cores; files under 4 MiB per thread are read by one.
    fn default() -> Self {
        Reading {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            split_min_bytes: 1 << 22,
        }
    }
}

/// The configuration checked once and turned into what the stages use: the window calendar,
/// the input format, the reading threads, and the raw sections each stage takes its part of.
/// Built by [`Settings::new`]; nothing below it reads the environment or parses a setting again.
///
/// # Examples
/// ```
/// use rumour::settings::{Config, Settings};
/// let mut config = Config::default();
/// config.windows.summer_close = "08-31".into();
/// let settings = Settings::new(config)?;
/// assert_eq!(settings.config().windows.summer_close, "08-31");
///
/// let mut bad = Config::default();
/// bad.reliability.interval = 1.5;
/// assert!(Settings::new(bad).is_err());
/// # Ok::<(), rumour::error::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    config: Config,
    /// The transfer-window calendar of `[windows]`.
    pub calendar: WindowCalendar,
    /// Separator and encoding of the input files (`[input]`).
    pub input: InputFormat,
    /// Threads per input file (the command line reads `POLARS_MAX_THREADS`).
    pub reading: Reading,
}

impl Settings {
    /// Checks `config` and builds what the stages use from it.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the key and the value that cannot be used.
    pub fn new(config: Config) -> Result<Settings> {
        config.validate().map_err(Error::Usage)?;
        Ok(Settings {
            calendar: config.windows.calendar().map_err(Error::Usage)?,
            input: config.input.format().map_err(Error::Usage)?,
            reading: Reading::default(),
            config,
        })
    }

    /// The sections of the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Default for Settings {
    fn default() -> Self {
        let config = Config::default();
        Settings {
            calendar: WindowCalendar::default(),
            input: InputFormat::default(),
            reading: Reading::default(),
            config,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults (missing keys keep their default).
    ///
    /// # Errors
    /// [`Error::Usage`] naming the file and the TOML problem (line, key).
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("config {}: cannot read: {e}", path.display())))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| Error::Usage(format!("config {}: {e}", path.display())))?;
        config
            .validate()
            .map_err(|m| Error::Usage(format!("config {}: {m}", path.display())))?;
        Ok(config)
    }

    /// The defaults as a commented TOML document.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!(
            "# rumour configuration: every key is optional; these are the defaults.\n\
             # See README.md, section \"Configuration\", for what each key does.\n\n{body}"
        )
    }

    /// Checks values that TOML types cannot express.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.windows.calendar()?;
        self.input.format()?;
        if let Some(f) = self.input.date_format() {
            let probe = chrono::NaiveDate::from_ymd_opt(2025, 9, 4)
                .map(|d| d.format(f).to_string())
                .unwrap_or_default();
            if chrono::NaiveDate::parse_from_str(&probe, f).is_err() {
                return Err(format!(
                    "input.date_format `{f}` cannot read back the dates it writes (try %d/%m/%Y)"
                ));
            }
        }
        let r = &self.reliability;
        if !(r.interval > 0.0 && r.interval < 1.0) {
            return Err(format!(
                "reliability.interval must be in (0, 1), got {}",
                r.interval
            ));
        }
        if r.fallback_strength <= 0.0
            || r.max_strength <= 0.0
            || r.min_strength < 0.0
            || r.min_strength > r.max_strength
            || r.half_life_days < 0.0
        {
            return Err("reliability: fallback_strength and max_strength must be > 0, 0 <= min_strength <= max_strength, half_life_days >= 0".into());
        }
        let l = &self.likelihood;
        if !(l.band > 0.0 && l.band < 1.0) {
            return Err(format!("likelihood.band must be in (0, 1), got {}", l.band));
        }
        if l.ridge < 0.0 || l.calibration_folds < 2 || l.training_leads_days.is_empty() {
            return Err(
                "likelihood: ridge >= 0, calibration_folds >= 2 and at least one training lead"
                    .into(),
            );
        }
        if l.training_leads_days.iter().any(|d| *d < 0) || l.copy_window_days < 0 {
            return Err("likelihood: day counts must be >= 0".into());
        }
        if l.momentum_days <= 0 {
            return Err("likelihood.momentum_days must be > 0".into());
        }
        if self.backtest.bins == 0
            || self.backtest.lead_days.is_empty()
            || self.backtest.lead_days.iter().any(|d| *d < 0)
        {
            return Err("backtest: bins >= 1 and at least one lead_days, each >= 0".into());
        }
        if self.outcomes.grace_days < 0 {
            return Err("outcomes.grace_days must be >= 0".into());
        }
        for stage in self.stage_keywords.keys() {
            if Stage::parse(stage).is_none() {
                return Err(format!(
                    "stage_keywords: unknown stage `{stage}` (stages: {})",
                    Stage::NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_defaults_read_back_identical() {
        let text = Config::default_toml();
        let back: Config = toml::from_str(&text).expect("defaults parse");
        assert_eq!(back, Config::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults_and_typos_are_errors() {
        let c: Config = toml::from_str("[outcomes]\ngrace_days = 3\n").expect("parse");
        assert_eq!(c.outcomes.grace_days, 3);
        assert_eq!(c.windows, WindowsConfig::default());
        let err = toml::from_str::<Config>("[outcomes]\ngrace_dayz = 3\n")
            .expect_err("a misspelt key is an error");
        assert!(err.to_string().contains("grace_dayz"), "{err}");
    }

    #[test]
    fn bad_values_are_rejected() {
        let mut c = Config::default();
        c.windows.summer_close = "13-40".into();
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.reliability.interval = 1.5;
        assert!(c.validate().is_err());
    }
}
