#!/usr/bin/env bash
# The lookup node's requests per core over HTTPS beside plain HTTP (keep-alive
# connections, so the handshake is paid once a connection, as a prewarmer's
# pooled client pays it): the same build, data and wrk load against two
# lookup servers, one plain and one with a certificate, in alternating rounds.
#
#   benches/lookup-https.sh                        # 1M numbers, 10 pairs of 3 s, 16 connections
#   NUMBERS=10000000 ROUNDS=20 benches/lookup-https.sh
#   MODE=token benches/lookup-https.sh             # plain HTTP, the second server requiring
#                                                  # a bearer token (DIDROUTE_LOOKUP_TOKENS)
#
# Both servers run on core 0, `wrk -t1 -cCONNS` on core 1 with random
# present numbers. Server CPU a request is its user + system time from
# /proc/PID/stat over a run divided by the requests wrk completed;
# 1 / that is the requests a whole core would serve. Prints every round,
# then the medians and the TLS ÷ plain capacity ratio.
set -euo pipefail
NUMBERS=${NUMBERS:-1000000}
ROUNDS=${ROUNDS:-10}
SECS=${SECS:-3}
CONNS=${CONNS:-16}
OUT=${OUT:-/tmp/didroute-https-bench}
PLAIN_ADDR=127.0.0.1:18381
TLS_ADDR=127.0.0.1:18382
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release -q -p didroute-benches --bin didroute-bench)
BIN=$CARGO_TARGET_DIR/release/didroute-bench
for tool in wrk curl taskset openssl; do
    command -v $tool >/dev/null || { echo "$tool is required (apt-get install wrk curl util-linux openssl)" >&2; exit 1; }
done
mkdir -p "$OUT"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# a self-signed P-256 certificate for 127.0.0.1 (wrk does not verify)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null

. "$ROOT/benches/wrk-keys.sh"
write_keys_lua "$OUT"
taskset -c 0 "$BIN" lookup-server "$NUMBERS" "$PLAIN_ADDR" "$OUT/keys.txt" 2>"$OUT/plain.log" &
P=$!; PIDS+=("$P")
for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://$PLAIN_ADDR/readyz" && break; sleep 1; done
MODE=${MODE:-tls}
TOKEN=bench-reader-token-0123456789
if [ "$MODE" = token ]; then
    DIDROUTE_LOOKUP_TOKENS=$TOKEN taskset -c 0 "$BIN" lookup-server "$NUMBERS" "$TLS_ADDR" "$OUT/keys-tls.txt" 2>"$OUT/tls.log" &
    SCHEME=http; HEADER=(-H "Authorization: Bearer $TOKEN")
else
    taskset -c 0 "$BIN" lookup-server "$NUMBERS" "$TLS_ADDR" "$OUT/keys-tls.txt" "$OUT/cert.pem" "$OUT/key.pem" 2>"$OUT/tls.log" &
    SCHEME=https; HEADER=()
fi
T=$!; PIDS+=("$T")
for _ in $(seq 1 1200); do curl -ksf -o /dev/null "$SCHEME://$TLS_ADDR/readyz" && break; sleep 1; done

ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
HZ=$(getconf CLK_TCK)
# run PID URL [wrk options] -> "µs-of-server-CPU-a-request requests-a-second"
run() {
    local t0 t1 out pid=$1 url=$2
    shift 2
    t0=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" "$@" -s "$OUT/keys.lua" "$url")
    t1=$(ticks "$pid")
    [ "$(echo "$out" | awk '/Non-2xx/ {print $NF}')" = "" ] || { echo "non-2xx answers: $out" >&2; exit 1; }
    echo "$out" | awk -v a="$t0" -v b="$t1" -v hz="$HZ" '
        /requests in/ {r = $1} /Requests\/sec/ {s = $2}
        END {printf "%.2f %.0f", (b - a) / hz * 1e6 / r, s}'
}
run "$P" "http://$PLAIN_ADDR" >/dev/null
run "$T" "$SCHEME://$TLS_ADDR" "${HEADER[@]}" >/dev/null

echo "## Lookup, $MODE vs plain HTTP, $NUMBERS numbers, $ROUNDS pairs of ${SECS}s, wrk -c$CONNS keep-alive ($(date -u +%F), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1))"
echo
echo "| round | plain µs | plain req/s | $MODE µs | $MODE req/s |"
echo "|---|---|---|---|---|"
: >"$OUT/rounds.txt"
for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) = 0 ]; then
        p=$(run "$P" "http://$PLAIN_ADDR"); t=$(run "$T" "$SCHEME://$TLS_ADDR" "${HEADER[@]}")
    else
        t=$(run "$T" "$SCHEME://$TLS_ADDR" "${HEADER[@]}"); p=$(run "$P" "http://$PLAIN_ADDR")
    fi
    echo "$p $t" >>"$OUT/rounds.txt"
    echo "| $i | ${p% *} | ${p#* } | ${t% *} | ${t#* } |"
done
echo
for col in 1 2 3 4; do
    sort -n -k$col "$OUT/rounds.txt" | awk -v c=$col '{v[NR] = $c} END {print v[int((NR + 1) / 2)]}'
done | paste -sd' ' | awk '{
    printf "medians: plain %.2f µs a request (%.0f a core a second), %.0f req/s; %s %.2f µs (%.0f a core a second), %.0f req/s; %s ÷ plain per core %.2f\n",
        $1, 1e6 / $1, $2, mode, $3, 1e6 / $3, $4, mode, $1 / $3
}' mode="$MODE"
