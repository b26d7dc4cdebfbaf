#!/usr/bin/env bash
# Reports at scale, on the link-following bench site (see benches/e2e.sh,
# link mode) served by nginx on 127.0.0.1:
#   1. one crawl into a fresh state file (`[report] links` on), and the
#      state file's bytes per stored link, per URL's details (SQLite dbstat);
#   2. rounds of the same crawl (`--once` again: every page fetched again),
#      in turn without and with `crawler report --format json` run over
#      and over beside it: each report's time and peak RSS, and the
#      crawl's pages/s with reports over without;
#   3. the HTML report of the whole crawl opened in headless Chromium: time
#      from navigation to first contentful paint;
#   4. a round where nginx changes every title: bytes per history entry;
#   5. with REPORT_REDIS=1, the same crawl on a redis-server of its own:
#      bytes per link and per details in Redis (MEMORY USAGE), per history
#      entry (sampled), and a report's time and peak RSS.
#
# Usage: benches/report.sh [PAGES [ROUNDS]]      (defaults: 200000 2)
# Environment: REPORT_DIR (target/report-bench), REPORT_PORT (8934),
#   REPORT_WORKERS (64), REPORT_REDIS=1, REPORT_GRAPH=0 (crawl without the
#   link graph, to compare).
set -euo pipefail
cd "$(dirname "$0")/.."

pages=${1:-200000}
rounds=${2:-2}
dir=${REPORT_DIR:-$PWD/target/report-bench}
port=${REPORT_PORT:-8934}
workers=${REPORT_WORKERS:-64}
graph=$([ "${REPORT_GRAPH:-1}" = 0 ] && echo false || echo true)
base="http://127.0.0.1:$port"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

. benches/support/nginx.sh
find_nginx
echo "== building"
cargo build --release --locked --quiet --bin crawler --example e2e
tool=target/release/examples/e2e
crawler=target/release/crawler
mkdir -p "$dir/nginx-tmp"
site="$dir/site"
if [ "$(cat "$site/pages" 2> /dev/null)" != "$pages" ]; then
    echo "== generating a site of $pages pages"
    rm -rf "$site"
    "$tool" generate-site "$site" "$pages"
    echo "$pages" > "$site/pages"
fi

# nginx serves the site; with `change`, every title is prefixed.
start_nginx() {
    local filter=""
    [ "${1:-}" = change ] && filter="sub_filter '<title>' '<title>Changed: '; sub_filter_once on;"
    cat > "$dir/nginx.conf" << EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    types { text/html html; }
    default_type application/octet-stream;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    server { listen 127.0.0.1:$port; root $site; etag off; if_modified_since off; $filter }
}
EOF
    "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
    for _ in $(seq 50); do
        (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && return
        sleep 0.1
    done
}
stop_nginx() {
    if [ -s "$dir/nginx.pid" ]; then
        kill "$(cat "$dir/nginx.pid")" 2> /dev/null || true
        sleep 0.3
    fi
}
redis_pid=""
cleanup() {
    stop_nginx
    [ -n "$redis_pid" ] && kill "$redis_pid" 2> /dev/null || true
}
trap cleanup EXIT
if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    echo "report bench: 127.0.0.1:$port is already taken; set REPORT_PORT" >&2
    exit 1
fi
start_nginx

write_config() { # $1: config file, $2: extra tables
    cat > "$1" << EOF
seeds = ["$base/index.html"]
workers = $workers
stats_interval = "0s"
state_file = "state.db"
[output]
jsonl = "results.jsonl"
[crawl]
max_depth = 10
max_pages_per_host = 10000000
[report]
links = $graph
[politeness]
respect_robots_txt = false
per_host_concurrency = 0
per_host_delay = "0s"
$2
EOF
}
config="$dir/crawler.toml"
write_config "$config" ""
rm -f "$dir"/state.db*

crawl() { # prints pages/s and the measure line
    rm -f "$dir/results.jsonl"
    local line
    line=$("$tool" measure -- "$crawler" --once --config "$config" 2> "$dir/crawl.log")
    local records wall
    records=$(wc -l < "$dir/results.jsonl")
    wall=$(field wall_s <<< "$line")
    echo "$(awk -v n="$records" -v t="$wall" 'BEGIN { printf "%.0f", n / t }') $records $line"
}

echo "== first crawl of $pages pages (report.links = $graph)"
first=$(crawl)
echo "crawl: $first"

echo "== the state file"
python3 - "$dir/state.db" << 'EOF'
import sqlite3, sys, zlib
db = sqlite3.connect(sys.argv[1])
size = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
urls = db.execute("SELECT COUNT(*) FROM urls").fetchone()[0]
rows = links = text = prints = 0
for (blob,) in db.execute("SELECT links FROM outlinks"):
    rows += 1
    if blob[:1] == b"\x06":  # the links' fingerprints first (frontier/outlinks.rs)
        count = int.from_bytes(blob[1:5], "little")
        prints += 5 + 4 * count
        blob = blob[5 + 4 * count:]
    text += len(blob)
    links += zlib.decompress(blob, -15).count(b"\n")
details = db.execute("SELECT COALESCE(SUM(LENGTH(details)), 0), COUNT(details) FROM urls").fetchone()
total = sum(size.values())
print(f"urls {urls}, file {total / 1e6:.1f} MB ({total / max(urls, 1):.0f} B/URL)")
if links:
    print(f"link graph: {links} links on {rows} pages, table {size.get('outlinks', 0) / 1e6:.1f} MB: "
          f"{size.get('outlinks', 0) / links:.1f} B/link ({text / links:.1f} B/link deflated, "
          f"{prints / links:.1f} B/link of fingerprints)")
print(f"details: {details[1]} URLs, {details[0] / max(details[1], 1):.0f} B/URL of JSON")
EOF

echo "== $rounds rounds each: the crawl again, without and with reports beside it"
for round in $(seq "$rounds"); do
    without=$(crawl)
    echo "round $round without reports: $without"
    echo "$without" | cut -d' ' -f1 >> "$dir/rates-without.$$"
    rm -f "$dir/results.jsonl"
    "$tool" measure -- "$crawler" --once --config "$config" > "$dir/with.line" 2> "$dir/crawl.log" &
    crawling=$!
    sleep 1
    reports=0
    while kill -0 "$crawling" 2> /dev/null; do
        line=$("$tool" measure -- "$crawler" report --config "$config" --format json -o "$dir/report.json" 2> "$dir/report.log") || {
            echo "report failed:"; cat "$dir/report.log"; exit 1; }
        kill -0 "$crawling" 2> /dev/null || break # count only reports made during the crawl
        reports=$((reports + 1))
        echo "$(field wall_s <<< "$line") $(field peak_rss_kb <<< "$line")" >> "$dir/reports.$$"
    done
    wait "$crawling"
    records=$(wc -l < "$dir/results.jsonl")
    wall=$(field wall_s < "$dir/with.line")
    rate=$(awk -v n="$records" -v t="$wall" 'BEGIN { printf "%.0f", n / t }')
    echo "round $round with $reports reports: $rate pages/s $records records; $(cat "$dir/with.line")"
    echo "$rate" >> "$dir/rates-with.$$"
done
without=$(median < "$dir/rates-without.$$")
with=$(median < "$dir/rates-with.$$")
echo "crawl: median $without pages/s without reports, $with with: $(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }') of it"
if [ -s "$dir/reports.$$" ]; then
    echo "reports during the crawl: $(wc -l < "$dir/reports.$$"), median $(cut -d' ' -f1 "$dir/reports.$$" | median) s, max $(cut -d' ' -f1 "$dir/reports.$$" | sort -g | tail -1) s, peak RSS max $(cut -d' ' -f2 "$dir/reports.$$" | sort -g | tail -1 | awk '{ printf "%.1f", $1 / 1024 }') MB"
fi
rm -f "$dir"/rates-*.$$ "$dir"/reports.$$
line=$("$tool" measure -- "$crawler" report --config "$config" --format json -o "$dir/report.json" 2> /dev/null)
echo "report of the whole crawl, idle: $line; $(stat -c %s "$dir/report.json") bytes of JSON"

echo "== the HTML report in headless Chromium"
line=$("$tool" measure -- "$crawler" report --config "$config" --format html -o "$dir/report.html" 2> /dev/null)
echo "html report: $line; $(stat -c %s "$dir/report.html") bytes"
cat > "$dir/paint.html" << 'EOF'
<!DOCTYPE html><html><body><iframe id="f" src="report.html" style="width:1280px;height:900px"></iframe><pre id="out"></pre>
<script>
var frame = document.getElementById("f");
frame.addEventListener("load", function () {
  var w = frame.contentWindow;
  var paint = w.performance.getEntriesByName("first-contentful-paint")[0];
  var nav = w.performance.getEntriesByType("navigation")[0];
  document.getElementById("out").textContent = "first_paint_ms=" + (paint ? paint.startTime.toFixed(0) : "none") +
    " load_ms=" + (nav ? nav.loadEventEnd.toFixed(0) : "none") + " tables=" + w.document.documentElement.getAttribute("data-tables");
});
</script></body></html>
EOF
sandbox=""
[ "$(id -u)" = 0 ] && sandbox=--no-sandbox
for run in 1 2 3; do
    profile=$(mktemp -d)
    timeout 120 chromium --headless $sandbox --disable-gpu --allow-file-access-from-files --user-data-dir="$profile" \
        --dump-dom "file://$dir/paint.html" 2> /dev/null | grep -o 'first_paint_ms=[0-9a-z]* load_ms=[0-9]* tables=[0-9]*' || echo "run $run: no paint measured"
    rm -rf "$profile"
done

echo "== a round where every title changes (nginx rewrites them)"
stop_nginx
start_nginx change
echo "crawl: $(crawl)"
python3 - "$dir/state.db" << 'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
size = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
count = db.execute("SELECT COUNT(*) FROM title_changes").fetchone()[0]
history = size.get("title_changes", 0) + size.get("title_changes_url", 0)
print(f"history: {count} title changes, {history / 1e6:.1f} MB with its index: {history / max(count, 1):.0f} B/entry")
EOF
stop_nginx
start_nginx

if [ -n "${REPORT_REDIS:-}" ]; then
    echo "== the same crawl on Redis"
    redis_port=$((port + 1))
    redis-server --port "$redis_port" --save "" --appendonly no --dir "$dir" > "$dir/redis.log" 2>&1 &
    redis_pid=$!
    sleep 0.5
    write_config "$config" "[cluster]
redis = \"redis://127.0.0.1:$redis_port/0\"
node = \"bench\""
    echo "crawl: $(crawl)"
    cli() { redis-cli -p "$redis_port" "$@"; }
    links=$(python3 - "$dir/results.jsonl" << 'EOF'
import json, sys
print(sum(len(r.get("links") or []) for r in map(json.loads, open(sys.argv[1]))))
EOF
)
    urls=$(cli HLEN crawler:default:url)
    graph_bytes=$(cli MEMORY USAGE crawler:default:links SAMPLES 0)
    details_bytes=$(cli MEMORY USAGE crawler:default:report SAMPLES 0)
    echo "redis: $urls URLs; link graph $graph_bytes bytes for about $links links: $(awk -v b="$graph_bytes" -v n="$links" 'BEGIN { printf "%.1f", b / n }') B/link; details $(awk -v b="$details_bytes" -v n="$urls" 'BEGIN { printf "%.0f", b / n }') B/URL"
    echo "redis: $(cli INFO memory | grep -E '^used_memory_dataset:' | tr -d '\r')"
    line=$("$tool" measure -- "$crawler" report --config "$config" --format json -o "$dir/report-redis.json" 2> /dev/null)
    echo "redis report: $line"
    stop_nginx
    start_nginx change
    echo "crawl with every title changed: $(crawl)"
    total=0
    keys=$(cli --scan --pattern 'crawler:default:history:*' | head -1000 || true)
    for key in $keys; do
        total=$((total + $(cli MEMORY USAGE "$key" SAMPLES 0)))
    done
    count=$(wc -w <<< "$keys")
    echo "redis history: $(awk -v b="$total" -v n="$count" 'BEGIN { printf "%.0f", b / n }') B per key of one entry (sampled $count keys)"
    write_config "$config" ""
fi
