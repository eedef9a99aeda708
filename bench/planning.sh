#!/usr/bin/env bash
# The tasks-and-calendar benchmark: the "my day" page of a user with 10,000 unfinished
# tasks and the month calendar with 2,000 meetings, as HTML pages and through the API,
# against the real server on a generated SQLite database.
#
# Usage: bench/planning.sh [DATABASE_FILE]
#   Without a file it generates one: USERS salespeople (default 50) with TASKS tasks and
#   EVENTS meetings (default 100000 / 20000) over CONTACTS contacts (default 20000), and
#   the busy user BUSY (default toshkent.2@hamkor.local) gets 10,000 unfinished tasks and
#   2,000 meetings this month. Dates are placed around the day of generation: reuse a
#   file within the month it was made in.
#   DURATION=N seconds per load run (default 10); SMOKE=1 for a seconds-long check.
# Prints one table: latency at concurrency 1 (p50, p95, p99) and throughput at 16.
# Figures are reports, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
users=${USERS:-50}
tasks=${TASKS:-100000}
events=${EVENTS:-20000}
contacts=${CONTACTS:-20000}
busy=${BUSY:-toshkent.2@hamkor.local}
busy_tasks=10000
busy_events=2000
if [ "${SMOKE:-0}" = 1 ]; then
  users=12; tasks=3000; events=600; contacts=1000; busy_tasks=500; busy_events=100; duration=2
fi
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
generated=""
if [ -z "$db" ]; then
  db="$work/bench.db"
  g0=$(date +%s%3N)
  "$bin" generate --database "sqlite://$db" --contacts "$contacts" --users "$users" \
    --tasks "$tasks" --events "$events" --busy-user "$busy" \
    --busy-tasks "$busy_tasks" --busy-events "$busy_events" --seed 1 >"$work/generate.txt"
  g1=$(date +%s%3N)
  cat "$work/generate.txt" >&2
  generated="generated in $(( (g1 - g0) / 1000 )).$(( (g1 - g0) % 1000 / 100 )) s: $users salespeople, $tasks tasks, $events meetings, $contacts contacts; $busy: $busy_tasks unfinished tasks, $busy_events meetings this month"
fi
url="sqlite://$db"
token=$("$bin" token create --database "$url" --user "$busy" --name bench | tail -n 1)
password="bench-$(date +%s)-password"
echo "$password" | "$bin" user set-password --database "$url" "$busy" >/dev/null

"$bin" serve --database "$url" --listen "127.0.0.1:$port" >/dev/null &
pid=$!
for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.01; done

# A session for the web pages.
curl -s -c "$work/jar" "$base/login" >/dev/null
curl -s -b "$work/jar" -c "$work/jar" -o /dev/null -H "Origin: $base" \
  --data-urlencode "email=$busy" --data-urlencode "password=$password" "$base/login"
cookie="hamkor_session=$(awk '$6=="hamkor_session" {print $7}' "$work/jar")"
api="Authorization: Bearer $token"
ui="Cookie: $cookie"

# This month in the busy user's zone (Asia/Tashkent unless changed).
today=$(TZ=Asia/Tashkent date +%F)
first="${today:0:8}01"
last=$(TZ=Asia/Tashkent date -d "$first +1 month -1 day" +%F)
my_day_page="$base/my-day"
my_day_api="$base/api/v1/my_day"
month_page="$base/calendar?view=month&date=$today"
month_api="$base/api/v1/calendar?from=$first&to=$last"

# What the busy user sees, to show the sizes are the ones intended.
shape=$(curl -sf -H "$api" "$my_day_api" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(", ".join("%s %d" % (k, v["count"] if isinstance(v, dict) else len(v)) for k, v in d.items()))' || echo "?")
meetings=$(curl -sf -H "$api" "$month_api" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%d meetings, %d conflicting pairs" % (len(d["entries"]), len(d["conflicts"])))' || echo "?")
size() { curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "$2" "$1"; }

printf 'done = function(summary, latency, requests) io.write(string.format("P95 %%d\\n", latency:percentile(95))) end\n' > "$work/p95.lua"
ms() { awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.1f ms", us/1000; else printf "%d us", us }'; }
load() { # concurrency, header, url -> wrk output
  wrk -t"$(( $1 < 2 ? 1 : 2 ))" -c"$1" -d"${duration}s" --latency -s "$work/p95.lua" -H "$2" "$3"
}
run() { # label, header, url
  local label=$1 auth=$2 target=$3 one many
  one=$(load 1 "$auth" "$target")
  many=$(load 16 "$auth" "$target")
  local p50 p95 p99 rps1 rps16 p99_16 non2xx
  p50=$(echo "$one" | awk '$1=="50%" {print $2}')
  p95=$(ms "$(echo "$one" | awk '$1=="P95" {print $2}')")
  p99=$(echo "$one" | awk '$1=="99%" {print $2}')
  rps1=$(echo "$one" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  rps16=$(echo "$many" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  p99_16=$(echo "$many" | awk '$1=="99%" {print $2}')
  non2xx=$(( $(echo "$one" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) + $(echo "$many" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) ))
  printf '| %-36s | %8s | %8s | %8s | %7s | %7s | %8s | %s |\n' "$label" "$p50" "$p95" "$p99" "$rps1" "$rps16" "$p99_16" "$non2xx"
}
{
  echo "Hamkor tasks and calendar benchmark — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), SQLite, database $(du -h "$db" | cut -f1)"
  [ -n "$generated" ] && echo "$generated"
  echo "busy user $busy: my day: $shape; calendar $first..$last: $meetings"
  echo "response sizes (status bytes): my-day $(size "$my_day_page" "$ui"), my_day API $(size "$my_day_api" "$api"), month page $(size "$month_page" "$ui"), calendar API $(size "$month_api" "$api")"
  echo
  printf '| %-36s | %8s | %8s | %8s | %7s | %7s | %8s | %s |\n' "request (${duration}s per run)" "p50 c=1" "p95 c=1" "p99 c=1" "req/s 1" "req/s 16" "p99 c=16" "non-2xx"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "--------------------------------------" "----------" "----------" "----------" "---------" "---------" "----------" "---"
  run "my day, HTML (GET /my-day)" "$ui" "$my_day_page"
  run "my day, API (GET /api/v1/my_day)" "$api" "$my_day_api"
  run "month calendar, HTML" "$ui" "$month_page"
  run "month calendar, API" "$api" "$month_api"
}
