# The link-following mode of benches/e2e.sh (sourced; uses its variables
# and helpers): the crawler and the spider crate peer crawl the site from
# /index.html in turn, each run timed as a whole process; nginx's access log
# counts the requests of each run.
links_mode() {
    local spider=${E2E_SPIDER:-$HOME/spider-peer/release/spider_peer}
    local tools="crawler"
    [ -n "${E2E_BASELINE:-}" ] && tools="$tools baseline"
    if [ -x "$spider" ]; then
        tools="$tools spider"
    else
        echo "e2e: no spider peer at $spider (see ../shared/peers/spider/README.md); no spider run"
    fi
    local urls=$((pages + (pages + 999) / 1000 + 1))
    echo "== link mode: a site of $pages pages ($urls URLs with the index pages) from /index.html, $workers workers, $runs runs of: $tools"
    # One uncounted run first: the site comes into the page cache, nginx warms up.
    "$tool" measure -- target/release/crawler --once --config "$dir/crawler.toml" > /dev/null 2> "$dir/crawler-warmup.log"
    sleep 0.5 # nginx flushes the warm-up's log lines before the first count
    local run who line checked requests wall distinct rate
    for run in $(seq "$runs"); do
        for who in $tools; do
            rm -f "$dir/results.jsonl"
            : > "$dir/access.log"
            if [ "$who" != spider ]; then
                local binary=target/release/crawler
                [ "$who" = baseline ] && binary=$E2E_BASELINE
                line=$("$tool" measure -- "$binary" --once --config "$dir/crawler.toml" 2> "$dir/$who-links-$run.log")
                if ! checked=$("$tool" verify-site "$dir/results.jsonl" "$pages"); then
                    echo "$checked"
                    echo "e2e: run $run: the crawl of $who is not right (see $dir/$who-links-$run.log)" >&2
                    exit 1
                fi
            else
                LINKS_VISITED_MEMORY_LIMIT=1000000 "$tool" measure -- "$spider" "$base/index.html" "$workers" \
                    > "$dir/spider-$run.out" 2> "$dir/spider-$run.log"
                line=$(grep '^wall_s=' "$dir/spider-$run.out" | tail -1)
                grep -v '^wall_s=' "$dir/spider-$run.out" > "$dir/spider.tsv"
                checked=$("$tool" verify-tsv "$dir/spider.tsv" "$pages")
            fi
            sleep 0.5 # nginx flushes its log buffer
            requests=$("$tool" requests "$dir/access.log")
            if [ "$who" != spider ] && [ "$(field repeated <<< "$requests")" != 0 ]; then
                echo "e2e: run $run: some URLs were fetched more than once: $requests" >&2
                exit 1
            fi
            wall=$(field wall_s <<< "$line")
            distinct=$(field distinct <<< "$requests")
            rate=$(awk -v n="$distinct" -v t="$wall" 'BEGIN { printf "%.0f", n / t }')
            echo "run $run $who: $rate pages/s; $line; $requests; $checked"
            echo "$rate $(field peak_rss_kb <<< "$line") $(field cpu_s <<< "$line")" >> "$dir/runs-$who.$$"
        done
    done
    local crawler_rate=0 rss cpu
    for who in $tools; do
        rate=$(cut -d' ' -f1 "$dir/runs-$who.$$" | median)
        rss=$(cut -d' ' -f2 "$dir/runs-$who.$$" | median)
        cpu=$(cut -d' ' -f3 "$dir/runs-$who.$$" | median)
        rm -f "$dir/runs-$who.$$"
        echo "$who: median $rate pages/s, peak RSS $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MB, $cpu CPU s"
        [ "$who" = crawler ] && crawler_rate=$rate
        if [ "$who" = baseline ]; then
            echo "crawler / baseline: $(awk -v a="$crawler_rate" -v b="$rate" 'BEGIN { printf "%.3f", a / b }')"
        fi
        if [ "$who" = spider ]; then
            echo "crawler / spider: $(awk -v a="$crawler_rate" -v b="$rate" 'BEGIN { printf "%.2f", a / b }')"
        fi
    done
}
