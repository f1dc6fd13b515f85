# A private PostgreSQL cluster from the installed server binaries, for the
# scripts that need one when DATABASE_URL is unset. Source it, then:
#
#   start_private_postgres <name> [server option]...
#
# initialises a cluster in a fresh /tmp/didroute-<name>-pg.XXXXXX, starts it on
# a free loopback port with the given extra server options (`-c fsync=off`, ...),
# exports DATABASE_URL (superuser `postgres`, trust auth) and stops and removes
# it on exit (an EXIT trap). PostgreSQL is installed with apt-get when no
# server binaries are found; DIDROUTE_PG_BIN names the binaries' directory.

pg_bin() {
  if [ -n "${DIDROUTE_PG_BIN:-}" ]; then echo "$DIDROUTE_PG_BIN"; return; fi
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
  return 1
}

start_private_postgres() {
  local name=$1 port
  shift
  if ! bin=$(pg_bin); then
    echo "installing PostgreSQL server binaries" >&2
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    bin=$(pg_bin)
  fi
  dir=$(mktemp -d "/tmp/didroute-$name-pg.XXXXXX")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as=()
  if [ "$(id -u)" = 0 ]; then
    # initdb and postgres refuse to run as root
    chown postgres: "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$dir/pg" -w -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $*" \
    start >/dev/null
  trap stop_private_postgres EXIT
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "private PostgreSQL at $DATABASE_URL" >&2
}

stop_private_postgres() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
