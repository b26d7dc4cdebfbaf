#!/usr/bin/env bash
# The cluster benchmark: the same multi-host site crawled with link
# following by one node on the embedded store (a temporary SQLite file), and
# by 1, 2 and 3 nodes sharing the crawl through a redis-server of its own.
# Each variant is checked (every page once, titles right, no URL recorded
# twice across nodes) and reports pages/s and, for Redis, the commands per
# page from `INFO commandstats` (scripts' inner commands included).
#
#   benches/cluster.sh [PAGES_PER_HOST] [HOSTS] [RUNS]
#
# nginx serves one generated site on HOSTS ports of 127.0.0.1 (each port is
# a host to the crawler: the queue is shared out by host).
set -euo pipefail
cd "$(dirname "$0")/.."

# The corpus pages link to the first 20,000 pages: a smaller site has links
# out of it (404s the check counts as wrong).
pages=${1:-20000}
hosts=${2:-8}
runs=${3:-3}
dir=${E2E_DIR:-$PWD/target/cluster-bench}
first_port=${CLUSTER_BENCH_PORT:-8951}
redis_port=${CLUSTER_BENCH_REDIS_PORT:-6391}
workers=${E2E_WORKERS:-64}
export PATH="$HOME/.cargo/bin:$PATH"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

. benches/support/nginx.sh
find_nginx
command -v redis-server > /dev/null || { echo "cluster bench: install redis-server" >&2; exit 1; }

echo "== building"
cargo build --release --locked --quiet --bin crawler --example e2e
tool=target/release/examples/e2e
mkdir -p "$dir"
site="$dir/site"
if [ "$(cat "$site/pages" 2> /dev/null)" != "$pages site-2" ]; then
    echo "== generating a site of $pages pages"
    rm -rf "$site"
    "$tool" generate-site "$site" "$pages"
    echo "$pages site-2" > "$site/pages"
fi

listen=""
seeds=""
for i in $(seq 0 $((hosts - 1))); do
    port=$((first_port + i))
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        echo "cluster bench: 127.0.0.1:$port is taken; set CLUSTER_BENCH_PORT" >&2
        exit 1
    fi
    listen="$listen listen 127.0.0.1:$port;"
    seeds="$seeds\"http://127.0.0.1:$port/index.html\", "
done
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
    keepalive_timeout 60s;
    types { text/html html; }
    default_type application/octet-stream;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    server { $listen root $site; }
}
CONF
cleanup() {
    [ -s "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2> /dev/null || true
    redis-cli -p "$redis_port" shutdown nosave > /dev/null 2>&1 || true
}
trap cleanup EXIT
"$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --logfile "$dir/redis.log" > /dev/null
for _ in $(seq 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done

write_config() { # NAME NODE: NODE empty for the embedded store
    {
        echo "seeds = [${seeds%, }]"
        echo "workers = $workers"
        echo 'stats_interval = "0s"'
        echo "[output]"
        echo "jsonl = \"$1.jsonl\""
        echo "[politeness]"
        echo "respect_robots_txt = false"
        echo "per_host_concurrency = 0"
        echo 'per_host_delay = "0s"'
        echo "[crawl]"
        echo "max_depth = 10"
        echo "max_pages_per_host = 10000000"
        if [ -n "$2" ]; then
            echo "[cluster]"
            echo "redis = \"redis://127.0.0.1:$redis_port/0\""
            echo "node = \"$2\""
        fi
    } > "$dir/$1.toml"
}

total=$(((pages + (pages + 999) / 1000 + 1) * hosts))
echo "== $hosts hosts x $pages pages ($total URLs with the index pages), $workers workers per node, $runs runs"
write_config embedded ""
for n in 1 2 3; do write_config "node$n" "node$n"; done
target/release/crawler --once --config "$dir/embedded.toml" 2> /dev/null # warm-up: page cache, nginx

run_variant() { # VARIANT NODES
    local variant=$1 nodes=$2 start end pids=() n
    rm -f "$dir"/*.jsonl
    redis-cli -p "$redis_port" flushall > /dev/null
    redis-cli -p "$redis_port" config resetstat > /dev/null
    start=$(date +%s.%N)
    if [ "$variant" = embedded ]; then
        target/release/crawler --once --config "$dir/embedded.toml" 2> "$dir/embedded.log"
    else
        for n in $(seq "$nodes"); do
            target/release/crawler --once --config "$dir/node$n.toml" 2> "$dir/node$n.log" &
            pids+=($!)
        done
        for pid in "${pids[@]}"; do wait "$pid"; done
    fi
    end=$(date +%s.%N)
    cat "$dir"/*.jsonl > "$dir/all.jsonl"
    if ! checked=$("$tool" verify-site "$dir/all.jsonl" "$pages" "$hosts"); then
        echo "$checked"
        echo "cluster bench: $variant ($nodes nodes): the crawl is not right" >&2
        exit 1
    fi
    local records wall rate commands per_page
    records=$(wc -l < "$dir/all.jsonl")
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    rate=$(awk -v n="$records" -v t="$wall" 'BEGIN { printf "%.0f", n / t }')
    # The bench's own commands (config resetstat, flushall, info) left out.
    commands=$(redis-cli -p "$redis_port" info commandstats | sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\).*/\1 \2/p' |
        awk '$1 !~ /^(config|info|flushall)/ { s += $2 } END { print s + 0 }')
    per_page=$(awk -v c="$commands" -v n="$records" 'BEGIN { printf "%.2f", c / n }')
    local share=""
    if [ "$variant" = redis ]; then
        share=" ($(for n in $(seq "$nodes"); do wc -l < "$dir/node$n.jsonl"; done | paste -sd/) per node)"
    fi
    echo "  $variant x$nodes: $rate pages/s, $wall s, $records records$share, $commands Redis commands = $per_page per page; $checked"
    echo "$rate $per_page" >> "$dir/runs-$variant-$nodes.$$"
}

for run in $(seq "$runs"); do
    echo "run $run"
    run_variant embedded 1
    for n in 1 2 3; do run_variant redis "$n"; done
done
echo "== medians"
for variant in "embedded 1" "redis 1" "redis 2" "redis 3"; do
    set -- $variant
    rate=$(cut -d' ' -f1 "$dir/runs-$1-$2.$$" | median)
    per_page=$(cut -d' ' -f2 "$dir/runs-$1-$2.$$" | median)
    rm -f "$dir/runs-$1-$2.$$"
    echo "$1 x$2: median $rate pages/s, $per_page Redis commands per page"
    [ "$1" = embedded ] && embedded_rate=$rate
done
echo "(each Redis figure relative to embedded: see the rates above; embedded = $embedded_rate pages/s)"
# Memory of the shared state: a last one-node crawl left in Redis.
run_variant redis 1 > /dev/null
seen=$(redis-cli -p "$redis_port" --raw keys 'crawler:default:seen:*' | head -1)
echo "Redis after one crawl: used_memory $(redis-cli -p "$redis_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') bytes;" \
    "seen-set $(redis-cli -p "$redis_port" memory usage "$seen" samples 0) bytes for $(redis-cli -p "$redis_port" scard "$seen") fingerprints;" \
    "url hash $(redis-cli -p "$redis_port" memory usage crawler:default:url samples 0) bytes for $(redis-cli -p "$redis_port" hlen crawler:default:url) URLs"
