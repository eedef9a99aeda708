#!/usr/bin/env bash
# The client-base benchmark: search of every kind, the account page with a 10,000-item
# timeline, filtered and sorted list pages, the contact card — against the real server on
# a generated SQLite database.
#
# Usage: bench/client_base.sh [DATABASE_FILE]
#   Without a file it generates one (CONTACTS, ACCOUNTS, INTERACTIONS; default
#   100000 / 20000 / 500000; the issue's size is 1000000 / 200000 / 5000000).
#   DURATION=N seconds per load run (default 10); CONCURRENCY=N clients (default 16; 1
#   gives the latency one user sees); SMOKE=1 for a seconds-long check.
# Prints one table (req/s, p50, p95, p99). Figures are reports.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
conc=${CONCURRENCY:-16}
contacts=${CONTACTS:-100000}
accounts=${ACCOUNTS:-20000}
interactions=${INTERACTIONS:-500000}
if [ "${SMOKE:-0}" = 1 ]; then contacts=3000; accounts=600; interactions=25000; duration=2; fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release --quiet
target=${CARGO_TARGET_DIR:-target}
bin="$(cd "$target" && pwd)/release/hamkor"
work=$(mktemp -d /tmp/hamkor-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export HAMKOR_CONFIG=/nonexistent HAMKOR_LOG=warn

db=${1:-}
if [ -z "$db" ]; then
  db="$work/bench.db"
  g0=$(date +%s)
  "$bin" generate --database "sqlite://$db" --contacts "$contacts" --accounts "$accounts" \
    --interactions "$interactions" --seed 1 | tail -n 2 >&2
  echo "generated in $(( $(date +%s) - g0 )) s" >&2
fi
url="sqlite://$db"
token=$("$bin" token create --database "$url" --user generator@hamkor.local --name bench | tail -n 1)
password="bench-$(date +%s)-password"
echo "$password" | "$bin" user set-password --database "$url" generator@hamkor.local >/dev/null

"$bin" serve --database "$url" --listen "127.0.0.1:$port" >/dev/null &
pid=$!
for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.01; done
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
rss_rest=$(rss)

# A session for the web pages.
curl -s -c "$work/jar" "$base/login" >/dev/null
curl -s -b "$work/jar" -c "$work/jar" -o /dev/null -H "Origin: $base" \
  --data-urlencode "email=generator@hamkor.local" --data-urlencode "password=$password" "$base/login"
cookie="hamkor_session=$(awk '$6=="hamkor_session" {print $7}' "$work/jar")"

# Real values to search for, and the ids the card and the page benchmarks use.
python3 - "$base" "$token" "$work" <<'PY'
import json, sys, urllib.request, urllib.parse
base, token, work = sys.argv[1:4]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req))
ids, cursor = [], None
while len(ids) < 2000:
    page = get("/api/v1/contacts?limit=500&sort=-created_at" + (f"&cursor={cursor}" if cursor else ""))
    ids += [i["id"] for i in page["items"]]
    cursor = page["next_cursor"]
    if not cursor:
        break
c = get("/api/v1/contacts?limit=1&sort=-created_at")["items"][0]
e164 = c["phones"][0]["e164"]            # +998901234567
national = e164[4:]                       # 901234567
spaced = f"+998 {national[:2]} {national[2:5]}-{national[5:7]}-{national[7:]}"
busiest = get("/api/v1/accounts?limit=1&sort=created_at")["items"][0]
owner = busiest["owner_id"]
values = {
    "phone_spaced": spaced, "phone_national": national, "phone_full": e164[1:],
    "email": c["emails"][0]["address"], "tax_id": get("/api/v1/accounts?limit=1&sort=-created_at")["items"][0]["tax_id"],
    "busiest": busiest["id"], "owner": owner,
}
json.dump(values, open(f"{work}/values.json", "w"))
with open(f"{work}/card.lua", "w") as f:
    f.write("ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n")
    f.write('request = function() return wrk.format("GET", "/api/v1/contacts/" .. ids[math.random(#ids)]) end\n')
PY
val() { python3 -c "import json,sys; print(json.load(open('$work/values.json'))['$1'])"; }
enc() { python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))" "$1"; }
busiest=$(val busiest)
owner=$(val owner)
cat >> "$work/card.lua" <<'LUA'
done = function(summary, latency, requests) io.write(string.format("P95 %d\n", latency:percentile(95))) end
LUA
printf 'done = function(summary, latency, requests) io.write(string.format("P95 %%d\\n", latency:percentile(95))) end\n' > "$work/p95.lua"

ms() { awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.1f ms", us/1000; else printf "%d us", us }'; }
run() { # label, auth header, url-or-script
  local label=$1 auth=$2 target=$3 script="$work/p95.lua" out
  if [[ "$target" == *.lua ]]; then script=$target; target=$base; fi
  out=$(wrk -t"$(( conc < 2 ? 1 : 2 ))" -c"$conc" -d"${duration}s" --latency -s "$script" -H "$auth" "$target")
  local rps p50 p99 p95 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  p95=$(ms "$(echo "$out" | awk '$1=="P95" {print $2}')")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '| %-58s | %7s | %8s | %8s | %8s | %s |\n' "$label" "$rps" "$p50" "$p95" "$p99" "${non2xx:-0}"
}
api="Authorization: Bearer $token"
ui="Cookie: $cookie"
{
  echo "Hamkor client-base benchmark — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), SQLite"
  echo "database: $(du -h "$db" | cut -f1) (sizes as generated: see the generate line above, or the file's origin)"
  echo
  printf '| %-58s | %7s | %8s | %8s | %8s | %s |\n' "request (concurrency $conc, ${duration}s each)" "req/s" "p50" "p95" "p99" "non-2xx"
  printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------------------------" "---------" "----------" "----------" "----------" "---"
  run "contact card GET /api/v1/contacts/{id}" "$api" "$work/card.lua"
  for q in "karimov" "Иванов" "g'ulomov" "Ғуломов" "$(val phone_spaced)" "$(val phone_national)" "$(val phone_full)" "$(val email)" "$(val tax_id)" "chegirma" "отсрочку"; do
    run "search $q" "$api" "$base/api/v1/search?q=$(enc "$q")"
  done
  run "account page, 10,000-item timeline (HTML)" "$ui" "$base/accounts/$busiest"
  run "account timeline API, first page" "$api" "$base/api/v1/accounts/$busiest/timeline"
  run "accounts kind=client sorted by name" "$api" "$base/api/v1/accounts?kind=client&sort=name"
  run "contacts of one owner sorted by last name" "$api" "$base/api/v1/contacts?owner_id=$owner&sort=last_name"
  run "interactions kind=call newest first" "$api" "$base/api/v1/interactions?kind=call&sort=-occurred_at"
  run "contacts page in the web UI (HTML)" "$ui" "$base/contacts"
  echo
  echo "RSS: $rss_rest MB at rest, $(rss) MB after the load"
}
