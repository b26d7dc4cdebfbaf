#!/usr/bin/env bash
# The notification benchmark: PAGES watched seeds whose titles all change
# in one round (nginx serves generation 1, then generation 2 of the site).
# Each run restores the state of a crawl of generation 1 and crawls
# generation 2 with `--once`, with no target (`plain`) and with a
# `[[notify]]` target on a local receiver (`notify`), in turn. `notify`
# runs are checked: every change delivered (one distinct Idempotency-Key
# per page). Reports the crawl's pages/s (records over the time to the
# last record), notify/plain, and how long after its last record each
# notify run's last delivery came (the outbox drained); then the state file's cost per title
# change kept and per queued notification.
#
#   benches/notify.sh [PAGES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."

pages=${1:-20000}
runs=${2:-5}
dir=${NOTIFY_BENCH_DIR:-$PWD/target/notify-bench}
port=${NOTIFY_BENCH_PORT:-8971}
receiver_port=${NOTIFY_BENCH_RECEIVER_PORT:-8972}
workers=${E2E_WORKERS:-64}
export PATH="$HOME/.cargo/bin:$PATH"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

. benches/support/nginx.sh
find_nginx

echo "== building"
cargo build --release --locked --quiet --bin crawler
mkdir -p "$dir"
if [ "$(cat "$dir/pages" 2> /dev/null)" != "$pages" ]; then
    echo "== generating $pages pages, two generations"
    rm -rf "$dir/gen1" "$dir/gen2"
    python3 - "$dir" "$pages" << 'PY'
import os, sys
root, pages = sys.argv[1], int(sys.argv[2])
for gen in (1, 2):
    os.makedirs(f"{root}/gen{gen}/p", exist_ok=True)
    for i in range(pages):
        path = f"{root}/gen{gen}/p/{i}.html"
        with open(path, "w") as out:
            out.write(f"<!doctype html><title>Page {i}, generation {gen}</title><p>{'x' * (2000 + gen)}</p>\n")
        # Another size and time for each generation: another ETag and Last-Modified.
        os.utime(path, (1_700_000_000 + gen * 3600,) * 2)
PY
    for i in $(seq 0 $((pages - 1))); do echo "http://127.0.0.1:$port/p/$i.html"; done > "$dir/seeds.txt"
    echo "$pages" > "$dir/pages"
fi
ln -sfn "$dir/gen1" "$dir/site"

mkdir -p "$dir/nginx-tmp"
cat > "$dir/nginx.conf" << CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    types { text/html html; }
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    server { listen 127.0.0.1:$port; root $dir/site; }
    # The receiver: logs each POST's Idempotency-Key and answers 204.
    log_format hook '\$msec \$http_idempotency_key';
    server {
        listen 127.0.0.1:$receiver_port;
        location /hook { access_log $dir/hook.log hook; return 204; }
        location /down { return 503; }
    }
}
CONF
cleanup() {
    [ -s "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2> /dev/null || true
}
trap cleanup EXIT
"$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"

write_config() { # NAME TARGETS
    {
        echo "seeds_file = \"seeds.txt\""
        echo "workers = $workers"
        echo 'stats_interval = "0s"'
        echo "state_file = \"$1.db\""
        echo "[output]"
        echo "jsonl = \"$1.jsonl\""
        echo "[politeness]"
        echo "respect_robots_txt = false"
        echo "per_host_concurrency = 0"
        echo 'per_host_delay = "0s"'
        echo "$2"
    } > "$dir/$1.toml"
}
write_config plain ""
write_config notify "[[notify]]
url = \"http://127.0.0.1:$receiver_port/hook\"
secret = \"bench\""

echo "== generation 1 (the baseline state of each variant)"
for variant in plain notify; do
    rm -f "$dir/$variant.db"* "$dir/$variant.jsonl"
    target/release/crawler --once --config "$dir/$variant.toml" 2> "$dir/$variant-gen1.log"
    cp "$dir/$variant.db" "$dir/$variant.db.gen1"
done
ln -sfn "$dir/gen2" "$dir/site"

run_variant() { # VARIANT: prints pages/s, and for notify the drain lag
    local variant=$1 start end records
    rm -f "$dir/$variant.db-wal" "$dir/$variant.db-shm" "$dir/$variant.jsonl"
    cp "$dir/$variant.db.gen1" "$dir/$variant.db"
    : > "$dir/hook.log"
    start=$(date +%s.%N)
    target/release/crawler --once --config "$dir/$variant.toml" 2> "$dir/$variant.log"
    end=$(date +%s.%N)
    records=$(wc -l < "$dir/$variant.jsonl")
    [ "$records" = "$pages" ] || { echo "notify bench: $variant wrote $records records, not $pages" >&2; exit 1; }
    local changed
    changed=$(grep -c '"changed":true' "$dir/$variant.jsonl" || true)
    [ "$changed" = "$pages" ] || { echo "notify bench: $variant saw $changed changes, not $pages" >&2; exit 1; }
    # The crawl's rate: records over the time to the last record (the
    # outbox's drain after it is the lag below).
    local rate lag="" last_record
    last_record=$(stat -c %.3Y "$dir/$variant.jsonl")
    rate=$(awk -v n="$records" -v a="$start" -v b="$last_record" 'BEGIN { printf "%.0f", n / (b - a) }')
    if [ "$variant" = notify ]; then
        local distinct posts last_post
        distinct=$(cut -d' ' -f2 "$dir/hook.log" | sort -u | wc -l)
        posts=$(wc -l < "$dir/hook.log")
        last_post=$(tail -1 "$dir/hook.log" | cut -d' ' -f1)
        [ "$distinct" = "$pages" ] || { echo "notify bench: $distinct notifications delivered, not $pages" >&2; exit 1; }
        lag=$(awk -v a="$last_record" -v b="$last_post" 'BEGIN { printf "%.2f", b - a }')
        echo "$rate $lag $posts"
    else
        echo "$rate"
    fi
}

echo "== generation 2: $pages title changes, $runs runs per variant, in turn"
: > "$dir/plain.rates"; : > "$dir/notify.rates"; : > "$dir/ratios"; : > "$dir/lags"
for run in $(seq "$runs"); do
    plain=$(run_variant plain)
    measured=$(run_variant notify)
    read -r notify lag posts <<< "$measured"
    echo "$plain" >> "$dir/plain.rates"
    echo "$notify" >> "$dir/notify.rates"
    echo "$lag" >> "$dir/lags"
    awk -v a="$notify" -v b="$plain" 'BEGIN { printf "%.3f\n", a / b }' >> "$dir/ratios"
    echo "run $run: plain $plain pages/s, notify $notify pages/s ($posts POSTs), last delivery ${lag}s after the last record"
done
echo "medians: plain $(median < "$dir/plain.rates") pages/s, notify $(median < "$dir/notify.rates") pages/s, notify/plain $(median < "$dir/ratios"), drain lag $(median < "$dir/lags")s"

echo "== what the state file keeps"
sqlite_bytes() { # DB SQL: bytes of the pages of the named tables and indexes
    python3 - "$1" "$2" << 'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
try:
    print(db.execute(sys.argv[2]).fetchone()[0] or 0)
except sqlite3.OperationalError as err:
    print(f"0  # {err}")
PY
}
db="$dir/notify.db"
history=$(sqlite_bytes "$db" "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('title_changes', 'title_changes_url')")
entries=$(sqlite_bytes "$db" "SELECT COUNT(*) FROM title_changes")
echo "title history: $entries entries, $history bytes: $(awk -v b="$history" -v n="$entries" 'BEGIN { printf "%.0f", b / n }') B per entry (rows and index)"
# The outbox of a run whose receiver answers 503: every notification stays queued.
cp "$dir/notify.db.gen1" "$dir/notify.db"; rm -f "$dir/notify.db-wal" "$dir/notify.db-shm" "$dir/notify.jsonl"
sed -i 's/^shutdown_timeout.*//' "$dir/notify.toml"
echo 'shutdown_timeout = "1s"' | cat - "$dir/notify.toml" | sed "s|/hook|/down|" > "$dir/notify-down.toml"
target/release/crawler --once --config "$dir/notify-down.toml" 2> "$dir/notify-down.log" || true
outbox=$(sqlite_bytes "$db" "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('outbox', 'outbox_due') OR name LIKE 'sqlite_autoindex_outbox%'")
queued=$(sqlite_bytes "$db" "SELECT COUNT(*) FROM outbox")
echo "outbox (receiver down): $queued notifications, $outbox bytes: $(awk -v b="$outbox" -v n="$queued" 'BEGIN { printf "%.0f", b / n }') B per notification (rows and index)"

# The same on the cluster's Redis (when redis-server is here): generation 1,
# then generation 2 with a receiver that answers 503, so every notification
# stays queued; bytes from MEMORY USAGE of the keys that hold them.
if command -v redis-server > /dev/null; then
    redis_port=${NOTIFY_BENCH_REDIS_PORT:-6392}
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --dir "$dir" --logfile "$dir/redis.log" > /dev/null
    trap 'cleanup; redis-cli -p "$redis_port" shutdown nosave > /dev/null 2>&1 || true' EXIT
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
    sed -e 's/^state_file.*//' -e 's|/hook|/down|' "$dir/notify.toml" > "$dir/redis.toml"
    printf 'shutdown_timeout = "1s"\n%s\n[cluster]\nredis = "redis://127.0.0.1:%s/0"\nnode = "bench"\n' \
        "$(cat "$dir/redis.toml")" "$redis_port" > "$dir/redis.toml"
    ln -sfn "$dir/gen1" "$dir/site"
    target/release/crawler --once --config "$dir/redis.toml" 2> "$dir/redis-gen1.log"
    ln -sfn "$dir/gen2" "$dir/site"
    target/release/crawler --once --config "$dir/redis.toml" 2> "$dir/redis-gen2.log" || true
    # shellcheck disable=SC2016
    sum_keys='local total, count = 0, 0
local cursor = "0"
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    total = total + redis.call("MEMORY", "USAGE", key, "SAMPLES", 0)
    count = count + 1
  end
until cursor == "0"
return {total, count}'
    history=$(redis-cli -p "$redis_port" eval "$sum_keys" 0 'crawler:default:history:*' | head -1)
    outbox=$(redis-cli -p "$redis_port" eval "$sum_keys" 0 'crawler:default:outbox*' | head -1)
    queued=$(redis-cli -p "$redis_port" hlen crawler:default:outbox)
    echo "Redis title history: $pages lists, $history bytes: $(awk -v b="$history" -v n="$pages" 'BEGIN { printf "%.0f", b / n }') B per URL with one change (a list of one entry)"
    echo "Redis outbox (receiver answers 503): $queued notifications, $outbox bytes: $(awk -v b="$outbox" -v n="$queued" 'BEGIN { printf "%.0f", b / n }') B per notification (hash and sorted sets)"
fi
