#!/usr/bin/env bash
# docs/goals.md L3's per-core ratio on a noisy machine: the lookup node's and the
# bare-hyper floor's server CPU per request, measured in short rounds that
# alternate between the two, so a slow phase of the machine (steal, another
# tenant) lands on both sides of a pair instead of on one whole run.
#
#   benches/lookup-http-paired.sh                         # 10M numbers, 20 pairs of 3 s
#   NUMBERS=1000000 ROUNDS=10 benches/lookup-http-paired.sh
#   BIN=/tmp/old/didroute-bench benches/lookup-http-paired.sh   # another build
#
# Both servers run on core 0 for the whole run (only one is loaded at a
# time), `wrk -t1 -c16` with random present numbers on core 1. A round is
# one `wrk` run against each, in alternating order; CPU is the server's
# user + system time from /proc/PID/stat over the run, divided by the
# requests wrk completed. The ratio is floor CPU ÷ lookup CPU a request:
# the share of the floor's per-core capacity the lookup reaches (L3 asks
# for ≥ 0.85). Prints every round, then the median, minimum and maximum.
set -euo pipefail
NUMBERS=${NUMBERS:-10000000}
ROUNDS=${ROUNDS:-20}
SECS=${SECS:-3}
OUT=${OUT:-/tmp/didroute-http-paired}
LOOKUP_ADDR=127.0.0.1:18281
BARE_ADDR=127.0.0.1:18282
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "${BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p didroute-benches --bin didroute-bench)
    BIN=$CARGO_TARGET_DIR/release/didroute-bench
fi
for tool in wrk curl taskset; do
    command -v $tool >/dev/null || { echo "$tool is required (apt-get install wrk curl util-linux)" >&2; exit 1; }
done
mkdir -p "$OUT"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

. "$ROOT/benches/wrk-keys.sh"
write_keys_lua "$OUT"

taskset -c 0 "$BIN" lookup-server "$NUMBERS" "$LOOKUP_ADDR" "$OUT/keys.txt" 2>"$OUT/lookup.log" &
L=$!
PIDS+=("$L")
for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://$LOOKUP_ADDR/readyz" && break; sleep 1; done
BODY=$(cd "$OUT" && "$BIN" answer-bytes "$NUMBERS" 2>/dev/null || echo 353)
taskset -c 0 "$BIN" bare-server "$BARE_ADDR" "$BODY" 2>"$OUT/bare.log" &
B=$!
PIDS+=("$B")
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$BARE_ADDR/" && break; sleep 0.2; done

# user + system ticks of a process (fields 14 and 15 of /proc/PID/stat,
# counted after the parenthesised name)
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
HZ=$(getconf CLK_TCK)
# per_request PID URL -> µs of server CPU a request
per_request() {
    local t0 t1 out reqs
    t0=$(ticks "$1")
    out=$(taskset -c 1 wrk -t1 -c16 -d"${SECS}s" -s "$OUT/keys.lua" "$2")
    t1=$(ticks "$1")
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    awk -v a="$t0" -v b="$t1" -v r="$reqs" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz * 1e6 / r}'
}
# warm both
per_request "$L" "http://$LOOKUP_ADDR" >/dev/null
per_request "$B" "http://$BARE_ADDR/" >/dev/null

echo "## Server CPU a request, lookup vs bare hyper, $NUMBERS numbers, $ROUNDS alternating pairs of ${SECS}s, wrk -c16 ($(date -u +%F), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1))"
echo
echo "| round | lookup µs | floor µs | floor ÷ lookup |"
echo "|---|---|---|---|"
: >"$OUT/rounds.txt"
for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) = 0 ]; then
        l=$(per_request "$L" "http://$LOOKUP_ADDR"); b=$(per_request "$B" "http://$BARE_ADDR/")
    else
        b=$(per_request "$B" "http://$BARE_ADDR/"); l=$(per_request "$L" "http://$LOOKUP_ADDR")
    fi
    r=$(awk -v l="$l" -v b="$b" 'BEGIN {printf "%.3f", b / l}')
    echo "$l $b $r" >>"$OUT/rounds.txt"
    echo "| $i | $l | $b | $r |"
done
echo
sort -n -k3 "$OUT/rounds.txt" | awk '{l[NR] = $1; b[NR] = $2; r[NR] = $3} END {
    m = int((NR + 1) / 2)
    printf "floor ÷ lookup: median %.3f, min %.3f, max %.3f; rounds at or above 0.85: ", r[m], r[1], r[NR]
    k = 0; for (i = 1; i <= NR; i++) if (r[i] >= 0.85) k++
    printf "%d of %d\n", k, NR
}'
for col in 1 2; do
    sort -n -k$col "$OUT/rounds.txt" | awk -v c=$col '{v[NR] = $c} END {printf "%s median %.2f µs a request\n", (c == 1 ? "lookup" : "floor"), v[int((NR + 1) / 2)]}'
done
