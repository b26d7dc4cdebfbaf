#!/usr/bin/env bash
# Service mode at scale: memory and disk of the durable frontier.
#
# Usage: benches/frontier.sh [SEEDS...]      (default: 100000 1000000)
# For each seed count: nginx on 127.0.0.1 answers a small page for every
# path; the service (64 workers, politeness off, recrawl_interval 1h) runs
# until the first full round is recorded, then one seed is appended to the
# seeds file (a live reload) and crawled. Prints peak RSS (VmHWM) after the
# round and after the reload, the database size, and the bytes written per
# page (/proc/<pid>/io write_bytes, JSONL included, and without it).
# Environment: FRONTIER_DIR (default target/frontier), FRONTIER_PORT (8932).
set -euo pipefail
cd "$(dirname "$0")/.."

counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(100000 1000000)
dir=${FRONTIER_DIR:-$PWD/target/frontier}
port=${FRONTIER_PORT:-8932}

. benches/support/nginx.sh
find_nginx
cargo build --release --locked --quiet --bin crawler
crawler=$PWD/target/release/crawler

mkdir -p "$dir/nginx-tmp"
cat > "$dir/nginx.conf" << CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        location / { default_type text/html; return 200 "<title>small page</title>"; }
    }
}
CONF
stop_nginx() { [ -s "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2> /dev/null || true; }
trap stop_nginx EXIT
"$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
sleep 0.3

kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$2/status"; }
io() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$2/io"; }
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

for seeds in "${counts[@]}"; do
    run="$dir/$seeds"
    rm -rf "$run" && mkdir -p "$run"
    seq 0 $((seeds - 1)) | sed "s|^|http://127.0.0.1:$port/p/|" > "$run/seeds.txt"
    cat > "$run/crawler.toml" << CONF
seeds_file = "seeds.txt"
workers = 64
recrawl_interval = "1h"
stats_interval = "0s"
state_file = "state.db"

[output]
jsonl = "out.jsonl"

[politeness]
respect_robots_txt = false
per_host_concurrency = 0
per_host_delay = "0s"
CONF
    started=$(date +%s.%N)
    RUST_LOG="crawler=info,crawler::daemon::service=debug" "$crawler" --config "$run/crawler.toml" 2> "$run/crawler.log" &
    pid=$!
    while [ "$(lines "$run/out.jsonl")" -lt "$seeds" ]; do sleep 0.5; done
    round_s=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    sleep 1 # one commit window
    round_rss=$(kb VmHWM "$pid")
    written=$(io write_bytes "$pid")
    jsonl=$(stat -c %s "$run/out.jsonl")
    db=$(($(stat -c %s "$run/state.db") + $(stat -c %s "$run/state.db-wal" 2> /dev/null || echo 0)))
    echo "http://127.0.0.1:$port/added-seed" >> "$run/seeds.txt"
    while ! grep -q "reloaded" "$run/crawler.log"; do sleep 0.2; done
    while ! grep -q "added-seed" "$run/out.jsonl"; do sleep 0.2; done
    reload_rss=$(kb VmHWM "$pid")
    kill -TERM "$pid"
    wait "$pid" || true
    echo "seeds=$seeds round_s=$round_s pages_per_s=$(awk -v n="$seeds" -v t="$round_s" 'BEGIN { printf "%.0f", n / t }') \
peak_rss_round_kb=$round_rss peak_rss_after_reload_kb=$reload_rss db_bytes=$db \
write_bytes_per_page=$((written / seeds)) store_write_bytes_per_page=$(((written - jsonl) / seeds))"
    grep -E "reloaded|seeds listed" "$run/crawler.log" | sed "s/^/  /"
done
