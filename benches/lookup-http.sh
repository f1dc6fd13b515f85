#!/usr/bin/env bash
# docs/goals.md L3/L4 in one run: the lookup node against the bare-hyper HTTP
# floor, Redis GET and PostgreSQL prepared point selects, on the same data.
#
#   benches/lookup-http.sh                 # 10M numbers, 10 s per run
#   NUMBERS=1000000 DURATION=5 benches/lookup-http.sh
#
# Every server runs on core 0 (taskset), every client on core 1, one client
# thread, no pipelining, at 1, 16 and 64 connections:
# - didroute lookup node (the real hyper server and snapshot, one thread),
#   loaded straight from the generated data (`didroute-bench lookup-server`),
#   GET /v1/routes/+<number> over 100k random present numbers (wrk + Lua);
# - bare hyper, one thread, fixed JSON body of the mean answer size: the floor;
# - a private redis-server (no persistence): GET n:<index> of the same N
#   answers (redis-benchmark -r N, keys drawn at random);
# - a private PostgreSQL cluster: `SELECT body FROM routes WHERE id = $1`
#   (pgbench -M prepared, random id) on a table of the same N answers.
# CPU: every run also reads the server's own CPU time (/proc/PID/stat;
# PostgreSQL's backends are counted when the postmaster reaps them) and the
# client core's busy share. One client core cannot saturate any of these
# servers here, so "CPU per request" is the client-independent figure: the
# requests a second a whole core would serve at that cost is its capacity.
# Memory: RSS of the lookup and bare servers; Redis used_memory and RSS;
# PostgreSQL table + index size. Prints one markdown table; raw outputs stay
# in $OUT (default /tmp/didroute-http-bench).
set -euo pipefail

NUMBERS=${NUMBERS:-10000000}
DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 16 64"}
OUT=${OUT:-/tmp/didroute-http-bench}
LOOKUP_ADDR=127.0.0.1:18081
BARE_ADDR=127.0.0.1:18082
REDIS_PORT=16379
PG_PORT=15432
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/didroute-bench
mkdir -p "$OUT"
chmod 777 "$OUT"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "${PGDATA_DIR:-}" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
    [ -n "${PGDATA_DIR:-}" ] && rm -rf "$PGDATA_DIR"
    return 0
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need redis-server || ! need redis-benchmark || ! need pgbench || ! need taskset; then
    echo "installing wrk, redis, postgresql client and server tools" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk redis-server redis-tools postgresql postgresql-contrib util-linux >/dev/null
fi
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")

echo "building didroute-bench (release)" >&2
(cd "$ROOT" && cargo build --release -q -p didroute-benches --bin didroute-bench)

# CPU seconds of a process and its reaped children (fields 14-17 of
# /proc/PID/stat, counted after the parenthesised name, which may hold spaces)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15}'; }
# busy jiffies of core $1 (everything but idle and iowait)
core_busy() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
HZ=$(getconf CLK_TCK)
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done; echo "timeout waiting for $1" >&2; return 1; }

# --- servers, all on core 0 ---
echo "lookup node: generating and building $NUMBERS numbers" >&2
taskset -c 0 "$BIN" lookup-server "$NUMBERS" "$LOOKUP_ADDR" "$OUT/keys.txt" 2>"$OUT/lookup-server.log" &
PIDS+=($!); LOOKUP_PID=$!
wait_http "http://$LOOKUP_ADDR/readyz"
LOOKUP_RSS=$(rss_mib $LOOKUP_PID)
BODY=$(curl -s "http://$LOOKUP_ADDR/v1/routes/+$(head -1 "$OUT/keys.txt")" | wc -c)

taskset -c 0 "$BIN" bare-server "$BARE_ADDR" "$BODY" 2>"$OUT/bare-server.log" &
PIDS+=($!); BARE_PID=$!
wait_http "http://$BARE_ADDR/"
BARE_RSS=$(rss_mib $BARE_PID)

echo "redis: loading $NUMBERS answers" >&2
taskset -c 0 redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$OUT" --logfile "$OUT/redis.log" &
PIDS+=($!); REDIS_PID=$!
for _ in $(seq 1 50); do redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 && break; sleep 0.2; done
redis-cli -p $REDIS_PORT flushall >/dev/null
taskset -c 1 "$BIN" redis-resp "$NUMBERS" | redis-cli -p $REDIS_PORT --pipe >"$OUT/redis-load.log"
REDIS_USED=$(redis-cli -p $REDIS_PORT info memory | awk -F: '/^used_memory:/ {printf "%.0f", $2/1048576}')
REDIS_RSS=$(rss_mib $REDIS_PID)

echo "postgresql: private cluster, loading $NUMBERS answers" >&2
PGDATA_DIR=$(mktemp -d /tmp/didroute-pgbench.XXXXXX)
chown postgres "$PGDATA_DIR"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres >/dev/null
runuser -u postgres -- taskset -c 0 "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/log" -w \
    -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=4GB -c fsync=off -c synchronous_commit=off -c max_connections=100" start >/dev/null
PSQL=(psql -h 127.0.0.1 -p $PG_PORT -U postgres -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE TABLE routes (id bigint, body text)"
taskset -c 1 "$BIN" pg-csv "$NUMBERS" | "${PSQL[@]}" -c "COPY routes FROM STDIN WITH (FORMAT csv)"
"${PSQL[@]}" -c "ALTER TABLE routes ADD PRIMARY KEY (id)" -c "VACUUM ANALYZE routes"
# Warm the cache the way the other servers are warm: touch every page.
"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" -c "SELECT pg_prewarm('routes'), pg_prewarm('routes_pkey')" >/dev/null || true
# Write the load out now: a timed checkpoint (and the kernel's writeback of
# its 4 GB) landing in a later run stalled the servers on core 0 for ~100 ms
# (seen as a lookup p99 of 56 ms at 64 connections on 2026-12-04).
"${PSQL[@]}" -c "CHECKPOINT"
sync
PG_PID=$(head -1 "$PGDATA_DIR/postmaster.pid")
PG_MIB=$("${PSQL[@]}" -At -c "SELECT pg_total_relation_size('routes')/1048576")
printf '\\set id random(0, %d)\nSELECT body FROM routes WHERE id = :id;\n' $((NUMBERS - 1)) >"$OUT/select.sql"

. "$ROOT/benches/wrk-keys.sh"
write_keys_lua "$OUT"
cat >>"$OUT/keys.lua" <<LUA
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50=%.0f p99=%.0f p999=%.0f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status))
end
LUA
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }
run_wrk() { # script url conns name -> "rps p50 p99 p999 errors"
    local log="$OUT/wrk-$4-$3.log"
    taskset -c 1 wrk -t1 -c"$3" -d"${DURATION}s" --latency -s "$1" "$2" >"$log" 2>&1
    local r; r=$(grep RESULT "$log")
    echo "$(echo "$r" | field rps) $(echo "$r" | field p50) $(echo "$r" | field p99) $(echo "$r" | field p999) $(( $(echo "$r" | field errors) + $(echo "$r" | field non2xx) ))"
}
run_redis() { # conns -> "rps p50 p99 p999"
    local log="$OUT/redis-bench-$1.log"
    # redis-benchmark counts requests, not seconds: a short calibration run
    # sizes the real one to about DURATION seconds.
    taskset -c 1 redis-benchmark -p $REDIS_PORT -c "$1" -n 20000 -r "$NUMBERS" -P 1 --threads 1 --csv \
        GET "n:__rand_int__" >"$log" 2>&1
    local rps; rps=$(awk -F'","' 'NR==2 {gsub(/"/,"",$0); split($0,a,","); printf "%.0f", a[2]}' "$log")
    local n=$(( ${rps:-20000} * DURATION ))
    [ "$n" -lt 20000 ] && n=20000
    taskset -c 1 redis-benchmark -p $REDIS_PORT -c "$1" -n "$n" -r "$NUMBERS" -P 1 --threads 1 --csv \
        GET "n:__rand_int__" >"$log" 2>&1
    # csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    awk -F'","' 'NR==2 {gsub(/"/,"",$0); split($0,a,","); printf "%.0f %.0f %.0f -", a[2], a[5]*1000, a[7]*1000}' "$log"
}
run_pg() { # conns -> "rps p50 p99 -"
    local log="$OUT/pgbench-$1.log"
    taskset -c 1 runuser -u postgres -- pgbench -h 127.0.0.1 -p $PG_PORT -U postgres -n -M prepared -c "$1" -j 1 \
        -T "$DURATION" -f "$OUT/select.sql" --log --log-prefix="$OUT/pglat-$1" postgres >"$log" 2>&1 || true
    local tps; tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$log" | head -1)
    # per-transaction log: client_id txn_no time_us ...; percentiles of time_us
    local lat; lat=$(cat "$OUT"/pglat-"$1"* 2>/dev/null | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%d %d %d", a[int(NR*0.5)], a[int(NR*0.99)], a[int(NR*0.999)]; else printf "- - -"}')
    rm -f "$OUT"/pglat-"$1"*
    printf "%.0f %s" "${tps:-0}" "$lat"
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load before the runs: $LOAD" >&2
# A pause before every run: the previous run's processes on core 0 (64
# PostgreSQL backends tearing down their mappings of 4 GB of shared buffers)
# otherwise land in the next run; the lookup run follows pgbench and showed
# a p99 of 24-56 ms at 64 connections where a run alone shows 1-2 ms. Five
# seconds was not enough on a 2-core Xeon (p99 14.5-15.9 ms at 16
# connections in two runs, 1.06 ms with 15 s), hence 15.
settle() { sleep "${SETTLE:-15}"; }
# measured PID run... -> the run's own output, then "server_cpu_us_per_request
# client_core_busy_percent". The run's first field is its req/s; requests =
# req/s × the run's wall time (redis-benchmark's calibration run included,
# at about the same rate).
measured() {
    local pid=$1; shift
    local c0 b0 t0 c1 b1 t1 out
    c0=$(cpu_ticks "$pid"); b0=$(core_busy 1); t0=$(date +%s.%N)
    out=$("$@")
    b1=$(core_busy 1); t1=$(date +%s.%N)
    # pgbench's backends exit as it does: let the postmaster reap them
    sleep 1
    c1=$(cpu_ticks "$pid")
    echo "$out $(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v rps="${out%% *}" \
        'BEGIN {if (rps > 0) printf "%.2f", (b - a) / hz * 1e6 / (rps * (t1 - t0)); else printf "-"}') $(awk -v a="$b0" -v b="$b1" -v hz="$HZ" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", 100 * (b - a) / hz / (t1 - t0)}')"
}
declare -A R
for c in $CONNS; do
    echo "connections $c" >&2
    settle; R[lookup,$c]=$(measured "$LOOKUP_PID" run_wrk "$OUT/keys.lua" "http://$LOOKUP_ADDR" "$c" lookup)
    # the floor's client is the same script (a random path from the same
    # keys; the bare server ignores it): a floor measured with wrk's static
    # request would be a cheaper client, not a faster server
    settle; R[bare,$c]=$(measured "$BARE_PID" run_wrk "$OUT/keys.lua" "http://$BARE_ADDR/" "$c" bare)
    settle; R[redis,$c]=$(measured "$REDIS_PID" run_redis "$c")
    settle; R[pg,$c]=$(measured "$PG_PID" run_pg "$c")
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
LOOKUP_RSS_AFTER=$(rss_mib $LOOKUP_PID)

us() { # wrk reports microseconds
    [ "$1" = "-" ] || [ -z "$1" ] && { echo "-"; return; }
    awk -v v="$1" 'BEGIN {printf "%.0f µs", v}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else printf "-"}'; }

echo
echo "## HTTP lookups, $NUMBERS numbers, ${DURATION}s per run ($(date -u +%F), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $LOAD → $LOAD_AFTER)"
echo
echo "| conns | server | req/s | p50 | p99 | p99.9 | errors | lookup ÷ this | server CPU µs/req | req/s per core at that cost | lookup ÷ this, per core | client core busy |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
# $OUT/runs.txt keeps every run's fields for later arithmetic
: >"$OUT/runs.txt"
per_core() { awk -v u="$1" 'BEGIN {if (u > 0) printf "%.0f", 1e6 / u; else printf "-"}'; }
for c in $CONNS; do
    read -r lr l50 l99 l999 lerr lcpu lbusy <<<"${R[lookup,$c]}"
    read -r br b50 b99 b999 berr bcpu bbusy <<<"${R[bare,$c]}"
    read -r rr r50 r99 r999 rcpu rbusy <<<"${R[redis,$c]}"
    read -r pr p50 p99 p999 pcpu pbusy <<<"${R[pg,$c]}"
    lu=$lcpu; bu=$bcpu; ru=$rcpu; pu=$pcpu
    lk=$(per_core "$lu")
    echo "| $c | didroute lookup | $lr | $(us "$l50") | $(us "$l99") | $(us "$l999") | $lerr | 1.00 | $lu | $lk | 1.00 | $lbusy% |"
    echo "| $c | bare hyper (floor) | $br | $(us "$b50") | $(us "$b99") | $(us "$b999") | $berr | $(ratio "$lr" "$br") | $bu | $(per_core "$bu") | $(ratio "$lk" "$(per_core "$bu")") | $bbusy% |"
    echo "| $c | redis GET | $rr | $(us "$r50") | $(us "$r99") | - | - | $(ratio "$lr" "$rr") | $ru | $(per_core "$ru") | $(ratio "$lk" "$(per_core "$ru")") | $rbusy% |"
    echo "| $c | postgres prepared select | $pr | $(us "$p50") | $(us "$p99") | $(us "$p999") | - | $(ratio "$lr" "$pr") | $pu | $(per_core "$pu") | $(ratio "$lk" "$(per_core "$pu")") | $pbusy% |"
    echo "$c lookup ${R[lookup,$c]}; bare ${R[bare,$c]}; redis ${R[redis,$c]}; pg ${R[pg,$c]}" >>"$OUT/runs.txt"
done
echo
echo "| memory for $NUMBERS numbers | MiB | bytes/number |"
echo "|---|---|---|"
bpn() { awk -v m="$1" -v n="$NUMBERS" 'BEGIN {printf "%.1f", m * 1048576 / n}'; }
echo "| didroute lookup node RSS (after the runs: $LOOKUP_RSS_AFTER MiB) | $LOOKUP_RSS | $(bpn "$LOOKUP_RSS") |"
echo "| bare hyper RSS | $BARE_RSS | - |"
echo "| redis used_memory (RSS $REDIS_RSS MiB) | $REDIS_USED | $(bpn "$REDIS_USED") |"
echo "| postgres table + index | $PG_MIB | $(bpn "$PG_MIB") |"
echo
echo "L3 (16 conns): lookup ≥ 200k req/s, p99 ≤ 250 µs, ≥ 0.85× bare hyper. L4: ≥ 1.5× Redis, ≥ 2× PostgreSQL, memory ≤ 1/10 of Redis ($(ratio "$LOOKUP_RSS" "$REDIS_USED")× here)."
