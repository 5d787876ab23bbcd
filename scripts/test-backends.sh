#!/usr/bin/env bash
# Brings up what the test suite needs beside the machine's PostgreSQL and Redis: the
# `stockroom_test` database, FerretDB (MongoDB wire protocol) and the Upstash REST gateway.
#
#   eval "$(scripts/test-backends.sh)"   # start (idempotent); prints `export` lines on stdout
#   scripts/test-backends.sh stop        # stop what an earlier run started (by pid files)
#
# Progress goes to stderr. Exits non-zero if any backend cannot be brought up: CI must never
# silently skip the real stores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/.deno/bin:$PATH"

PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres TEST_DB=stockroom_test
REDIS_HOST=127.0.0.1 REDIS_PORT=6379
MONGO_PORT=${STOCKROOM_MONGO_PORT:-27017} MONGO_DB=inventory_test
GATEWAY_PORT=${STOCKROOM_GATEWAY_PORT:-8079} GATEWAY_TOKEN=stockroom-test-token
FERRETDB_VERSION=1.24.2
# FerretDB 1.x applies findAndModify, update and delete as "read in Go, then overwrite the document
# by _id" with no lock (FerretDB issue #3040), on both backends, so it lacks MongoDB's
# single-document atomicity and concurrent conditional decrements can both succeed. We build it
# with one mutex around those three commands (see patch_ferretdb): each command is then atomic, as
# on MongoDB, while anything that reads and writes in two commands still races, so the contract
# suite still catches a read-then-write adapter. Inserts take the same mutex: SQLite admits one
# writer, and FerretDB's pool of 100 connections otherwise contends for it through SQLite's busy
# handler, which sleeps up to 100 ms at a time (measured: POST /inventory p99 131 ms, nearly all of
# it waiting inside FerretDB; 17 ms with writes taken in turn). The postgresql backend also
# deadlocks once ~50 findAndModify run at once (each holds a pooled connection and waits for a
# second one to write), so sqlite is the default.
FERRETDB_HANDLER=${STOCKROOM_FERRETDB_HANDLER:-sqlite}
RUN_DIR=${STOCKROOM_RUN_DIR:-/tmp/stockroom-backends}
BUILD_DIR=${STOCKROOM_FERRETDB_BUILD_DIR:-$HOME/.cache/stockroom/ferretdb-build}
WAIT_SECONDS=30

log() { echo "test-backends: $*" >&2; }
die() {
  echo "test-backends: ERROR: $*" >&2
  exit 1
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# $1 = pid file, $2 = text its process's command line must contain (guards against pid reuse).
pid_alive() { [ -f "$1" ] && grep -qa -- "$2" "/proc/$(cat "$1")/cmdline" 2>/dev/null; }
psql_pg() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qtAX "$@"; }

# Whether the process we just started (our own child) still runs: it exists and is not a zombie.
# Not pid_alive: until the forked shell has exec'd the command, its cmdline is still this
# script's, so a marker check fails for a live start (measured: 25 of 200 starts of `setsid
# nohup sleep` when checked at once; CI failed on it at FerretDB's start-up).
child_running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }

# $1 = name, $2.. = readiness check. Fails as soon as our process has died, so a port held by
# someone else is never mistaken for our start-up.
wait_started() {
  local pid
  pid=$(cat "$RUN_DIR/$1.pid")
  shift
  for _ in $(seq $((WAIT_SECONDS * 4))); do
    child_running "$pid" || return 1
    if "$@"; then return 0; fi
    sleep 0.25
  done
  return 1
}

# $1 = name, $2 = log file, $3.. = command. Detached (setsid), with no inherited stdout (else
# `$(scripts/test-backends.sh)` would wait for the child to close the pipe) and no lock fds.
start_detached() {
  local name=$1 logfile=$2
  shift 2
  [ -f "$logfile" ] && mv -f "$logfile" "$logfile.prev"
  setsid nohup "$@" >"$logfile" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$RUN_DIR/$name.pid"
}

stop_one() {
  local name=$1 marker=$2 pidfile="$RUN_DIR/$1.pid"
  if ! pid_alive "$pidfile" "$marker"; then
    rm -f "$pidfile"
    log "$name: not running"
    return
  fi
  local pid
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

ensure_postgres() {
  command -v psql >/dev/null || die "psql not found: install the PostgreSQL client"
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 5 ||
    die "PostgreSQL does not answer on $PG_HOST:$PG_PORT (start it; tests need a real PostgreSQL)"
  psql_pg -c 'select 1' >/dev/null ||
    die "cannot log in to PostgreSQL as '$PG_USER' on $PG_HOST:$PG_PORT"
  if [ "$(psql_pg -c "select 1 from pg_database where datname = '$TEST_DB'")" != 1 ]; then
    # A concurrent run may create it first; only its absence afterwards is an error.
    psql_pg -c "create database $TEST_DB" >/dev/null 2>&1 || true
    [ "$(psql_pg -c "select 1 from pg_database where datname = '$TEST_DB'")" = 1 ] ||
      die "could not create database $TEST_DB"
    log "postgres: created database $TEST_DB"
  fi
  log "postgres: ok ($PG_HOST:$PG_PORT, database $TEST_DB)"
}

ensure_redis() {
  local pong
  if command -v redis-cli >/dev/null; then
    pong=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || true
  else # speak RESP by hand
    pong=$({ exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 &&
      timeout 5 head -c 7 <&3; } 2>/dev/null | tr -d '+\r\n') || true
  fi
  [ "$pong" = PONG ] ||
    die "Redis does not answer PING on $REDIS_HOST:$REDIS_PORT (start it; tests need a real Redis)"
  log "redis: ok ($REDIS_HOST:$REDIS_PORT)"
}

# The patched build gets its own name (changed with the patch), so neither a stock build on PATH
# nor an earlier patch's build is taken for it.
FERRETDB_BIN="$HOME/.cache/stockroom/bin/ferretdb-v$FERRETDB_VERSION-serialized-writes-id-index"

# Two patches, both making the stand-in behave as MongoDB does:
# 1. FerretDB's document-writing command handlers take one process-wide mutex (see above).
# 2. The SQLite backend finds a document by `_id` through its unique `_id` index. Stock 1.24 writes
#    the lookup as `_ferretdb_sjson->'$._id' = ?` while the index is on `_ferretdb_sjson->"_id"`;
#    SQLite matches index expressions by their text, so every `find({_id})`, and every update and
#    delete (each rewrites its document `WHERE _id = ?`), scanned the whole table (EXPLAIN QUERY
#    PLAN: SCAN; measured: findOne by _id 20 ms among 1,554 stored answers, updateOne 15 ms among
#    5,000 records). `->'_id'` means the same in SQLite and is the index's expression: SEARCH.
patch_ferretdb() {
  local handler="$1/internal/handler" metadata="$1/internal/backends/sqlite/metadata/metadata.go"
  perl -pi -e "s/IDColumn = DefaultColumn \+ \"->'\\\$\._id'\"/IDColumn = DefaultColumn + \"->'_id'\"/" "$metadata"
  grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$metadata" || return 1
  cat >"$handler/stockroom_serialized_writes.go" <<'GO'
package handler

import "sync"

// documentWrites makes each findAndModify, update and delete command atomic with respect to the
// others, as MongoDB's single-document writes are: FerretDB 1.x reads the document and then
// overwrites it by _id without a lock. Inserts take it too, so writers queue here instead of in
// SQLite's sleeping busy handler. Added by Stockroom's scripts/test-backends.sh.
var documentWrites sync.Mutex
GO
  perl -0pi -e 's/(func \(h \*Handler\) Msg(?:FindAndModify|Update|Delete|Insert)\(connCtx context\.Context, msg \*wire\.OpMsg\) \(\*wire\.OpMsg, error\) \{\n)/$1\tdocumentWrites.Lock()\n\tdefer documentWrites.Unlock()\n\n/' \
    "$handler/msg_findandmodify.go" "$handler/msg_update.go" "$handler/msg_delete.go" \
    "$handler/msg_insert.go"
  [ "$(cat "$handler"/msg_{findandmodify,update,delete,insert}.go | grep -c 'documentWrites.Lock()')" = 4 ]
}

ferretdb_ok() { [ -x "$1" ] && [ "$("$1" --version 2>/dev/null | head -n1)" = "version: v$FERRETDB_VERSION" ]; }

build_ferretdb() {
  command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go): needed to build FerretDB"
  mkdir -p "$BUILD_DIR"
  # One build at a time, also across concurrent runs of this script.
  exec 9>"$BUILD_DIR.lock"
  flock -w 1200 9 || die "timed out waiting for another FerretDB build"
  if ferretdb_ok "$FERRETDB_BIN"; then return; fi
  log "ferretdb: building v$FERRETDB_VERSION in $BUILD_DIR (a cold build takes a few minutes)"
  local started=$SECONDS
  local module=github.com/FerretDB/FerretDB src
  # `set -e` does not apply inside a `|| die` list, hence the && chains.
  {
    cd "$BUILD_DIR" && { [ -f go.mod ] || go mod init scratch/ferret; } &&
      go mod edit -dropreplace "$module" &&
      go get -tool "$module/cmd/ferretdb@v$FERRETDB_VERSION" &&
      src=$(go mod download -json "$module@v$FERRETDB_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') &&
      [ -d "$src" ] &&
      # A plain `go install` embeds no build/version/version.txt and that binary panics at
      # start-up ("Invalid build/version/version.txt file content"): build a copy that has it.
      rm -rf src && cp -r "$src" src && chmod -R u+w src &&
      echo "v$FERRETDB_VERSION" >src/build/version/version.txt &&
      patch_ferretdb src &&
      go mod edit -replace "$module=./src" &&
      GOBIN="$BUILD_DIR/bin" go install "$module/cmd/ferretdb" &&
      mkdir -p "$(dirname "$FERRETDB_BIN")" &&
      mv "$BUILD_DIR/bin/ferretdb" "$FERRETDB_BIN" &&
      cd - >/dev/null
  } >&2 || die "FerretDB v$FERRETDB_VERSION build failed (see output above)"
  ferretdb_ok "$FERRETDB_BIN" || die "built $FERRETDB_BIN but it does not report v$FERRETDB_VERSION"
  log "ferretdb: built in $((SECONDS - started)) s"
}

ensure_ferretdb() {
  if pid_alive "$RUN_DIR/ferretdb.pid" "$FERRETDB_BIN" && listening "$MONGO_PORT"; then
    log "ferretdb: already running (pid $(cat "$RUN_DIR/ferretdb.pid"), 127.0.0.1:$MONGO_PORT)"
    return
  fi
  # An earlier run's stock (unserialized) build: replace it.
  if pid_alive "$RUN_DIR/ferretdb.pid" ferretdb; then stop_one ferretdb ferretdb; fi
  if listening "$MONGO_PORT"; then
    log "ferretdb: something not started by this script already listens on 127.0.0.1:$MONGO_PORT; using it"
    return
  fi
  if ! ferretdb_ok "$FERRETDB_BIN"; then
    build_ferretdb
    listening "$MONGO_PORT" && die "127.0.0.1:$MONGO_PORT was taken while FerretDB was being built"
  fi
  local dir="$RUN_DIR/ferretdb" backend
  mkdir -p "$dir/state" "$dir/sqlite"
  case "$FERRETDB_HANDLER" in
  sqlite) backend=(--handler=sqlite "--sqlite-url=file:$dir/sqlite/") ;;
  postgresql)
    [ "$(psql_pg -c "select 1 from pg_database where datname = 'ferretdb'")" = 1 ] ||
      psql_pg -c "create database ferretdb" >/dev/null 2>&1 || true
    backend=(--handler=postgresql "--postgresql-url=postgres://$PG_USER@$PG_HOST:$PG_PORT/ferretdb")
    ;;
  *) die "STOCKROOM_FERRETDB_HANDLER must be sqlite or postgresql, not '$FERRETDB_HANDLER'" ;;
  esac
  start_detached ferretdb "$dir/ferretdb.log" "$FERRETDB_BIN" --telemetry=disable \
    "--listen-addr=127.0.0.1:$MONGO_PORT" --debug-addr=- "--state-dir=$dir/state" "${backend[@]}"
  # The log line proves that our process, not another one, holds the port.
  if ! wait_started ferretdb grep -q "Listening on TCP 127.0.0.1:$MONGO_PORT" \
    "$dir/ferretdb.log"; then
    tail -n 20 "$dir/ferretdb.log" >&2 || true
    die "FerretDB did not accept connections on 127.0.0.1:$MONGO_PORT within ${WAIT_SECONDS}s (log: $dir/ferretdb.log)"
  fi
  log "ferretdb: started v$FERRETDB_VERSION ($FERRETDB_HANDLER backend, pid $(cat "$RUN_DIR/ferretdb.pid"), log $dir/ferretdb.log)"
}

gateway_answers() {
  [ "$(curl -s -m 2 -H "Authorization: Bearer $GATEWAY_TOKEN" -d '["PING"]' \
    "http://127.0.0.1:$GATEWAY_PORT/" 2>/dev/null)" = '{"result":"PONG"}' ]
}

ensure_gateway() {
  if gateway_answers; then
    log "upstash gateway: already answering on 127.0.0.1:$GATEWAY_PORT"
    return
  fi
  listening "$GATEWAY_PORT" &&
    die "port $GATEWAY_PORT is taken by something that is not the Upstash gateway (token $GATEWAY_TOKEN)"
  command -v deno >/dev/null || die "deno not found: needed to run the Upstash gateway"
  local logfile="$RUN_DIR/upstash-gateway.log"
  # On a cold Deno cache the first run downloads the lockfile's npm packages before it listens,
  # which took more than WAIT_SECONDS in one CI run: fetch them here, in the foreground, so the
  # wait below only covers start-up.
  deno cache --quiet "$PWD/tests/support/upstash_gateway.ts" >&2 ||
    die "could not fetch the Upstash gateway's dependencies (deno cache failed, see above)"
  start_detached gateway "$logfile" env "GATEWAY_PORT=$GATEWAY_PORT" \
    "GATEWAY_TOKEN=$GATEWAY_TOKEN" "REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT" \
    deno run -A "$PWD/tests/support/upstash_gateway.ts"
  if ! wait_started gateway grep -q "listening on" "$logfile" ||
    ! gateway_answers; then
    tail -n 20 "$logfile" >&2 || true
    pid_alive "$RUN_DIR/gateway.pid" upstash_gateway.ts ||
      die "the Upstash gateway exited before it answered on 127.0.0.1:$GATEWAY_PORT (log: $logfile)"
    die "the Upstash gateway did not answer on 127.0.0.1:$GATEWAY_PORT within ${WAIT_SECONDS}s (log: $logfile)"
  fi
  log "upstash gateway: started (pid $(cat "$RUN_DIR/gateway.pid"), log $logfile)"
}

mkdir -p "$RUN_DIR"
# Concurrent runs (e.g. parallel CI steps) take turns, so each sees what the other started.
exec 8>"$RUN_DIR/.lock"
flock -w 600 8 || die "timed out waiting for another run of $0"
case "${1:-start}" in
stop)
  stop_one gateway upstash_gateway.ts
  stop_one ferretdb ferretdb
  exit 0
  ;;
start) ;;
*) die "usage: $0 [start|stop]" ;;
esac

ensure_postgres
ensure_redis
ensure_ferretdb
ensure_gateway

cat <<EOF
export DATABASE_URL=postgres://$PG_USER@$PG_HOST:$PG_PORT/$TEST_DB
export UPSTASH_REDIS_REST_URL=http://127.0.0.1:$GATEWAY_PORT
export UPSTASH_REDIS_REST_TOKEN=$GATEWAY_TOKEN
export MONGODB_URL=mongodb://127.0.0.1:$MONGO_PORT/
export MONGODB_DB=$MONGO_DB
export REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT
EOF
