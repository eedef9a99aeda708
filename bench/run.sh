#!/usr/bin/env bash
# Hamkor's benchmark harness: builds the release binary, then measures on this machine
#   1. start to ready on an empty SQLite database,
#   2. server memory (RSS) at rest,
#   3. generating N contacts (`hamkor generate`),
#   4. GET /api/v1/contacts/{id} at concurrency 16 with wrk (random ids), and a list page,
#   5. RSS after the load.
# Usage: bench/run.sh [CONTACTS]   (default 100000; SMOKE=1 for a seconds-long run)
# Prints one table. Figures are reports, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
contacts=${1:-100000}
duration=${DURATION:-15}
if [ "${SMOKE:-0}" = 1 ]; then contacts=2000; duration=3; fi
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

now_ms() { date +%s%3N; }
wait_ready() { for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && return 0; sleep 0.005; done; return 1; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# 1-2: an empty database.
t0=$(now_ms)
"$bin" serve --database "sqlite://$work/empty.db" --listen "127.0.0.1:$port" >/dev/null &
pid=$!
wait_ready
t1=$(now_ms)
sleep 2
rss_empty=$(rss_mb "$pid")
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

# 3: generate.
g0=$(now_ms)
"$bin" generate --database "sqlite://$work/bench.db" --contacts "$contacts" --seed 1 >/dev/null 2>&1
g1=$(now_ms)
size_mb=$(du -m "$work/bench.db" | cut -f1)
token=$("$bin" token create --database "sqlite://$work/bench.db" --user generator@hamkor.local --name bench | tail -n 1)

# 4: load.
"$bin" serve --database "sqlite://$work/bench.db" --listen "127.0.0.1:$port" >/dev/null &
pid=$!
wait_ready
sleep 1
rss_rest=$(rss_mb "$pid")
python3 - "$base" "$token" "$work/ids.lua" <<'PY'
import json, sys, urllib.request
base, token, out = sys.argv[1:4]
ids, cursor = [], None
while len(ids) < 2000:
    url = f"{base}/api/v1/contacts?limit=500&sort=-created_at" + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(req))
    ids += [i["id"] for i in page["items"]]
    cursor = page["next_cursor"]
    if not cursor:
        break
with open(out, "w") as f:
    f.write("ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n")
    f.write('request = function() return wrk.format("GET", "/api/v1/contacts/" .. ids[math.random(#ids)]) end\n')
PY
run_wrk() { # label, extra args...
  local label=$1; shift
  local out
  out=$(wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$@")
  local rps p50 p90 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p90=$(echo "$out" | awk '$1=="90%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '| %-44s | %10s | %8s | %8s | %8s | %6s |\n' "$label" "$rps" "$p50" "$p90" "$p99" "${errors:-0}"
}
rss_after=""
{
  echo "Hamkor benchmark — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), SQLite, $contacts contacts"
  echo
  printf '| %-44s | %10s |\n' "measure" "value"
  printf '|%s|%s|\n' "----------------------------------------------" "------------"
  printf '| %-44s | %7s ms |\n' "start to ready, empty database" "$((t1 - t0))"
  printf '| %-44s | %7s MB |\n' "RSS at rest, empty database" "$rss_empty"
  printf '| %-44s | %7s ms |\n' "generate $contacts contacts" "$((g1 - g0))"
  printf '| %-44s | %7s MB |\n' "database size" "$size_mb"
  printf '| %-44s | %7s MB |\n' "RSS at rest, loaded database" "$rss_rest"
  echo
  printf '| %-44s | %10s | %8s | %8s | %8s | %6s |\n' "request (concurrency 16, ${duration}s)" "req/s" "p50" "p90" "p99" "non2xx"
  printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "------------" "----------" "----------" "----------" "--------"
  run_wrk "GET /api/v1/contacts/{id}" -s "$work/ids.lua" "$base"
  run_wrk "GET /api/v1/contacts?limit=50&sort=last_name" "$base/api/v1/contacts?limit=50&sort=last_name"
  run_wrk "GET /api/v1/search?q=karimov (common name)" "$base/api/v1/search?q=karimov"
  run_wrk "GET /api/v1/search?q=300012345 (one tax id)" "$base/api/v1/search?q=300012345"
  run_wrk "GET /api/v1/contacts?q=aziz%20karimov" "$base/api/v1/contacts?q=aziz%20karimov"
  echo
  printf '| %-44s | %7s MB |\n' "RSS after the load" "$(rss_mb "$pid")"
}
