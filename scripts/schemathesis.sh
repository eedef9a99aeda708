#!/usr/bin/env bash
# schemathesis against the real server: builds `hamkor`, serves a fresh demo database on a
# free port, makes an API token for the demo administrator, and runs schemathesis (pinned in
# scripts/schemathesis-requirements.txt, installed into a venv of its own) over the whole
# OpenAPI description at /api/v1/openapi.json. Fails on any 5xx, any status code, content
# type, header or body outside the description.
#
# Usage: scripts/schemathesis.sh [--long]
#   (default)  short mode, what CI runs: 5 examples per operation, under a minute here.
#   --long     many more examples per operation (SCHEMATHESIS_MODE=long does the same).
# Settings (environment):
#   EXAMPLES=N          examples per operation in the fuzzing phase (short 5, long 200)
#   SEED=N              schemathesis' seed (default 1, so a run can be repeated)
#   DATABASE=URL        a PostgreSQL server URL (postgres://user@host:port/db) whose user may
#                       CREATE DATABASE: the run uses a new database there (psql needed)
#                       instead of a fresh SQLite file. Not dropped afterwards.
#   PROFILE=dev|release the build (short: dev; long: release)
#   HAMKOR_BIN=PATH     a hamkor binary to use instead of building one (CI: the one cargo
#                       test built, whose dependencies' features differ from a plain build)
#   SCHEMATHESIS_VENV   where the venv lives (default ~/.cache/hamkor/schemathesis-<version>)
#   KEEP=1              keep the work directory (server log, reports) when it passes too
# Needs python3 with venv and pip (Debian: python3-venv), curl, and the Rust toolchain.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

mode=${SCHEMATHESIS_MODE:-short}
[ "${1:-}" = "--long" ] && mode=long
case "$mode" in
  short) examples=${EXAMPLES:-5}; profile=${PROFILE:-dev} ;;
  long) examples=${EXAMPLES:-200}; profile=${PROFILE:-release} ;;
  *) echo "unknown mode $mode (short or long)" >&2; exit 2 ;;
esac
seed=${SEED:-1}
log() { printf '\n== schemathesis: %s\n' "$*"; }

# The pinned schemathesis, in a venv keyed by the requirements' hash, so a changed pin makes
# a new one.
reqs=scripts/schemathesis-requirements.txt
version=$(sed -n 's/^schemathesis==//p' "$reqs")
reqs_hash=$(sha256sum "$reqs" | cut -c1-12)
venv=${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hamkor/schemathesis-$version-$reqs_hash}
if [ ! -x "$venv/bin/schemathesis" ]; then
  log "installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$reqs"
fi

if [ -n "${HAMKOR_BIN:-}" ]; then
  bin=$(cd "$(dirname "$HAMKOR_BIN")" && pwd)/$(basename "$HAMKOR_BIN")
  log "using $bin"
else
  log "building hamkor ($profile)"
  if [ "$profile" = release ]; then
    cargo build --locked --release -p hamkor --quiet
    dir=release
  else
    cargo build --locked -p hamkor --quiet
    dir=debug
  fi
  target=${CARGO_TARGET_DIR:-target}
  bin="$(cd "$target" && pwd)/$dir/hamkor"
fi

work=$(mktemp -d /tmp/hamkor-schemathesis.XXXXXX)
pid=""
status=1
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "$status" = 0 ] && [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "schemathesis: server log and reports kept in $work" >&2
  fi
}
trap cleanup EXIT

if [ -n "${DATABASE:-}" ]; then
  name="hamkor_schemathesis_$(date +%s)_$$"
  psql -X -q -v ON_ERROR_STOP=1 "$DATABASE" -c "CREATE DATABASE $name" >/dev/null
  db="${DATABASE%/*}/$name"
  log "PostgreSQL database $name"
else
  db="sqlite://$work/hamkor.db"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
export HAMKOR_CONFIG=/nonexistent HAMKOR_LOG=${HAMKOR_LOG:-warn,hamkor_web=error}
log "serving a demo database at $base"
"$bin" serve --demo --database "$db" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -sf "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$base/readyz" >/dev/null
token=$("$bin" token create --database "$db" --user admin@demo.hamkor.uz --name schemathesis 2>>"$work/server.log" | tail -n 1)

st() { # token, report name, extra arguments...
  local tok=$1 name=$2
  shift 2
  "$venv/bin/schemathesis" --no-color run "$base/api/v1/openapi.json" \
    --header "Authorization: Bearer $tok" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" \
    --seed "$seed" \
    --workers 2 \
    --request-timeout 30 \
    --generation-database none \
    --suppress-health-check all \
    --report junit --report-junit-path "$work/report/$name.xml" \
    "$@"
}
set +e
# From the work directory: schemathesis keeps a cache in .schemathesis/ where it runs.
cd "$work"
# Revoking a token is run last, on its own, with a token of its own: schemathesis learns
# token ids from GET /api/v1/tokens, and revoking the token a run authenticates with would
# leave every later request a 401.
log "$mode mode: $examples examples per operation, seed $seed"
st "$token" all --exclude-operation-id delete_tokens__id_
status=$?
log "$mode mode: revoking tokens"
token2=$("$bin" token create --database "$db" --user admin@demo.hamkor.uz --name schemathesis-revoke 2>>"$work/server.log" | tail -n 1)
st "$token2" revoke --include-operation-id delete_tokens__id_
revoke_status=$?
[ "$status" = 0 ] && status=$revoke_status
set -e
if [ "$status" != 0 ]; then
  echo "schemathesis: failed (exit $status); the server's errors:" >&2
  grep -iE 'error|panic' "$work/server.log" | tail -n 40 >&2 || true
fi
exit "$status"
