#!/usr/bin/env bash
# The duplicate benchmark: the check while typing (one client, so the latency one user
# sees), the full scan of contacts and of accounts, and the start-up backfill of the keys
# — against the real server on a generated SQLite database.
#
# Usage: bench/dedup.sh [DATABASE_FILE]
#   Without a file it generates one (CONTACTS, ACCOUNTS; default 200000 / 40000; the
#   issue's size is 1000000 / 200000), without interactions. DURATION=N seconds per
#   check (default 10). BIN=path uses that binary instead of building one.
# Prints one table of check latencies (p50, p95, p99) and the scan and backfill times.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
contacts=${CONTACTS:-200000}
accounts=${ACCOUNTS:-40000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  target=${CARGO_TARGET_DIR:-target}
  BIN="$(cd "$target" && pwd)/release/hamkor"
fi
work=$(mktemp -d /tmp/hamkor-dedup.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export HAMKOR_CONFIG=/nonexistent HAMKOR_LOG=warn

db=${1:-}
if [ -z "$db" ]; then
  db="$work/bench.db"
  g0=$(date +%s.%N)
  "$BIN" generate --database "sqlite://$db" --contacts "$contacts" --accounts "$accounts" \
    --interactions 0 --seed 1 | tail -n 2 >&2
  echo "generated in $(python3 -c "import time; print(round(time.time() - $g0, 1))") s" >&2
fi
url="sqlite://$db"

token=$("$BIN" token create --database "$url" --user generator@hamkor.local --name bench | tail -n 1)
"$BIN" serve --database "$url" --listen "127.0.0.1:$port" >/dev/null &
pid=$!
for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.01; done

# Real values to look for.
python3 - "$base" "$token" "$work" <<'PY'
import json, sys, urllib.request, urllib.parse
base, token, work = sys.argv[1:4]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req))
# Generated records, the oldest: the newest may be ones a benchmark's import or writes
# added, without an e-mail, a tax id or a phone.
c = get("/api/v1/contacts?limit=1&sort=created_at")["items"][0]
a = get("/api/v1/accounts?limit=1&sort=created_at")["items"][0]
e164 = c["phones"][0]["e164"]
national = e164[4:]
q = urllib.parse.urlencode
checks = [
    ("contact: a common name (thousands share it)", "contacts", q({"first_name": "Aziz", "last_name": "Karimov"})),
    ("contact: the name in Cyrillic", "contacts", q({"first_name": "Азиз", "last_name": "Каримов"})),
    ("contact: a phone as typed", "contacts", q({"phone": f"8 ({national[:2]}) {national[2:]}"})),
    ("contact: an e-mail", "contacts", q({"email": c["emails"][0]["address"].upper()})),
    ("contact: the whole form", "contacts", q({"first_name": c["first_name"], "last_name": c["last_name"], "phone": e164, "email": c["emails"][0]["address"], "id": c["id"]})),
    ("account: name with a legal form", "accounts", q({"name": "OOO " + a["name"].split(" ")[0]})),
    ("account: the whole form", "accounts", q({"name": a["name"], "tax_id": a["tax_id"], "phone": a["phones"][0]["number"]})),
]
json.dump(checks, open(f"{work}/checks.json", "w"))
PY
printf 'done = function(summary, latency, requests) io.write(string.format("P95 %%d\\n", latency:percentile(95))) end\n' > "$work/p95.lua"
ms() { awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.1fms", us/1000; else printf "%dus", us }'; }
run() { # label, url
  local out rps p50 p95 p99 non2xx
  out=$(wrk -t1 -c1 -d"${duration}s" --latency -s "$work/p95.lua" -H "Authorization: Bearer $token" "$2")
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  p95=$(ms "$(echo "$out" | awk '$1=="P95" {print $2}')")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '| %-48s | %6s | %8s | %8s | %8s | %s |\n' "$1" "$rps" "$p50" "$p95" "$p99" "${non2xx:-0}"
}
scan() { # object: starts a scan and waits for it; prints the seconds it took
  curl -sf -X POST -H "Authorization: Bearer $token" "$base/api/v1/duplicates/scan?object=$1" >/dev/null
  python3 - "$base" "$token" "$1" <<'PY'
import json, sys, time, urllib.request
from datetime import datetime
base, token, obj = sys.argv[1:4]
while True:
    req = urllib.request.Request(f"{base}/api/v1/duplicates?object={obj}&limit=1", headers={"Authorization": f"Bearer {token}"})
    s = json.load(urllib.request.urlopen(req))["scan"]
    if s["status"] != "running":
        break
    time.sleep(0.2)
t = lambda x: datetime.fromisoformat(x.replace("Z", "+00:00"))
print(f"{obj}: {s['status']} in {(t(s['finished_at']) - t(s['started_at'])).total_seconds():.1f} s, "
      f"{s['records']} records, {s['pairs']} matching pairs, {s['groups']} groups")
PY
}
{
  echo "Hamkor duplicate benchmark — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), SQLite, database $(du -h "$db" | cut -f1)"
  echo
  printf '| %-48s | %6s | %8s | %8s | %8s | %s |\n' "duplicate check (one client, ${duration}s each)" "req/s" "p50" "p95" "p99" "non-2xx"
  printf '|%s|%s|%s|%s|%s|%s|\n' "--------------------------------------------------" "--------" "----------" "----------" "----------" "---"
  python3 -c "import json,sys; [print(f'{l}\t{p}\t{q}') for l,p,q in json.load(open(sys.argv[1]))]" "$work/checks.json" |
    while IFS=$'\t' read -r label plural query; do
      run "$label" "$base/api/v1/$plural/duplicates?$query"
    done
  echo
  echo "full scan, $(scan contacts)"
  echo "full scan, $(scan accounts)"
}
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""

# The backfill a database written before the keys existed gets at its next start (it
# empties the keys first, so it is last). BACKFILL=0 skips it.
if [ "${BACKFILL:-1}" = 1 ]; then
  python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM dup_keys")
c.execute("DELETE FROM settings WHERE key = 'dup_key_version'")
c.commit()
PY
  b0=$(date +%s.%N)
  "$BIN" migrate --database "$url" >/dev/null
  keys=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM dup_keys').fetchone()[0])" "$db")
  echo "backfill of the keys at start: $(python3 -c "import time; print(round(time.time() - $b0, 1))") s ($keys keys)"
fi
