#!/usr/bin/env bash
# docs/goals.md R10: a soak of lookups plus churn. A real `didroute-lookup` node
# tails a stand-in event feed (`didroute-bench soak-feed`: N numbers, then
# RATE changes per second: remaps and releases) while wrk sends lookups of
# random numbers for DURATION seconds. Every 10 s it samples the node's RSS,
# position and overlay. Errors are anything but 200 or 404 (released numbers
# answer 404) plus socket errors.
#
#   benches/lookup-soak.sh                        # 10 minutes, 1M numbers, 1,000 changes/s
#   DURATION=60 NUMBERS=200000 benches/lookup-soak.sh
set -euo pipefail

NUMBERS=${NUMBERS:-1000000}
RATE=${RATE:-1000}
DURATION=${DURATION:-600}
CONNS=${CONNS:-16}
OUT=${OUT:-/tmp/didroute-soak}
FEED_ADDR=127.0.0.1:18090
NODE_ADDR=127.0.0.1:18091
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
echo "building (release)" >&2
(cd "$ROOT" && cargo build --release -q -p didroute-benches --bin didroute-bench &&
    cargo build --release -q -p didroute-lookup --no-default-features --bin didroute-lookup)

"$CARGO_TARGET_DIR/release/didroute-bench" soak-feed "$NUMBERS" "$FEED_ADDR" "$RATE" "$OUT/keys.txt" 2>"$OUT/feed.log" &
PIDS+=($!)
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://$FEED_ADDR/v1/events?after=0&limit=1" && break; sleep 1; done
DIDROUTE_FEED_URL=http://$FEED_ADDR DIDROUTE_FEED_TOKEN=soak DIDROUTE_LOOKUP_LISTEN=$NODE_ADDR RUST_LOG=warn \
    "$CARGO_TARGET_DIR/release/didroute-lookup" 2>"$OUT/node.log" &
PIDS+=($!); NODE_PID=$!
for _ in $(seq 1 600); do curl -sf -o /dev/null "http://$NODE_ADDR/readyz" && break; sleep 1; done
curl -sf -o /dev/null "http://$NODE_ADDR/readyz" || { echo "the node never became ready" >&2; exit 1; }

cat >"$OUT/soak.lua" <<LUA
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  keys = {}
  for line in io.lines("$OUT/keys.txt") do keys[#keys + 1] = "/v1/routes/+" .. line end
  ok, nf, bad = 0, 0, 0
end
function request() return wrk.format("GET", keys[math.random(#keys)]) end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status == 404 then nf = nf + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, n, b = 0, 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); n = n + t:get("nf"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d ok=%d not_found=%d bad_status=%d socket_errors=%d p50_us=%.0f p99_us=%.0f p999_us=%.0f\n",
    summary.requests, o, n, b, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99), latency:percentile(99.9)))
end
LUA

echo "soak: $DURATION s, $CONNS connections, $RATE changes/s over $NUMBERS numbers" >&2
wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$OUT/soak.lua" "http://$NODE_ADDR" >"$OUT/wrk.log" 2>&1 &
WRK_PID=$!
SAMPLES="$OUT/samples.txt"
: >"$SAMPLES"
START=$(date +%s)
while kill -0 $WRK_PID 2>/dev/null; do
    sleep 10
    t=$(( $(date +%s) - START ))
    rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$NODE_PID/status)
    snap=$(curl -s "http://$NODE_ADDR/v1/snapshot")
    seq=$(echo "$snap" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
    overlay=$(echo "$snap" | sed -n 's/.*"overlay_entries":\([0-9]*\).*/\1/p')
    numbers=$(echo "$snap" | sed -n 's/.*"numbers":\([0-9]*\).*/\1/p')
    echo "$t $rss $seq $overlay $numbers" | tee -a "$SAMPLES" >&2
done
wait $WRK_PID || true
RESULT=$(grep RESULT "$OUT/wrk.log" || echo "RESULT missing")
FOLDS=$(curl -s "http://$NODE_ADDR/metrics" | sed -n 's/^didroute_lookup_snapshot_builds_total //p')

echo
echo "## Soak (R10): $DURATION s, $NUMBERS numbers, $RATE changes/s, $CONNS connections ($(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "$RESULT" | tr ' ' '\n' | sed -n 's/=/ | /p' | sed 's/^/| /; s/$/ |/' | { echo "| measure | value |"; echo "|---|---|"; cat; }
echo "| snapshot builds (folds) | $FOLDS |"
echo
echo "| t (s) | RSS MiB | position | overlay | numbers |"
echo "|---|---|---|---|---|"
awk 'NR % 6 == 1 || NR <= 2 {printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5} END {printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$SAMPLES"
awk 'NR == 6 {base = $2} {last = $2; if ($2 > max) max = $2} END {if (base) printf "\nRSS after 60 s: %d MiB, max %d MiB, last %d MiB (%.1f%% growth after the first minute)\n", base, max, last, (last - base) * 100 / base}' "$SAMPLES"
