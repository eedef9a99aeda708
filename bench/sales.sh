#!/usr/bin/env bash
# The sales benchmark: the funnel of a pipeline for one year and its kanban board (the
# first 50 cards of each column, with counts and sums), through the API of the real
# server, on a generated database of 500,000 deals whose first pipeline holds about
# 100,000 open ones.
#
# Usage: bench/sales.sh [DATABASE]
#   Without a database it generates a SQLite file: DEALS deals (default 500000) over
#   USERS salespeople (default 50) and CONTACTS contacts (default 20000, a fifth as many
#   accounts, no interactions). DATABASE is a SQLite file or a database URL
#   (sqlite://…, postgres://…) already generated with
#     hamkor generate --database URL --contacts 20000 --interactions 0 --users 50 --deals 500000
#   or, with GENERATE=1, an empty database to generate into (PostgreSQL: create it first).
#   DURATION=N seconds per load run (default 10); SMOKE=1 for a seconds-long check.
# Prints one table: latency at concurrency 1 (p50, p95, p99, req/s) and throughput at 16,
# as the administrator (every deal), the head of a team and one salesperson.
# Figures are reports, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
deals=${DEALS:-500000}
users=${USERS:-50}
contacts=${CONTACTS:-20000}
if [ "${SMOKE:-0}" = 1 ]; then
  deals=5000; users=12; contacts=1000; duration=2
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
generate=${GENERATE:-0}
if [ -z "$db" ]; then
  db="sqlite://$work/bench.db"
  generate=1
fi
case "$db" in
  sqlite://* | postgres://* | postgresql://*) url=$db ;;
  *) url="sqlite://$db" ;;
esac
engine=SQLite
case "$url" in postgres*) engine=PostgreSQL ;; esac
generated=""
if [ "$generate" = 1 ]; then
  g0=$(date +%s%3N)
  "$bin" generate --database "$url" --contacts "$contacts" --interactions 0 --users "$users" \
    --deals "$deals" --seed 1 >"$work/generate.txt"
  g1=$(date +%s%3N)
  cat "$work/generate.txt" >&2
  # PostgreSQL answers from its indexes alone only for pages VACUUM has marked visible.
  if [ "$engine" = PostgreSQL ] && command -v psql >/dev/null; then psql -q "$url" -c 'VACUUM ANALYZE deals' -c 'VACUUM ANALYZE deal_stages'; fi
  generated="generated in $(( (g1 - g0) / 1000 )).$(( (g1 - g0) % 1000 / 100 )) s: $deals deals, $users salespeople, $contacts contacts; $(grep -o '[0-9]* stage history rows' "$work/generate.txt" || true)"
fi
admin=generator@hamkor.local
head=toshkent.1@hamkor.local
rep=toshkent.2@hamkor.local
token() { "$bin" token create --database "$url" --user "$1" --name bench | tail -n 1; }
t_admin=$(token "$admin")
t_head=$(token "$head")
t_rep=$(token "$rep")

"$bin" serve --database "$url" --listen "127.0.0.1:$port" >/dev/null 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.01; done

# The first pipeline (Sales), and a year of the caller's zone (Asia/Tashkent) ending today.
pipeline=$(curl -sf -H "Authorization: Bearer $t_admin" "$base/api/v1/pipelines" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
to=$(TZ=Asia/Tashkent date +%F)
from=$(TZ=Asia/Tashkent date -d "$to -1 year +1 day" +%F)
funnel="$base/api/v1/deals/funnel?pipeline=$pipeline&from=$from&to=$to"
board="$base/api/v1/deals/board?pipeline=$pipeline"

# What each of them sees, to show the sizes are the ones intended.
shape() { # token -> "board N open (per column), N cards; funnel: entered per stage, won N, lost N"
  curl -sf -H "Authorization: Bearer $1" "$board" >"$work/board.json"
  curl -sf -H "Authorization: Bearer $1" "$funnel" >"$work/funnel.json"
  python3 - "$work/board.json" "$work/funnel.json" <<'PY'
import json, sys
b, f = (json.load(open(p)) for p in sys.argv[1:3])
cols = [c["count"] for c in b["columns"]]
print("board %d open (%s), %d cards; funnel: %s entered, won %d, lost %d" % (sum(cols),
  " / ".join(map(str, cols)), sum(len(c["deals"]) for c in b["columns"]),
  " / ".join(str(s["entered"]) for s in f["stages"]), f["won"], f["lost"]))
PY
}
size() { curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "Authorization: Bearer $2" "$1"; }

printf 'done = function(summary, latency, requests) io.write(string.format("P95 %%d\\n", latency:percentile(95))) end\n' > "$work/p95.lua"
ms() { awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.1f ms", us/1000; else printf "%d us", us }'; }
load() { # concurrency, token, url -> wrk output
  wrk -t"$(( $1 < 2 ? 1 : 2 ))" -c"$1" -d"${duration}s" --timeout 30s --latency -s "$work/p95.lua" \
    -H "Authorization: Bearer $2" "$3"
}
run() { # label, token, url
  local label=$1 tok=$2 target=$3 one many
  one=$(load 1 "$tok" "$target")
  many=$(load 16 "$tok" "$target")
  local p50 p95 p99 rps1 rps16 p99_16 non2xx
  p50=$(echo "$one" | awk '$1=="50%" {print $2}')
  p95=$(ms "$(echo "$one" | awk '$1=="P95" {print $2}')")
  p99=$(echo "$one" | awk '$1=="99%" {print $2}')
  rps1=$(echo "$one" | awk '/Requests\/sec/ {printf "%.1f", $2}')
  rps16=$(echo "$many" | awk '/Requests\/sec/ {printf "%.1f", $2}')
  p99_16=$(echo "$many" | awk '$1=="99%" {print $2}')
  non2xx=$(( $(echo "$one" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) + $(echo "$many" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) ))
  printf '| %-30s | %8s | %8s | %8s | %7s | %8s | %8s | %s |\n' "$label" "$p50" "$p95" "$p99" "$rps1" "$rps16" "$p99_16" "$non2xx"
}
{
  size_db=""
  case "$url" in sqlite://*) size_db=", database $(du -h "${url#sqlite://}" | cut -f1)" ;; esac
  echo "Hamkor sales benchmark — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $engine$size_db"
  [ -n "$generated" ] && echo "$generated"
  echo "pipeline $pipeline, funnel $from..$to"
  echo "administrator: $(shape "$t_admin")"
  echo "head $head: $(shape "$t_head")"
  echo "salesperson $rep: $(shape "$t_rep")"
  echo "response sizes (status bytes): funnel $(size "$funnel" "$t_admin"), board $(size "$board" "$t_admin")"
  echo
  printf '| %-30s | %8s | %8s | %8s | %7s | %8s | %8s | %s |\n' "request (${duration}s per run)" "p50 c=1" "p95 c=1" "p99 c=1" "req/s 1" "req/s 16" "p99 c=16" "non-2xx"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "--------------------------------" "----------" "----------" "----------" "---------" "----------" "----------" "---"
  run "funnel, a year, administrator" "$t_admin" "$funnel"
  run "funnel, a year, head" "$t_head" "$funnel"
  run "funnel, a year, salesperson" "$t_rep" "$funnel"
  run "board, administrator" "$t_admin" "$board"
  run "board, head" "$t_head" "$board"
  run "board, salesperson" "$t_rep" "$board"
}
