#!/usr/bin/env bash
# A private Kafka-compatible broker for tests and local runs: tansu (from
# crates.io), in memory, on a free loopback port, advertising 127.0.0.1, with
# the routes topic created explicitly.
#
# Run it:     scripts/tansu.sh         prints the broker address, runs until
#                                      Ctrl-C, then stops the broker
# Source it:  . scripts/tansu.sh; start_tansu
#             starts it in the background, exports DIDROUTE_TEST_KAFKA_BROKERS
#             (and TANSU_PID), and stops it on exit (added to the EXIT trap).
#
# When no `tansu` binary is found it is installed with
#   cargo install tansu --locked --no-default-features --features dynostore,libsql
# (a one-off build of several minutes; see README): `dynostore` for the
# in-memory storage the tests use, `libsql` for the SQLite storage
# scripts/cluster-test restarts the broker on. TANSU_BIN names a binary
# to use instead; DIDROUTE_KAFKA_TOPIC the topic to create
# (default didroute.routes.v1).

TANSU_VERSION=${TANSU_VERSION:-0.6.0}

tansu_bin() {
  if [ -n "${TANSU_BIN:-}" ]; then echo "$TANSU_BIN"; return; fi
  if command -v tansu >/dev/null; then command -v tansu; return; fi
  local home=${CARGO_HOME:-$HOME/.cargo}
  if [ -x "$home/bin/tansu" ]; then echo "$home/bin/tansu"; return; fi
  return 1
}

install_tansu() {
  echo "installing tansu $TANSU_VERSION with cargo (a one-off build)" >&2
  local started=$SECONDS
  cargo install tansu --version "$TANSU_VERSION" --locked --no-default-features --features dynostore,libsql --force >&2
  echo "tansu installed in $((SECONDS - started)) s" >&2
}

start_tansu() {
  local bin port url i topic=${DIDROUTE_KAFKA_TOPIC:-didroute.routes.v1}
  if ! bin=$(tansu_bin); then
    install_tansu || { echo "cannot install tansu" >&2; return 1; }
    bin=$(tansu_bin) || { echo "tansu was installed but is not on PATH or in \$CARGO_HOME/bin" >&2; return 1; }
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  url="tcp://127.0.0.1:$port"
  TANSU_LOG=$(mktemp /tmp/didroute-tansu.XXXXXX.log)
  "$bin" broker --cluster-id didroute --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine memory://tansu/ >"$TANSU_LOG" 2>&1 &
  TANSU_PID=$!
  for i in $(seq 1 100); do
    if ! kill -0 "$TANSU_PID" 2>/dev/null; then
      echo "tansu exited at start:" >&2
      cat "$TANSU_LOG" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  # the routes topic, and the usage topic lookup nodes on Kafka publish to
  for t in "$topic" "${DIDROUTE_USAGE_TOPIC:-didroute.usage.v1}"; do
    if ! "$bin" topic create --broker "$url" --partitions 1 "$t" >>"$TANSU_LOG" 2>&1; then
      echo "cannot create topic $t on tansu at $url:" >&2
      cat "$TANSU_LOG" >&2
      stop_tansu
      return 1
    fi
  done
  export DIDROUTE_TEST_KAFKA_BROKERS="127.0.0.1:$port"
  export TANSU_PID TANSU_LOG
  local previous
  previous=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  # shellcheck disable=SC2064
  trap "stop_tansu${previous:+; $previous}" EXIT
  echo "tansu broker at $DIDROUTE_TEST_KAFKA_BROKERS (topic $topic, memory storage, pid $TANSU_PID)" >&2
}

stop_tansu() {
  if [ -n "${TANSU_PID:-}" ]; then
    kill "$TANSU_PID" 2>/dev/null || true
    wait "$TANSU_PID" 2>/dev/null || true
    TANSU_PID=
  fi
  if [ -n "${TANSU_LOG:-}" ]; then rm -f "$TANSU_LOG"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap 'exit 130' INT TERM
  start_tansu
  echo "$DIDROUTE_TEST_KAFKA_BROKERS"
  echo "  export DIDROUTE_KAFKA_BROKERS=$DIDROUTE_TEST_KAFKA_BROKERS   # control plane, relay, lookup nodes" >&2
  echo "  export DIDROUTE_TEST_KAFKA_BROKERS=$DIDROUTE_TEST_KAFKA_BROKERS   # cargo test" >&2
  echo "Ctrl-C stops the broker." >&2
  wait "$TANSU_PID"
fi
