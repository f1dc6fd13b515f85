#!/usr/bin/env bash
# Issue 20: tracking session starts a second and their latency through HTTP
# (control-plane/benches/tracking_load.rs), against the control plane built
# with the release profile, on a durable PostgreSQL. Figures go to
# BENCHMARKS.md ("Tracking numbers").
#
#   benches/tracking.sh
#
# Database: DATABASE_URL (a superuser or schema-owner URL) when set; otherwise
# a private PostgreSQL cluster (fsync=on, synchronous_commit=on) in a
# temporary directory, stopped on exit. Knobs: BENCH_CLIENTS (32),
# BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (2), BENCH_DB_POOL_SIZE (16).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/pg.sh

if [ -z "${DATABASE_URL:-}" ]; then
  start_private_postgres bench -c max_connections=400 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on ${BENCH_PG_OPTIONS:-}
fi

echo "== machine"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "nproc:     $(nproc)"
echo "cpu:       $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)"
echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
echo "commit:    $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

echo "== cargo bench -p didroute-control-plane --bench tracking_load (release profile)"
cargo bench -p didroute-control-plane --bench tracking_load
