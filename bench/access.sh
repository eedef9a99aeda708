#!/usr/bin/env bash
# The cost of the access layer on the contact list: the first page of contacts (sorted by
# last name) at concurrency 16, as the administrator (no row rule), a head (team scope), a
# salesperson (own scope), then the same after one contact is shared (every
# non-administrator list then carries the share condition too).
# Usage: CONTACTS=1000000 bash bench/access.sh [SQLITE_FILE]
#   (an existing generated database file is reused; BIN=path/to/hamkor skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
contacts=${CONTACTS:-100000}
duration=${DURATION:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${BIN:-}" ]; then cargo build --release --quiet -p hamkor; fi
target=${CARGO_TARGET_DIR:-target}
bin=${BIN:-"$(cd "$target" && pwd)/release/hamkor"}
db=${1:-}
work=$(mktemp -d /tmp/hamkor-access.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export HAMKOR_CONFIG=/nonexistent HAMKOR_LOG=warn
if [ -z "$db" ]; then
  db="$work/bench.db"
  /usr/bin/time -f "generated $contacts contacts in %e s (peak RSS %M KB)" \
    "$bin" generate --database "sqlite://$db" --contacts "$contacts" --seed 1 >/dev/null
fi
url="sqlite://$db"
token() { "$bin" token create --database "$url" --user "$1" --name "access-bench-$RANDOM" | tail -n 1; }
admin=$(token generator@hamkor.local)
head=$(token toshkent.1@hamkor.local)
sales=$(token toshkent.2@hamkor.local)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" serve --database "$url" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.01; done
path="/api/v1/contacts?limit=50&sort=last_name"
run() { # label token
  local out
  out=$(wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $2" "$base$path")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" \
    "$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')" \
    "$(echo "$out" | awk '$1=="50%" {print $2}')" \
    "$(echo "$out" | awk '$1=="90%" {print $2}')" \
    "$(echo "$out" | awk '$1=="99%" {print $2}')" \
    "$(echo "$out" | awk '/Non-2xx/ {print $NF}')"
}
printf '\nGET %s, %s s at concurrency 16\n\n| who | requests/s | p50 | p90 | p99 | non-2xx |\n|---|---|---|---|---|---|\n' "$path" "$duration"
run "administrator (no row rule)" "$admin"
run "head (team scope)" "$head"
run "salesperson (own scope)" "$sales"
# Share one of the administrator's contacts with the head and the salesperson: from now on
# their lists are the merge of their scope's page and the records shared with them.
some=$(curl -sf -H "Authorization: Bearer $admin" "$base/api/v1/contacts?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
for email in toshkent.1@hamkor.local toshkent.2@hamkor.local; do
  someone=$(curl -sf -H "Authorization: Bearer $admin" "$base/api/v1/users" | python3 -c "import json,sys; print([u['id'] for u in json.load(sys.stdin)['items'] if u['email']=='$email'][0])")
  curl -sf -o /dev/null -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"user_id\": \"$someone\", \"access\": \"read\"}" "$base/api/v1/contacts/$some/shares"
done
sleep 2.5  # the policy cache
run "head, a contact shared with them" "$head"
run "salesperson, a contact shared with them" "$sales"
