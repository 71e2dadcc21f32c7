#!/usr/bin/env bash
# tests/report/report_chromium.sh LPZ REPORT_FIXTURE
# Writes a synthetic finished 2x2 run, renders its report with `lpz report`,
# loads the page in headless Chromium and checks the DOM Chromium built:
# 4 grid cells inside the grid, 4 embedded sample images, one curve per cell
# and metric (8 metrics: losses, fitnesses, learning rates, score, seconds),
# 4 mixture tables, and no console errors (the page has no JavaScript; a
# Content-Security-Policy violation or a script error would be logged).
# Exit 77 (skipped) when Chromium is not installed.
set -euo pipefail
lpz=$1 fixture=$2

browser=""
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
  echo "SKIPPED: chromium is not installed (apt-get install chromium); the report was not rendered"
  exit 77
fi

tmp=$(mktemp -d /tmp/lpz-test-report-chromium-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$fixture" "$tmp/run"
"$lpz" report "$tmp/run" >"$tmp/out.txt"
grep -q "report: $tmp/run/report.html" "$tmp/out.txt"

timeout 90 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 \
  --dump-dom "file://$tmp/run/report.html" >"$tmp/dom.html" 2>"$tmp/chromium.log" || {
  echo "FAIL: chromium did not render the page"; tail -20 "$tmp/chromium.log"; exit 1; }

if grep -E "CONSOLE|Uncaught|Refused to" "$tmp/chromium.log"; then
  echo "FAIL: the page logged console errors (above)"
  exit 1
fi

check() { # name expected actual
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected $2, found $3"; exit 1; fi
  echo "ok: $1 = $3"
}

if [ -x /usr/bin/python3 ]; then
  read -r cells cells_in_grid images curves curves_in_charts charts tables scripts best < <(
    /usr/bin/python3 - "$tmp/dom.html" <<'PY'
import sys
from html.parser import HTMLParser
VOID = {"meta", "img", "br", "link", "input", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.n = dict(cells=0, cells_in_grid=0, images=0, curves=0, curves_in_charts=0, charts=0, tables=0,
                      scripts=0)
        self.best = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        anc = [c for _, c in self.stack]
        def inside(name):
            return any(name in c for c in anc)
        if tag == "div" and "cell" in cls:
            self.n["cells"] += 1
            self.n["cells_in_grid"] += inside("grid")
            if "best" in cls:
                self.best.append(a.get("data-cell"))
        if tag == "img" and "samples" in cls and (a.get("src") or "").startswith("data:image/png;base64,"):
            self.n["images"] += inside("cell")
        if tag == "polyline" and "curve" in cls:
            self.n["curves"] += 1
            self.n["curves_in_charts"] += inside("chart")
        if tag == "figure" and "chart" in cls:
            self.n["charts"] += 1
        if tag == "table" and "mixture" in cls:
            self.n["tables"] += 1
        if tag == "script":
            self.n["scripts"] += 1
        if tag not in VOID:
            self.stack.append((tag, cls))
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
n = p.n
print(n["cells"], n["cells_in_grid"], n["images"], n["curves"], n["curves_in_charts"], n["charts"], n["tables"],
      n["scripts"], ",".join(x or "?" for x in p.best) or "none")
PY
  )
else
  cells=$(grep -o '<div class="cell[" ]' "$tmp/dom.html" | wc -l); cells_in_grid=$cells
  images=$(grep -o 'class="samples"' "$tmp/dom.html" | wc -l)
  curves=$(grep -o '<polyline class="curve' "$tmp/dom.html" | wc -l); curves_in_charts=$curves
  charts=$(grep -o '<figure class="chart"' "$tmp/dom.html" | wc -l)
  tables=$(grep -o '<table class="mixture' "$tmp/dom.html" | wc -l)
  scripts=$(grep -o '<script' "$tmp/dom.html" | wc -l)
  best=$(grep -o '<div class="cell best" data-cell="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*"$' | tr -d '"')
fi

check "grid cells" 4 "$cells"
check "grid cells inside the grid" 4 "$cells_in_grid"
check "sample images inside cells" 4 "$images"
check "curves (4 cells x 8 metrics)" 32 "$curves"
check "curves inside charts" 32 "$curves_in_charts"
check "charts" 8 "$charts"
check "mixture tables" 4 "$tables"
check "script elements" 0 "$scripts"
check "highlighted best cell" 2 "$best"
echo "PASS: report rendered by $("$browser" --version 2>/dev/null || echo chromium)"
