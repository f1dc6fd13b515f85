#!/usr/bin/env bash
# User-space instructions per HTTP request of the lookup server and of the
# bare-hyper floor (callgrind), a figure that a noisy or shared machine does
# not blur the way CPU time does (kernel work is not counted: valgrind sees
# only the process's own instructions).
#
#   benches/lookup-http-instructions.sh               # 1M numbers, 15 s each
#   NUMBERS=10000000 benches/lookup-http-instructions.sh
#   BIN=/tmp/old/didroute-bench benches/lookup-http-instructions.sh   # A/B
#   DIDROUTE_USAGE_MAX_NUMBERS=100000 benches/lookup-http-instructions.sh   # counting usage (issue 21)
#
# Each server runs under valgrind on core 0 with instrumentation off while it
# builds its snapshot, then `wrk -c16` from core 1 warms it for 3 s and
# instrumentation is switched on for DURATION seconds; instructions ÷ the
# requests wrk completed in that window.
set -euo pipefail
NUMBERS=${NUMBERS:-1000000}
DURATION=${DURATION:-15}
OUT=${OUT:-/tmp/didroute-http-instructions}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "${BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p didroute-benches --bin didroute-bench)
    BIN=$CARGO_TARGET_DIR/release/didroute-bench
fi
for tool in valgrind callgrind_control wrk curl; do
    command -v $tool >/dev/null || { echo "$tool is required (apt-get install valgrind wrk curl)" >&2; exit 1; }
done
mkdir -p "$OUT"
VP=
trap '[ -n "$VP" ] && kill "$VP" 2>/dev/null || true' EXIT

. "$ROOT/benches/wrk-keys.sh"
write_keys_lua "$OUT"

# measure NAME READY_URL URL ARGS... -> "NAME requests instructions per_request"
measure() {
    local name=$1 ready=$2 url=$3; shift 3
    rm -f "$OUT/$name.cg"*
    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$name.cg" \
        "$BIN" "$@" 2>"$OUT/$name.log" &
    VP=$!
    for _ in $(seq 1 1200); do curl -sf -o /dev/null "$ready" && break; sleep 1; done
    taskset -c 1 wrk -t1 -c16 -d3s -s "$OUT/keys.lua" "$url" >/dev/null
    callgrind_control -i on "$VP" >/dev/null
    local out; out=$(taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" -s "$OUT/keys.lua" "$url")
    callgrind_control -i off "$VP" >/dev/null
    callgrind_control -d "$VP" >/dev/null
    sleep 1
    kill "$VP"; wait "$VP" 2>/dev/null || true; VP=
    local reqs ir
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    ir=$(cat "$OUT/$name.cg"* | awk '/^totals:/ {s += $2} END {print s}')
    echo "$name $reqs $ir $(awk -v i="$ir" -v r="$reqs" 'BEGIN {printf "%.0f", i / r}')"
}

L=$(measure lookup http://127.0.0.1:18181/readyz http://127.0.0.1:18181 lookup-server "$NUMBERS" 127.0.0.1:18181 "$OUT/keys.txt")
BODY=$(cd "$OUT" && "$BIN" answer-bytes "$NUMBERS" 2>/dev/null || echo 330)
B=$(measure bare http://127.0.0.1:18182/ http://127.0.0.1:18182/ bare-server 127.0.0.1:18182 "$BODY")
read -r _ lr li lp <<<"$L"
read -r _ br bi bp <<<"$B"
echo
echo "## User-space instructions per request, $NUMBERS numbers, wrk -c16, ${DURATION}s ($(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p' | head -1))"
echo
echo "| server | requests | instructions | per request |"
echo "|---|---|---|---|"
echo "| didroute lookup | $lr | $li | $lp |"
echo "| bare hyper (floor, $BODY-byte body) | $br | $bi | $bp |"
echo
echo "lookup ÷ floor: $(awk -v a="$lp" -v b="$bp" 'BEGIN {printf "%.2f", a / b}')×; the lookup's own work: $((lp - bp)) instructions a request"
