#!/usr/bin/env bash
# Rendering throughput: a single-page app of ROUTES routes served by nginx
# on 127.0.0.1 (one HTML shell for every route, one shared ~50 KB bundle,
# one JSON per route; the bundle fetches the route's JSON, sets the title
# and renders the nav links, which make a binary tree over the routes),
# crawled from `/` by `crawler --once` with `[render] mode = "auto"`, then
# by crawlee's PlaywrightCrawler (../shared/peers/crawlee, installed at
# RENDER_PEER, default ~/crawlee-peer) at the same concurrency, in turn.
#
# Usage: benches/render.sh [ROUTES [RUNS]]     (defaults: 2000 3)
# Environment: RENDER_DIR (work folder, default target/render-bench),
#   RENDER_PORT (8932), RENDER_TABS (4: crawler's tabs and crawlee's
#   concurrency), RENDER_PEER (the peer's folder; skipped when missing).
#
# Each run must find every route once with its title right; nginx's access
# log counts the requests (every route and JSON once, the bundle once for
# the crawler). Memory is the whole process tree: every process carrying
# the run's BENCH_MARK environment variable (Chromium's inherit it), summed
# RSS and PSS, sampled every 0.2 s; the peak is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

routes=${1:-2000}
runs=${2:-3}
dir=${RENDER_DIR:-$PWD/target/render-bench}
port=${RENDER_PORT:-8932}
tabs=${RENDER_TABS:-4}
peer=${RENDER_PEER:-$HOME/crawlee-peer}
base="http://127.0.0.1:$port"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

. benches/support/nginx.sh
find_nginx
echo "== building"
cargo build --release --locked --quiet --bin crawler

site="$dir/site"
if [ "$(cat "$site/routes" 2> /dev/null)" != "$routes" ]; then
    echo "== generating an app of $routes routes"
    rm -rf "$site"
    mkdir -p "$site/data"
    cat > "$site/index.html" << 'EOF'
<!doctype html><html><head><meta charset="utf-8"><title>Loading…</title>
<script src="/app.js" defer></script></head><body><div id="root"></div></body></html>
EOF
    {
        cat << 'EOF'
(function () {
  var match = location.pathname.match(/^\/r\/(\d+)$/);
  var route = match ? Number(match[1]) : 0;
  fetch('/data/' + route + '.json').then(function (r) { return r.json(); }).then(function (data) {
    document.title = data.title;
    var nav = document.createElement('nav');
    nav.innerHTML = data.links.map(function (href) {
      return '<a href="' + href + '">' + href + '</a>';
    }).join(' ');
    document.getElementById('root').appendChild(nav);
  });
})();
EOF
        # Weight: a bundle parses and compiles about 50 KB of code.
        for n in $(seq 1200); do
            echo "function helper$n(value) { return (value * $n + 7) % 1000003; }"
        done
    } > "$site/app.js"
    for n in $(seq 0 $((routes - 1))); do
        links=()
        for child in $((2 * n + 1)) $((2 * n + 2)); do
            [ "$child" -lt "$routes" ] && links+=("\"/r/$child\"")
        done
        links+=("\"/\"")
        (IFS=,; printf '{"title":"Route %d","links":[%s]}' "$n" "${links[*]}") > "$site/data/$n.json"
    done
    echo "$routes" > "$site/routes"
fi

if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    echo "render bench: 127.0.0.1:$port is already taken; set RENDER_PORT" >&2
    exit 1
fi
mkdir -p "$dir/nginx-tmp"
cat > "$dir/nginx.conf" << EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    log_format uri '\$request_uri';
    access_log $dir/access.log uri buffer=64k flush=100ms;
    sendfile on;
    keepalive_timeout 60s;
    types { text/html html; application/javascript js; application/json json; }
    charset utf-8;
    charset_types application/javascript application/json;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $site;
        location = / { try_files /index.html =404; }
        location /r/ { try_files /index.html =404; }
    }
}
EOF
stop_nginx() {
    if [ -s "$dir/nginx.pid" ]; then
        kill "$(cat "$dir/nginx.pid")" 2> /dev/null || true
    fi
}
trap stop_nginx EXIT
"$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
for _ in $(seq 50); do
    (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
    sleep 0.1
done

cat > "$dir/crawler.toml" << EOF
seeds = ["$base/"]
workers = 16
stats_interval = "0s"

[output]
jsonl = "results.jsonl"

[politeness]
respect_robots_txt = false
per_host_concurrency = 0
per_host_delay = "0s"

[crawl]
max_depth = 64

[render]
mode = "auto"
tabs = $tabs
EOF

# Samples the memory of every process whose environment has BENCH_MARK=$1
# until the file $2 disappears; prints "peak_rss_kb peak_pss_kb".
sample_tree() {
    python3 - "$1" "$2" << 'EOF'
import os, sys, time
mark, flag = ("BENCH_MARK=" + sys.argv[1]).encode(), sys.argv[2]
peak_rss = peak_pss = 0
while os.path.exists(flag):
    rss = pss = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
    time.sleep(0.2)
print(peak_rss, peak_pss)
EOF
}

# Runs "$@" under BENCH_MARK=$mark with the tree sampled; sets wall, rss, pss.
measured() {
    local mark=$1
    shift
    touch "$dir/sampling-$mark"
    sample_tree "$mark" "$dir/sampling-$mark" > "$dir/memory-$mark" &
    local sampler=$!
    local started ended
    started=$(date +%s.%N)
    BENCH_MARK=$mark "$@"
    ended=$(date +%s.%N)
    rm -f "$dir/sampling-$mark"
    wait "$sampler"
    wall=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')
    read -r rss pss < "$dir/memory-$mark"
}

# Checks the access log of one run: every route and JSON once, the bundle
# at most `$1` times; prints the bundle's count.
check_log() {
    local bundle_max=$1
    local routes_seen repeated bundle
    routes_seen=$(grep -cE '^/(r/[0-9]+)?$' "$dir/access.log" || true)
    repeated=$(grep -E '^/(r/[0-9]+)?$|^/data/' "$dir/access.log" | sort | uniq -d | wc -l)
    bundle=$(grep -c '^/app.js$' "$dir/access.log" || true)
    if [ "$routes_seen" != "$routes" ] || [ "$repeated" != 0 ] || [ "$bundle" -gt "$bundle_max" ]; then
        echo "render bench: routes requested $routes_seen (want $routes), $repeated requested twice, bundle $bundle times" >&2
        exit 1
    fi
    echo "$bundle"
}

flush_log() {
    sleep 0.3
    : > "$dir/access.log"
    kill -USR1 "$(cat "$dir/nginx.pid")"
    sleep 0.2
}

expected_titles() {
    for n in $(seq 0 $((routes - 1))); do
        if [ "$n" = 0 ]; then echo "$base/	Route 0"; else echo "$base/r/$n	Route $n"; fi
    done | sort
}
expected_titles > "$dir/expected.tsv"

peer_ready=""
if [ -f "$peer/crawl.mjs" ] && [ -d "$peer/node_modules" ]; then
    peer_ready=1
else
    echo "== the crawlee peer is not installed at $peer (see ../shared/peers/crawlee/README.md); crawler only"
fi

echo "== $runs runs of: crawler (mode auto, $tabs tabs)${peer_ready:+, crawlee (concurrency $tabs)}; $routes routes"
for run in $(seq "$runs"); do
    flush_log
    rm -f "$dir/results.jsonl"
    measured "crawler-$run" target/release/crawler --once --config "$dir/crawler.toml" 2> "$dir/crawler-$run.log"
    sleep 0.3
    bundle=$(check_log 1)
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["url"] + "\t" + (r["title"] or ""))' "$dir/results.jsonl" | sort > "$dir/crawler-titles.tsv"
    if ! cmp -s "$dir/crawler-titles.tsv" "$dir/expected.tsv"; then
        echo "render bench: crawler's titles differ from the app's (see $dir/crawler-titles.tsv)" >&2
        exit 1
    fi
    rendered=$(grep -c '"rendered":true' "$dir/results.jsonl" || true)
    rate=$(awk -v n="$routes" -v t="$wall" 'BEGIN { printf "%.1f", n / t }')
    echo "run $run crawler: $rate pages/s, ${wall}s, $rendered rendered, bundle fetched $bundle time(s), peak tree RSS $((rss / 1024)) MB, PSS $((pss / 1024)) MB"
    echo "$rate $rss $pss" >> "$dir/runs-crawler.$$"

    if [ -n "$peer_ready" ]; then
        flush_log
        measured "crawlee-$run" env -C "$peer" node crawl.mjs "$base/" "$tabs" > "$dir/crawlee-$run.tsv" 2> "$dir/crawlee-$run.log"
        sleep 0.3
        check_log 1000000000 > /dev/null
        sort "$dir/crawlee-$run.tsv" > "$dir/crawlee-titles.tsv"
        if ! cmp -s "$dir/crawlee-titles.tsv" "$dir/expected.tsv"; then
            echo "render bench: crawlee's titles differ from the app's (see $dir/crawlee-titles.tsv)" >&2
        fi
        rate=$(awk -v n="$routes" -v t="$wall" 'BEGIN { printf "%.1f", n / t }')
        echo "run $run crawlee: $rate pages/s, ${wall}s, peak tree RSS $((rss / 1024)) MB, PSS $((pss / 1024)) MB"
        echo "$rate $rss $pss" >> "$dir/runs-crawlee.$$"
    fi
done
for who in crawler ${peer_ready:+crawlee}; do
    rate=$(cut -d' ' -f1 "$dir/runs-$who.$$" | median)
    rss=$(cut -d' ' -f2 "$dir/runs-$who.$$" | median)
    pss=$(cut -d' ' -f3 "$dir/runs-$who.$$" | median)
    rm -f "$dir/runs-$who.$$"
    echo "$who: median $rate pages/s, peak tree RSS $((${rss%.*} / 1024)) MB, PSS $((${pss%.*} / 1024)) MB"
    [ "$who" = crawler ] && crawler_rate=$rate
    [ "$who" = crawlee ] && echo "crawler / crawlee: $(awk -v a="$crawler_rate" -v b="$rate" 'BEGIN { printf "%.2f", a / b }')"
done
