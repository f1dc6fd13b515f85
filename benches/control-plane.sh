#!/usr/bin/env bash
# Control-plane benchmarks, docs/goals.md C1 (allocations/s and latency with 32
# concurrent clients) and C3 (importing 1M numbers given as PortSIP ranges),
# over real HTTP on loopback against the control plane built in release mode.
# Figures go to BENCHMARKS.md ("Control plane (C1–C3)").
#
#   benches/control-plane.sh
#
# Database: DATABASE_URL (a superuser or schema-owner URL) when set; otherwise
# a private PostgreSQL cluster from the installed server binaries, in a
# temporary directory, stopped on exit. Unlike the test cluster (fsync=off),
# this one is durable: fsync=on, synchronous_commit=on, so every commit waits
# for its WAL flush, as in production.
#
# Knobs (environment, read by the benchmark): BENCH_CLIENTS (32),
# BENCH_SECONDS (20), BENCH_WARMUP_SECONDS (3), BENCH_C3_RUNS (3),
# BENCH_DB_POOL_SIZE (16), BENCH_ONLY (c1 or c3), BENCH_KEEP_DB (1 keeps the
# benchmark databases), BENCH_PG_OPTIONS (extra server options for the
# private cluster, e.g. "-c max_wal_size=8GB").
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

. scripts/pg.sh

if [ -z "${DATABASE_URL:-}" ]; then
  start_private_postgres bench -c max_connections=400 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on ${BENCH_PG_OPTIONS:-}
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

# Durable commits wait for a WAL flush: what one costs on this disk right now
# (heavy writers on the same filesystem make it much slower).
probe_dir=${dir:-${TMPDIR:-/tmp}}
python3 - "$probe_dir" <<'PY'
import os, sys, tempfile, time
d = sys.argv[1]
fd, path = tempfile.mkstemp(dir=d)
buf, lat, end = b"\0" * 8192, [], time.monotonic() + 2
try:
    while time.monotonic() < end and len(lat) < 5000:
        t = time.perf_counter()
        os.pwrite(fd, buf, 0)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t)
finally:
    os.close(fd)
    os.unlink(path)
lat.sort()
print(f"fdatasync: 8 kB write + fdatasync in {d}: median {lat[len(lat) // 2] * 1e6:.0f} us, "
      f"p99 {lat[int(len(lat) * 0.99)] * 1e6:.0f} us ({len(lat)} in 2 s)")
PY

echo "== PostgreSQL"
psql_bin=$(command -v psql || true)
if [ -z "$psql_bin" ] && bin=$(pg_bin); then psql_bin="$bin/psql"; fi
if [ -n "$psql_bin" ] && [ -x "$psql_bin" ]; then
  for s in server_version fsync synchronous_commit full_page_writes wal_sync_method shared_buffers max_wal_size; do
    printf '%-20s %s\n' "$s" "$("$psql_bin" "$DATABASE_URL" -Atc "SHOW $s")"
  done
else
  echo "(no psql: the benchmark prints the settings itself)"
fi
echo "durability: the benchmark needs fsync=on and synchronous_commit=on (the test cluster runs with both off);"
echo "            it prints a warning and its figures do not count when either is off"

echo "== cargo bench -p didroute-control-plane --bench control_plane_load (release profile)"
cargo bench -p didroute-control-plane --bench control_plane_load
