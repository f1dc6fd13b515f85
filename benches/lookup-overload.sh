#!/usr/bin/env bash
# O2: a lookup node under more connections than it serves. A "served"
# client (wrk, 64 connections, opened first) measures its latency while a
# flood of other connections arrives; the node runs with its connection
# limit (DIDROUTE_LOOKUP_MAX_CONNECTIONS, default 1024) and, for
# comparison, with none. At the limit the node stops accepting, so the
# served client's p99 stays bounded by the limit, not by the flood.
#
#   benches/lookup-overload.sh                       # 1M numbers, 10 s a run
#   FLOODS="4096 16384" DURATION=5 benches/lookup-overload.sh
#
# The node runs on core 0, both wrk processes on core 1. Prints one
# markdown table; raw outputs stay in $OUT (default /tmp/didroute-overload-bench).
set -euo pipefail

NUMBERS=${NUMBERS:-1000000}
DURATION=${DURATION:-10}
FLOODS=${FLOODS:-"4096 16384"}
SERVED=${SERVED:-64}
LIMIT=${LIMIT:-1024}
OUT=${OUT:-/tmp/didroute-overload-bench}
ADDR=127.0.0.1:18091
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/didroute-bench
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; return 0; }
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(cd "$ROOT" && cargo build --release -q -p didroute-benches --bin didroute-bench)
. "$ROOT/benches/wrk-keys.sh"
wait_http() { for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 1; done; return 1; }

start_node() { # limit
    DIDROUTE_LOOKUP_MAX_CONNECTIONS=$1 taskset -c 0 "$BIN" lookup-server "$NUMBERS" "$ADDR" "$OUT/keys.txt" \
        2>"$OUT/node-$1.log" &
    NODE=$!
    PIDS+=("$NODE")
    wait_http "http://$ADDR/readyz"
}

# p99 and requests/s of a wrk --latency output
p99() { awk '$1 == "99%" {print $2}' "$1"; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' "$1"; }
non2xx() { awk '/Non-2xx/ {print $5}' "$1" | grep . || echo 0; }
errors() { awk '/Socket errors/ {print}' "$1" | sed 's/.*Socket errors: //' | grep . || echo none; }

run() { # limit flood label
    local limit=$1 flood=$2 label=$3
    start_node "$limit"
    write_keys_lua "$OUT"
    if [ "$flood" -gt 0 ]; then
        taskset -c 1 wrk -t1 -c"$SERVED" -d"$((DURATION + 2))"s --latency -s "$OUT/keys.lua" "http://$ADDR" >"$OUT/served-$label.txt" &
        local served=$!
        sleep 1
        taskset -c 1 wrk -t1 -c"$flood" -d"$DURATION"s -s "$OUT/keys.lua" "http://$ADDR" >"$OUT/flood-$label.txt" 2>&1 || true
        wait "$served"
    else
        taskset -c 1 wrk -t1 -c"$SERVED" -d"$DURATION"s --latency -s "$OUT/keys.lua" "http://$ADDR" >"$OUT/served-$label.txt"
    fi
    echo "| $label | $SERVED + $flood | $(p99 "$OUT/served-$label.txt") | $(rps "$OUT/served-$label.txt") | $( [ "$flood" -gt 0 ] && rps "$OUT/flood-$label.txt" || echo -) |"
    kill "$NODE"; wait "$NODE" 2>/dev/null || true
}

echo "| run | connections (served + flood) | served p99 | served req/s | flood req/s |"
echo "|---|---|---|---|---|"
run "$LIMIT" 0 "no flood"
for f in $FLOODS; do
    run "$LIMIT" "$f" "limit $LIMIT, flood $f"
    run 1000000 "$f" "no limit, flood $f"
done
