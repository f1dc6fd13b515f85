#!/usr/bin/env bash
# Issue 19 point 9: one reconciliation of 1,000,000 numbers at the carrier
# (didroute-carrier-sim as a process) against the same 1,000,000 in the
# inventory, with 1,000 gone at the carrier and 1,000 orphans, timed from
# POST /v1/reconciliations to `finished` (bar: ≤ 60 s). Figures go to
# BENCHMARKS.md ("Carriers").
#
#   benches/reconcile.sh
#
# Database: DATABASE_URL (a superuser or schema-owner URL) when set; otherwise
# a private durable PostgreSQL (fsync=on, synchronous_commit=on) in a
# temporary directory, stopped on exit. Knobs: BENCH_RUNS (1), BENCH_KEEP_DB
# (1 keeps the databases), BENCH_PG_OPTIONS (extra server options).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

. scripts/pg.sh

if [ -z "${DATABASE_URL:-}" ]; then
  start_private_postgres bench -c max_connections=200 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on ${BENCH_PG_OPTIONS:-}
fi

echo "== machine"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "nproc:     $(nproc)"
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
[ -n "$cpu" ] || cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
echo "cpu:       $cpu"
echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; other work on the machine skews the figures)"
echo "commit:    $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"

echo "== cargo build --release -p didroute-carrier-sim"
cargo build --release --locked -p didroute-carrier-sim
echo "== cargo bench -p didroute-control-plane --bench reconcile_1m (release profile)"
cargo bench --locked -p didroute-control-plane --bench reconcile_1m
