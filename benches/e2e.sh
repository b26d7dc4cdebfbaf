#!/usr/bin/env bash
# End-to-end throughput: `crawler --once` against nginx on 127.0.0.1 over a
# generated corpus, every title checked; then `oha` over the same URLs as the
# ceiling a fetch-only client reaches.
#
# Usage: benches/e2e.sh [PAGES [SEEDS [RUNS]]]     (defaults: 20000 PAGES SEEDS 3)
#   SEEDS > PAGES lists each page again with `?r=N` (distinct URLs, same files).
# Link mode: E2E_LINKS=1 benches/e2e.sh [PAGES [RUNS]]. The corpus becomes a
#   site (`/index.html` -> index pages of 1,000 links -> every page; each page
#   keeps the corpus' own links to random pages, 65 on average, and gets
#   mailto:, tel:, #top and off-site links);
#   its one seed `/index.html` is crawled with scope host, max_depth 10 (the
#   links of every page are extracted), politeness off, max_pages_per_host
#   past the site (its default, 100000, would stop a 200000-page site
#   halfway). Every URL must be
#   fetched exactly once (nginx's access log counts) with every title right.
#   The spider crate peer (../shared/peers/spider, built at E2E_SPIDER,
#   default ~/spider-peer/release/spider_peer) runs in turn when built.
#   PAGES >= 20000 (the corpus' own nav links reach pages below 20000).
# Environment: E2E_DIR (work folder, default target/e2e), E2E_PORT (8931),
#   E2E_WORKERS (64), E2E_SKIP_OHA=1 (crawler only), E2E_STATE=1 (each run
#   also with a `state_file`, the embedded store, fresh each time: both
#   medians and their ratio are printed), E2E_BASELINE (another `crawler`
#   binary, e.g. one built from an earlier commit: it runs in turn with
#   the same config, in both modes, and the ratio is printed), E2E_RENDER=1
#   (each run also with `[render] mode = "auto"`: no page of the corpus
#   may be rendered, and the ratio to `never` is printed).
#
# Installs nginx (apt) and oha (cargo install) when missing. Starts its own
# nginx (one worker) on 127.0.0.1:E2E_PORT and stops only that one.
set -euo pipefail
cd "$(dirname "$0")/.."

pages=${1:-20000}
if [ -n "${E2E_LINKS:-}" ]; then
    seeds=1
    runs=${2:-3}
    E2E_SKIP_OHA=1
else
    seeds=${2:-$pages}
    runs=${3:-3}
fi
dir=${E2E_DIR:-$PWD/target/e2e}
port=${E2E_PORT:-8931}
workers=${E2E_WORKERS:-64}
base="http://127.0.0.1:$port"
export PATH="$HOME/.cargo/bin:$PATH"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

. benches/support/nginx.sh
. benches/support/links_mode.sh
find_nginx
if [ -z "${E2E_SKIP_OHA:-}" ] && ! command -v oha > /dev/null; then
    echo "== installing oha (cargo install)"
    cargo install oha --locked
fi

echo "== building"
cargo build --release --locked --quiet --bin crawler --example e2e
tool=target/release/examples/e2e

mkdir -p "$dir"
site="$dir/site"
access_log="access_log off;"
if [ -n "${E2E_LINKS:-}" ]; then
    site="$dir/site-links"
    if [ "$(cat "$site/pages" 2> /dev/null)" != "$pages site-2" ]; then
        echo "== generating a site of $pages pages"
        rm -rf "$site"
        "$tool" generate-site "$site" "$pages"
        echo "$pages site-2" > "$site/pages"
    fi
    access_log="log_format uri '\$request_uri'; access_log $dir/access.log uri buffer=64k flush=100ms;"
elif [ "$(cat "$dir/site/pages" 2> /dev/null)" != "$pages" ]; then
    echo "== generating $pages pages"
    rm -rf "$dir/site"
    "$tool" generate "$dir/site" "$pages"
    echo "$pages" > "$dir/site/pages"
fi
if [ -n "${E2E_LINKS:-}" ]; then
    echo "$base/index.html" > "$dir/seeds.txt"
else
    "$tool" seeds "$base" "$pages" "$seeds" > "$dir/seeds.txt"
fi

if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    echo "e2e: 127.0.0.1:$port is already taken; set E2E_PORT to a free port" >&2
    exit 1
fi
mkdir -p "$dir/nginx-tmp"
cat > "$dir/nginx.conf" << EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    $access_log
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    types { text/html html; }
    default_type application/octet-stream;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $site;
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
seeds_file = "seeds.txt"
workers = $workers
stats_interval = "0s"

[output]
jsonl = "results.jsonl"

[politeness]
respect_robots_txt = false
per_host_concurrency = 0
per_host_delay = "0s"
EOF
if [ -n "${E2E_LINKS:-}" ]; then
    printf '\n[crawl]\nmax_depth = 10\nscope = "host"\nmax_pages_per_host = 10000000\n' >> "$dir/crawler.toml"
    links_mode
    exit 0
fi

{ cat "$dir/crawler.toml"; echo 'state_file = "state.db"'; } > "$dir/crawler-state.toml"
# `state_file` must stand before the first table.
sed -i '/^state_file/d' "$dir/crawler-state.toml"
sed -i '1i state_file = "state.db"' "$dir/crawler-state.toml"

{ cat "$dir/crawler.toml"; printf '\n[render]\nmode = "auto"\n'; } > "$dir/crawler-auto.toml"

variants="plain"
[ -n "${E2E_RENDER:-}" ] && variants="$variants auto"
[ -n "${E2E_STATE:-}" ] && variants="$variants state"
[ -n "${E2E_BASELINE:-}" ] && variants="$variants baseline"
echo "== crawler --once: $seeds seeds over $pages pages, $workers workers, $runs runs of: $variants (log at INFO to a file)"
# One uncounted run first: the corpus comes into the page cache, nginx warms up.
"$tool" measure -- target/release/crawler --once --config "$dir/crawler.toml" > /dev/null 2> "$dir/crawler-warmup.log"
for run in $(seq "$runs"); do
    for variant in $variants; do
        config="$dir/crawler.toml"
        [ "$variant" = state ] && config="$dir/crawler-state.toml"
        [ "$variant" = auto ] && config="$dir/crawler-auto.toml"
        binary=target/release/crawler
        [ "$variant" = baseline ] && binary=$E2E_BASELINE
        rm -f "$dir/results.jsonl" "$dir/state.db" "$dir/state.db-wal" "$dir/state.db-shm"
        line=$("$tool" measure -- "$binary" --once --config "$config" 2> "$dir/crawler-$variant-$run.log")
        "$tool" verify "$dir/results.jsonl" "$seeds" > "$dir/verify-$run.txt" || {
            cat "$dir/verify-$run.txt"
            echo "e2e: run $run ($variant): titles do not match the generator's (see $dir/crawler-$variant-$run.log)" >&2
            exit 1
        }
        wall=$(field wall_s <<< "$line")
        rate=$(awk -v n="$seeds" -v t="$wall" 'BEGIN { printf "%.0f", n / t }')
        extra=""
        [ "$variant" = state ] && extra="; state.db $(stat -c %s "$dir/state.db") bytes"
        if [ "$variant" = auto ]; then
            rendered=$(grep -c '"rendered":true' "$dir/results.jsonl" || true)
            extra="; $rendered pages rendered"
            [ "$rendered" = 0 ] || { echo "e2e: mode auto rendered $rendered static pages" >&2; exit 1; }
        fi
        echo "run $run $variant: $rate pages/s; $line; $(cat "$dir/verify-$run.txt")$extra"
        echo "$rate $(field peak_rss_kb <<< "$line") $(field cpu_s <<< "$line")" >> "$dir/runs-$variant.$$"
    done
done
for variant in $variants; do
    rate=$(cut -d' ' -f1 "$dir/runs-$variant.$$" | median)
    rss=$(cut -d' ' -f2 "$dir/runs-$variant.$$" | median)
    cpu=$(cut -d' ' -f3 "$dir/runs-$variant.$$" | median)
    rm -f "$dir/runs-$variant.$$"
    echo "crawler ($variant): median $rate pages/s, peak RSS $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MB, $cpu CPU s"
    [ "$variant" = plain ] && crawler_rate=$rate
    [ "$variant" = state ] && echo "with state_file / without: $(awk -v a="$rate" -v b="$crawler_rate" 'BEGIN { printf "%.3f", a / b }')"
    [ "$variant" = auto ] && echo "render auto / never: $(awk -v a="$rate" -v b="$crawler_rate" 'BEGIN { printf "%.3f", a / b }')"
    [ "$variant" = baseline ] && echo "crawler / baseline: $(awk -v a="$crawler_rate" -v b="$rate" 'BEGIN { printf "%.3f", a / b }')"
done

if [ -n "${E2E_SKIP_OHA:-}" ]; then
    exit 0
fi
echo "== oha (fetch only, no parsing): same URLs, 64 connections"
for run in $(seq "$runs"); do
    oha --no-tui --output-format json -c 64 -n "$seeds" --urls-from-file "$dir/seeds.txt" > "$dir/oha-$run.json"
    rate=$(sed -n 's/.*"requestsPerSec": *\([0-9.]*\).*/\1/p' "$dir/oha-$run.json" | head -1)
    echo "oha run $run: $rate requests/s"
    echo "$rate" >> "$dir/oha.$$"
done
oha_rate=$(median < "$dir/oha.$$")
rm -f "$dir/oha.$$"
echo "oha: median $oha_rate requests/s"
echo "crawler / oha: $(awk -v a="$crawler_rate" -v b="$oha_rate" 'BEGIN { printf "%.2f", a / b }')"
