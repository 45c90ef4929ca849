#!/usr/bin/env bash
# report.html in a real browser: headless Chromium loads the sample data's page (after a
# backtest into the same directory, so the reliability diagram is there), and the DOM it
# dumps after running the page's script is checked: every table with one row per report row,
# the forest plot's intervals, the reliability diagram, the sorting script bound to each
# sortable table, and a sort requested by the link (#sort=sources-table:4:desc) applied.
# A screenshot is written beside the reports.
#
#   bash tests/browser/report_html.sh [RUMOUR_BIN]     # skips (exit 0) without Chromium
set -euo pipefail
cd "$(dirname "$0")/../.."
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "report.html browser check: skipped (no Chromium; apt-get install chromium)"
    exit 0
fi
bin="${1:-}"
if [ -z "$bin" ]; then
    cargo build --quiet --bin rumour
    bin="${CARGO_TARGET_DIR:-target}/debug/rumour"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/reports"
"$bin" backtest --as-of 2026-11-24 --out "$out" --quiet
"$bin" score --as-of 2026-11-24 --out "$out" --quiet

chrome() {
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$work/profile" "$@" 2>/dev/null
}
chrome --dump-dom "file://$out/report.html#sort=sources-table:4:desc" > "$work/dom.html"
chrome --window-size=1280,2000 --screenshot="$work/report.png" "file://$out/report.html" >/dev/null

python3 - "$work/dom.html" "$out" "$work/report.png" <<'PY'
import csv, html.parser, os, sys
dom, out, png = sys.argv[1], sys.argv[2], sys.argv[3]

class Tables(html.parser.HTMLParser):
    """Rows of each table (by id) as lists of cell texts; circles of each svg (by id)."""
    def __init__(self):
        super().__init__()
        self.tables, self.svgs, self.body = {}, {}, {}
        self.table = self.svg = None
        self.row = self.cell = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "table":
            self.table = a.get("id")
            self.tables[self.table] = []
        elif tag == "tbody" and self.table:
            self.row = None
        elif tag == "tr" and self.table:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = ""
        elif tag == "svg":
            self.svg = a.get("id") or a.get("class")
            self.svgs.setdefault(self.svg, 0)
        elif tag in ("circle", "line") and self.svg:
            self.svgs[self.svg] += tag == "circle"
    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "svg":
            self.svg = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

p = Tables()
p.feed(open(dom, encoding="utf-8").read())
def rows(name):
    with open(os.path.join(out, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
def check(ok, what):
    if not ok:
        sys.exit(f"report.html browser check failed: {what}")

check(p.body.get("data-sortable") == "4", f"the sorting script bound 4 tables (body: {p.body})")
sources = rows("sources.csv")
check(len(p.tables.get("sources-table", [])) == len(sources), "one row per source")
best = max(sources, key=lambda r: float(r["posterior_mean"]))
check(p.tables["sources-table"][0][0] == best["source"],
      f"sorted by rate, highest first: {p.tables['sources-table'][0][0]} vs {best['source']}")
clubs = rows("clubs.csv")
for role in ("buyer", "seller"):
    n = sum(r["role"] == role for r in clubs)
    check(len(p.tables.get(role + "s-table", [])) == n, f"one row per club as {role}")
deals = rows("deals.csv")
check(len(p.tables.get("deals-table", [])) == len(deals), "one row per open deal")
check(p.svgs.get("ci", 0) == len(sources) + len(clubs), "one interval (forest-plot row) per source and club")
check(p.svgs.get("calibration", 0) >= 3, "the reliability diagram has its dots")
files = p.tables.get("files-table", [])
check(len(files) == 3 and all(r[1] == r[2] for r in files), f"the accounting table: {files}")
check(os.path.getsize(png) > 20000, "a screenshot was rendered")
print(f"report.html in Chromium: ok ({len(sources)} sources, {len(deals)} open deals, "
      f"{p.svgs['calibration']} calibration marks)")
PY
if [ -n "${RUMOUR_SCREENSHOT:-}" ]; then cp "$work/report.png" "$RUMOUR_SCREENSHOT"; fi
