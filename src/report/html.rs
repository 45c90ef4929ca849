//! `report.html`: the run as one self-contained page (no network, no external script or
//! style; charts are inline SVG), for a reader who does not open CSV files.
//!
//! The exporter is pure: [`Page::from_tables`] reads the report tables a run has already
//! built, and [`render`] turns a [`Page`] into text. Nothing here touches the file system;
//! the same tables give the same bytes. Every name from the inputs is HTML-escaped.
//!
//! What the page shows:
//! - the open deals with likelihood, band and the three reasons;
//! - the sources as a tier list: each source's posterior rate with its credible interval
//!   (a forest plot, one row per source, sortable by any column), tiered by where the interval
//!   lies against the crowd's rate (the prior mean);
//! - clubs as buyers and as sellers, in the same form;
//! - the reliability diagram of the last backtest written into the same `--out`, if any;
//! - the run's accounting: rows read, used and rejected per file, rejects by reason, warnings.

use std::fmt::Write as _;

use polars::prelude::*;

/// Rows shown per table; the CSV reports hold every row.
pub const MAX_ROWS: usize = 500;

/// One entity (a source, or a club in one role) with its posterior rate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateRow {
    pub name: String,
    /// Stories (sources) or deals (clubs).
    pub items: u64,
    pub resolved: u64,
    pub hits: u64,
    pub posterior_mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Fewer resolved items than `reliability.min_resolved`: the rate is mostly the prior.
    pub insufficient: bool,
}

/// An open deal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealRow {
    pub player: String,
    pub from_club: String,
    pub to_club: String,
    pub window: String,
    pub likelihood: f64,
    pub low: f64,
    pub high: f64,
    pub stage: String,
    pub sources: u64,
    pub reasons: Vec<String>,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalibrationBin {
    pub predictor: String,
    pub count: u64,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Rows read, used and rejected of one input file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileRow {
    pub file: String,
    pub read: u64,
    pub used: u64,
    pub rejected: u64,
    pub delimiter: String,
    pub encoding: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub as_of: String,
    pub version: String,
    /// Mass of the credible intervals, e.g. 0.9.
    pub interval: f64,
    /// The crowd's rate (the sources' prior mean): the line each interval is read against.
    pub crowd_rate: Option<f64>,
    pub sources: Vec<RateRow>,
    /// Sources in the run (the table may show fewer: [`MAX_ROWS`]).
    pub sources_total: usize,
    pub buyers: Vec<RateRow>,
    pub sellers: Vec<RateRow>,
    pub deals: Vec<DealRow>,
    pub deals_total: usize,
    /// The last backtest's bins, when `--out` held one.
    pub calibration: Vec<CalibrationBin>,
    pub files: Vec<FileRow>,
    pub rows_add_up: bool,
    pub rejects_by_reason: Vec<(String, u64)>,
    pub warnings: Vec<String>,
    /// (label, value) lines of the run's counts: stories, deals, names.
    pub counts: Vec<(String, String)>,
}

fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    Ok(c.str()?
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect())
}

fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

fn counts(df: &DataFrame, name: &str) -> PolarsResult<Vec<u64>> {
    let c = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(c.u64()?.iter().map(|v| v.unwrap_or(0)).collect())
}

fn flags(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    let c = df.column(name)?.cast(&DataType::Boolean)?;
    Ok(c.bool()?.iter().map(|v| v.unwrap_or(false)).collect())
}

/// Rate rows of a reliability table (`sources` or `clubs`), most resolved first, then by
/// name; at most [`MAX_ROWS`]. `hits` is the column counting successes (`hits` for sources,
/// `confirmed` for clubs); `items` the column counting what was rated.
fn rate_rows(df: &DataFrame, name: &str, items: &str, hits: &str) -> PolarsResult<Vec<RateRow>> {
    let names = strings(df, name)?;
    let items = counts(df, items)?;
    let resolved = counts(df, "resolved")?;
    let hits = counts(df, hits)?;
    let mean = floats(df, "posterior_mean")?;
    let low = floats(df, "ci_low")?;
    let high = floats(df, "ci_high")?;
    let thin = flags(df, "insufficient")?;
    let mut rows: Vec<RateRow> = (0..df.height())
        .map(|i| RateRow {
            name: names[i].clone(),
            items: items[i],
            resolved: resolved[i],
            hits: hits[i],
            posterior_mean: mean[i],
            ci_low: low[i],
            ci_high: high[i],
            insufficient: thin[i],
        })
        .collect();
    rows.sort_by(|a, b| {
        b.resolved
            .cmp(&a.resolved)
            .then_with(|| a.name.cmp(&b.name))
    });
    rows.truncate(MAX_ROWS);
    Ok(rows)
}

impl Page {
    /// The page of a run, from its report tables: `sources` and `clubs` as in `sources.csv`
    /// and `clubs.csv`, `deals` as in `deals.csv` (open deals, most likely first),
    /// `calibration` as in `calibration.csv` of a backtest (`None`: no backtest).
    ///
    /// # Errors
    /// A table without a column the page needs (a polars error).
    pub fn from_tables(
        sources: &DataFrame,
        clubs: &DataFrame,
        deals: &DataFrame,
        calibration: Option<&DataFrame>,
    ) -> PolarsResult<Page> {
        let mut page = Page {
            sources: rate_rows(sources, "source", "stories", "hits")?,
            sources_total: sources.height(),
            ..Page::default()
        };
        let role = strings(clubs, "role")?;
        let is = |r: &str| -> PolarsResult<DataFrame> {
            let mask: BooleanChunked = role.iter().map(|x| x == r).collect();
            clubs.filter(&mask)
        };
        page.buyers = rate_rows(&is("buyer")?, "club", "deals", "confirmed")?;
        page.sellers = rate_rows(&is("seller")?, "club", "deals", "confirmed")?;

        let (player, from, to, window, stage) = (
            strings(deals, "player")?,
            strings(deals, "from_club")?,
            strings(deals, "to_club")?,
            strings(deals, "window")?,
            strings(deals, "stage")?,
        );
        let (p, low, high) = (
            floats(deals, "likelihood")?,
            floats(deals, "likelihood_low")?,
            floats(deals, "likelihood_high")?,
        );
        let n_sources = counts(deals, "sources")?;
        let reasons = [
            strings(deals, "reason_1")?,
            strings(deals, "reason_2")?,
            strings(deals, "reason_3")?,
        ];
        // Most likely first; ties (and missing likelihoods, last) in the report's order.
        let mut order: Vec<usize> = (0..deals.height()).collect();
        let rank = |i: usize| {
            if p[i].is_finite() {
                p[i]
            } else {
                f64::NEG_INFINITY
            }
        };
        order.sort_by(|&a, &b| rank(b).total_cmp(&rank(a)).then(a.cmp(&b)));
        order.truncate(MAX_ROWS);
        page.deals = order
            .into_iter()
            .map(|i| DealRow {
                player: player[i].clone(),
                from_club: from[i].clone(),
                to_club: to[i].clone(),
                window: window[i].clone(),
                likelihood: p[i],
                low: low[i],
                high: high[i],
                stage: stage[i].clone(),
                sources: n_sources[i],
                reasons: reasons
                    .iter()
                    .map(|r| r[i].clone())
                    .filter(|r| !r.is_empty())
                    .collect(),
            })
            .collect();
        if let Some(cal) = calibration {
            let (predictor, count, mean, observed) = (
                strings(cal, "predictor")?,
                counts(cal, "count")?,
                floats(cal, "mean_predicted")?,
                floats(cal, "observed_rate")?,
            );
            page.calibration = (0..cal.height())
                .filter(|&i| count[i] > 0)
                .map(|i| CalibrationBin {
                    predictor: predictor[i].clone(),
                    count: count[i],
                    mean_predicted: mean[i],
                    observed_rate: observed[i],
                })
                .collect();
        }
        Ok(page)
    }
}

/// `text` with `& < > " '` as entities: safe in element content and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "–".to_string()
    }
}

/// A number for a `data-v` sort key (NaN sorts as the lowest).
fn key(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        "-1".to_string()
    }
}

/// A tier from where the interval lies against the crowd's rate.
fn tier(row: &RateRow, crowd: Option<f64>) -> (&'static str, &'static str) {
    if row.insufficient {
        return ("too few records", "t-thin");
    }
    match crowd {
        Some(c) if row.ci_low > c => ("above the crowd", "t-up"),
        Some(c) if row.ci_high < c => ("below the crowd", "t-down"),
        Some(_) => ("with the crowd", "t-mid"),
        None => ("rated", "t-mid"),
    }
}

const BAR_W: f64 = 220.0;

/// One row's forest-plot cell: the interval as a line, the posterior mean as a dot, the
/// crowd's rate as a dashed line, on a 0–100% axis.
fn interval_svg(low: f64, mean: f64, high: f64, crowd: Option<f64>) -> String {
    let x = |v: f64| {
        if v.is_finite() {
            (v.clamp(0.0, 1.0) * BAR_W * 10.0).round() / 10.0
        } else {
            0.0
        }
    };
    let mut s = format!(
        "<svg class=\"ci\" width=\"{BAR_W}\" height=\"14\" viewBox=\"0 0 {BAR_W} 14\" role=\"img\" aria-label=\"{} ({}–{})\">",
        pct(mean),
        pct(low),
        pct(high)
    );
    s.push_str("<line x1=\"0\" y1=\"13.5\" x2=\"220\" y2=\"13.5\" class=\"axis\"/>");
    if let Some(c) = crowd {
        let _ = write!(
            s,
            "<line x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"14\" class=\"crowd\"/>",
            x(c)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{}\" y1=\"7\" x2=\"{}\" y2=\"7\" class=\"band\"/><circle cx=\"{}\" cy=\"7\" r=\"3.5\" class=\"dot\"/></svg>",
        x(low),
        x(high),
        x(mean)
    );
    s
}

fn rate_table(out: &mut String, id: &str, what: &str, rows: &[RateRow], crowd: Option<f64>) {
    let _ = write!(
        out,
        "<table id=\"{id}\" class=\"sortable\"><thead><tr><th data-type=\"text\">{what}</th><th>tier</th><th data-type=\"num\">resolved</th><th data-type=\"num\">hits</th><th data-type=\"num\">rate</th><th data-type=\"num\">interval (0–100%)</th></tr></thead><tbody>"
    );
    for r in rows {
        let (label, class) = tier(r, crowd);
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td data-v=\"{label}\">{label}</td><td data-v=\"{}\">{} of {}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{} {}–{}</td></tr>",
            escape(&r.name),
            r.resolved,
            r.resolved,
            r.items,
            r.hits,
            r.hits,
            key(r.posterior_mean),
            pct(r.posterior_mean),
            key(r.ci_low),
            interval_svg(r.ci_low, r.posterior_mean, r.ci_high, crowd),
            pct(r.ci_low),
            pct(r.ci_high),
        );
    }
    out.push_str("</tbody></table>");
}

/// The reliability diagram: observed rate against mean predicted, per bin, for the model
/// (dots sized by count) and the strongest-stage baseline (hollow), with the diagonal.
fn calibration_svg(bins: &[CalibrationBin]) -> String {
    let (size, pad) = (360.0, 44.0);
    let plot = size - 2.0 * pad;
    let px = |v: f64| pad + v.clamp(0.0, 1.0) * plot;
    let py = |v: f64| size - pad - v.clamp(0.0, 1.0) * plot;
    let mut s = format!(
        "<svg id=\"calibration\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\" role=\"img\" aria-label=\"reliability diagram\">"
    );
    let _ = write!(
        s,
        "<rect x=\"{pad}\" y=\"{pad}\" width=\"{plot}\" height=\"{plot}\" class=\"frame\"/><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"diag\"/>",
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{:.0}%</text><text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{:.0}%</text>",
            px(t),
            size - pad + 14.0,
            100.0 * t,
            pad - 4.0,
            py(t) + 4.0,
            100.0 * t
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"label\">predicted</text><text x=\"12\" y=\"{}\" text-anchor=\"middle\" class=\"label\" transform=\"rotate(-90 12 {})\">happened</text>",
        size / 2.0,
        size - 4.0,
        size / 2.0,
        size / 2.0
    );
    let max = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    for (predictor, class) in [("stage", "pt-stage"), ("model", "pt-model")] {
        for b in bins.iter().filter(|b| b.predictor == predictor) {
            let r = 2.5 + 6.0 * (b.count as f64 / max).sqrt();
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r:.1}\" class=\"{class}\"><title>{predictor}: predicted {}, happened {}, {} deals</title></circle>",
                px(b.mean_predicted),
                py(b.observed_rate),
                pct(b.mean_predicted),
                pct(b.observed_rate),
                b.count
            );
        }
    }
    let _ = write!(
        s,
        "<circle cx=\"{0}\" cy=\"{1}\" r=\"4\" class=\"pt-model\"/><text x=\"{2}\" y=\"{3}\" class=\"tick\">model</text><circle cx=\"{0}\" cy=\"{4}\" r=\"4\" class=\"pt-stage\"/><text x=\"{2}\" y=\"{5}\" class=\"tick\">strongest stage</text>",
        pad + 10.0,
        pad + 12.0,
        pad + 18.0,
        pad + 15.5,
        pad + 26.0,
        pad + 29.5
    );
    s.push_str("</svg>");
    s
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1180px;padding:1em 1.5em;color:#1d232b}
h1{font-size:1.6em;margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #d6dbe1;padding-bottom:.2em}
.muted{color:#5b6673}table{border-collapse:collapse;margin:.5em 0;width:100%}
th,td{padding:3px 8px;text-align:left;border-bottom:1px solid #eceff2;vertical-align:middle}
th{background:#f4f6f8;position:sticky;top:0}table.sortable th{cursor:pointer}
table.sortable th:after{content:' \\2195';color:#aab2bb}
.t-up td:nth-child(2){color:#146c2e;font-weight:600}.t-down td:nth-child(2){color:#a3261b;font-weight:600}
.t-thin{color:#7b8591}svg.ci .axis{stroke:#d6dbe1}svg.ci .crowd{stroke:#8a96a3;stroke-dasharray:2 2}
svg.ci .band{stroke:#2f6db5;stroke-width:3}svg.ci .dot{fill:#163a66}.t-thin svg.ci .band{stroke:#b7c3d0}
.cols{display:flex;gap:2em;flex-wrap:wrap}.cols>div{flex:1 1 420px}
.bar{display:inline-block;height:10px;background:#2f6db5;vertical-align:middle}
#calibration .frame{fill:none;stroke:#d6dbe1}#calibration .diag{stroke:#8a96a3;stroke-dasharray:4 3}
#calibration .tick{font-size:10px;fill:#5b6673}#calibration .label{font-size:11px;fill:#1d232b}
.pt-model{fill:#2f6db5;fill-opacity:.8}.pt-stage{fill:none;stroke:#c2571a;stroke-width:1.5}
.ok{color:#146c2e}.bad{color:#a3261b}ul.warn li{color:#7a4b00}";

/// Sorting by a click on a column header: by `data-v` when the cell has it, else by text. A
/// link may carry a sorted view: `report.html#sort=sources-table:4` clicks the fifth header of
/// that table on load (twice with `:4:desc`). Once bound, `body` carries `data-sortable` =
/// the number of sortable tables (what the browser test reads).
const SCRIPT: &str = "(function(){var n=0;document.querySelectorAll('table.sortable').forEach(function(t){n++;
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),num=th.dataset.type==='num',
dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir===1?'asc':'desc';
rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i];a=a.dataset.v||a.textContent;c=c.dataset.v||c.textContent;
if(num){return dir*(parseFloat(a)-parseFloat(c));}return dir*a.localeCompare(c);});
rows.forEach(function(r){b.appendChild(r);});});});});
var m=/sort=([\\w-]+):(\\d+)(:desc)?/.exec(location.hash);if(m){var t=document.getElementById(m[1]);
var th=t&&t.querySelectorAll('th')[+m[2]];if(th){th.click();if(m[3]){th.click();}}}
document.body.dataset.sortable=n;})();";

/// The page as text: deterministic, self-contained.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        out,
        "<title>rumour: how far the transfer rumours can be trusted, as of {}</title><style>{STYLE}</style></head><body>",
        escape(&page.as_of)
    );
    let _ = write!(
        out,
        "<h1>How far the transfer rumours can be trusted</h1><p class=\"muted\">As known on <b>{}</b>. Written by rumour {}. Rates are shrunk toward the crowd when a record is thin; intervals are {}% credible intervals.</p>",
        escape(&page.as_of),
        escape(&page.version),
        (page.interval * 100.0).round()
    );
    if !page.counts.is_empty() {
        out.push_str("<p>");
        let parts: Vec<String> = page
            .counts
            .iter()
            .map(|(k, v)| format!("<b>{}</b> {}", escape(v), escape(k)))
            .collect();
        out.push_str(&parts.join(" · "));
        out.push_str("</p>");
    }

    deals_section(&mut out, page);

    rates_sections(&mut out, page);

    out.push_str("<section id=\"backtest\"><h2>Are the likelihoods calibrated?</h2>");
    if page.calibration.is_empty() {
        out.push_str("<p class=\"muted\">No backtest in this output directory. Run <code>rumour backtest --out DIR</code>, then <code>rumour score --out DIR</code>, to see the reliability diagram here.</p>");
    } else {
        out.push_str("<p class=\"muted\">The last backtest written to this directory: for past windows, deals binned by the likelihood the model gave them (filled dots, sized by the number of deals) and by the strongest stage's rate (hollow dots), against the share that happened. On the dashed diagonal, a likelihood means what it says.</p>");
        out.push_str(&calibration_svg(&page.calibration));
    }
    out.push_str("</section>");

    accounting_section(&mut out, page);
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

/// The open deals, most likely first.
fn deals_section(out: &mut String, page: &Page) {
    out.push_str("<section id=\"deals\"><h2>Open deals</h2>");
    let _ = write!(
        out,
        "<p class=\"muted\">{} open deal(s){}, most likely first: the likelihood that the move happens in the window, its band, and the three strongest reasons.</p>",
        page.deals_total,
        if page.deals.len() < page.deals_total {
            format!(
                "; the {} most likely are shown, every one is in <code>deals.csv</code>",
                page.deals.len()
            )
        } else {
            String::new()
        }
    );
    out.push_str("<table id=\"deals-table\" class=\"sortable\"><thead><tr><th data-type=\"text\">player</th><th data-type=\"text\">from</th><th data-type=\"text\">to</th><th data-type=\"text\">window</th><th data-type=\"num\">likelihood</th><th data-type=\"num\">band</th><th data-type=\"text\">stage</th><th data-type=\"num\">sources</th><th data-type=\"text\">reasons</th></tr></thead><tbody>");
    for d in &page.deals {
        let width = if d.likelihood.is_finite() {
            (d.likelihood.clamp(0.0, 1.0) * 80.0).round()
        } else {
            0.0
        };
        let reasons: Vec<String> = d.reasons.iter().map(|r| escape(r)).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{}\"><span class=\"bar\" style=\"width:{width}px\"></span> {}</td><td data-v=\"{}\">{}–{}</td><td>{}</td><td data-v=\"{}\">{}</td><td>{}</td></tr>",
            escape(&d.player),
            escape(&d.from_club),
            escape(&d.to_club),
            escape(&d.window),
            key(d.likelihood),
            pct(d.likelihood),
            key(d.high - d.low),
            pct(d.low),
            pct(d.high),
            escape(&d.stage),
            d.sources,
            d.sources,
            reasons.join("<br>")
        );
    }
    out.push_str("</tbody></table></section>");
}

/// Sources as a tier list, and clubs as buyers and as sellers.
fn rates_sections(out: &mut String, page: &Page) {
    out.push_str("<section id=\"sources\"><h2>Sources</h2>");
    let _ = write!(
        out,
        "<p class=\"muted\">How often each source's stories came true. Tier: <b>above</b> or <b>below the crowd</b> when the whole interval lies on one side of the crowd's rate{} (dashed line); <b>too few records</b> when the rate is mostly the prior. {} Click a header to sort.</p>",
        page.crowd_rate.map(|c| format!(" ({})", pct(c))).unwrap_or_default(),
        if page.sources.len() < page.sources_total {
            format!(
                "The {} sources with the most resolved stories of {}; every source is in <code>sources.csv</code>.",
                page.sources.len(),
                page.sources_total
            )
        } else {
            String::new()
        }
    );
    rate_table(
        out,
        "sources-table",
        "source",
        &page.sources,
        page.crowd_rate,
    );
    out.push_str("</section>");

    out.push_str("<section id=\"clubs\"><h2>Clubs</h2><p class=\"muted\">How often links to a club came true, as buyer and as seller.</p><div class=\"cols\"><div><h3>As buyer</h3>");
    rate_table(out, "buyers-table", "club", &page.buyers, None);
    out.push_str("</div><div><h3>As seller</h3>");
    rate_table(out, "sellers-table", "club", &page.sellers, None);
    out.push_str("</div></div></section>");
}

/// What was read, used and rejected, and the warnings.
fn accounting_section(out: &mut String, page: &Page) {
    out.push_str("<section id=\"accounting\"><h2>What was read</h2><table id=\"files-table\"><thead><tr><th>file</th><th>rows read</th><th>used</th><th>rejected</th><th>separator</th><th>encoding</th></tr></thead><tbody>");
    for f in &page.files {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.file),
            f.read,
            f.used,
            f.rejected,
            escape(&match f.delimiter.as_str() {
                "\t" => "tab".to_string(),
                d => d.to_string(),
            }),
            escape(&f.encoding)
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        "<p>{}</p>",
        if page.rows_add_up {
            "<span class=\"ok\">Every row read was used or rejected with a reason.</span>"
        } else {
            "<span class=\"bad\">The rows do not add up: see summary.json.</span>"
        }
    );
    if !page.rejects_by_reason.is_empty() {
        out.push_str("<h3>Rejected rows by reason</h3><table id=\"rejects-table\"><thead><tr><th>reason</th><th>rows</th></tr></thead><tbody>");
        for (reason, n) in &page.rejects_by_reason {
            let _ = write!(out, "<tr><td>{}</td><td>{n}</td></tr>", escape(reason));
        }
        out.push_str("</tbody></table><p class=\"muted\">Each rejected row, with its file, line and reason, is in <code>rejects.csv</code>.</p>");
    }
    if !page.warnings.is_empty() {
        out.push_str("<h3>Warnings</h3><ul class=\"warn\">");
        for w in &page.warnings {
            let _ = write!(out, "<li>{}</li>", escape(w));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_of_escape() {
        assert_eq!(
            escape("<b>\"A&B\"</b>"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn module_example_renders_a_page() {
        let page = Page {
            as_of: "2026-11-24".into(),
            ..Page::default()
        };
        let html = render(&page);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("2026-11-24"));
    }

    fn row(name: &str, mean: f64, low: f64, high: f64, thin: bool) -> RateRow {
        RateRow {
            name: name.into(),
            items: 10,
            resolved: 8,
            hits: 3,
            posterior_mean: mean,
            ci_low: low,
            ci_high: high,
            insufficient: thin,
        }
    }

    #[test]
    fn tiers_read_the_interval_against_the_crowd() {
        let crowd = Some(0.3);
        assert_eq!(
            tier(&row("a", 0.5, 0.35, 0.6, false), crowd).0,
            "above the crowd"
        );
        assert_eq!(
            tier(&row("b", 0.1, 0.05, 0.25, false), crowd).0,
            "below the crowd"
        );
        assert_eq!(
            tier(&row("c", 0.3, 0.2, 0.4, false), crowd).0,
            "with the crowd"
        );
        assert_eq!(
            tier(&row("d", 0.9, 0.8, 0.95, true), crowd).0,
            "too few records"
        );
    }

    #[test]
    fn interval_is_drawn_on_a_220_pixel_axis() {
        let svg = interval_svg(0.25, 0.5, 0.75, Some(0.1));
        assert!(svg.contains("x1=\"55\" y1=\"7\" x2=\"165\""), "{svg}");
        assert!(svg.contains("cx=\"110\""), "{svg}");
        assert!(svg.contains("x1=\"22\" y1=\"0\""), "{svg}");
    }

    #[test]
    fn names_are_escaped_everywhere() {
        let evil = "<script>alert('x')</script>";
        let page = Page {
            as_of: "2026-11-24".into(),
            sources: vec![row(evil, 0.5, 0.4, 0.6, false)],
            sources_total: 1,
            deals: vec![DealRow {
                player: evil.into(),
                reasons: vec![evil.into()],
                ..DealRow::default()
            }],
            deals_total: 1,
            warnings: vec![evil.into()],
            ..Page::default()
        };
        let html = render(&page);
        assert!(!html.contains(evil));
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        assert_eq!(
            html.matches("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
                .count(),
            4
        );
    }

    #[test]
    fn the_page_is_deterministic_and_has_every_section() {
        let page = Page {
            as_of: "2026-11-24".into(),
            version: "0.1.0".into(),
            crowd_rate: Some(0.325),
            sources: vec![row("Sky Sports", 0.5, 0.4, 0.6, false)],
            sources_total: 3,
            calibration: vec![CalibrationBin {
                predictor: "model".into(),
                count: 30,
                mean_predicted: 0.05,
                observed_rate: 0.066,
            }],
            files: vec![FileRow {
                file: "data/rumours.csv".into(),
                read: 229,
                used: 229,
                delimiter: "\t".into(),
                encoding: "UTF-8".into(),
                ..FileRow::default()
            }],
            rows_add_up: true,
            ..Page::default()
        };
        let html = render(&page);
        assert_eq!(html, render(&page.clone()));
        for id in [
            "id=\"sources-table\"",
            "id=\"buyers-table\"",
            "id=\"sellers-table\"",
            "id=\"deals-table\"",
            "id=\"calibration\"",
            "id=\"files-table\"",
        ] {
            assert!(html.contains(id), "{id}");
        }
        assert!(html.contains("The 1 sources with the most resolved stories of 3"));
        assert!(html.contains("(32.5%)"));
        assert!(html.contains("<td>tab</td>"));
        assert!(!html.contains("http"), "no network reference");
    }
}
