#!/usr/bin/env bash
# The reminder delivery benchmark: REMINDERS reminders (default 10,000) for the tasks of
# USERS salespeople (default 50), all due at the same moment, delivered by the
# scheduler's own function (`App::deliver_reminders`) until every one is sent — once
# with banners only (no mail configured), once also e-mailed through an SMTP server on
# 127.0.0.1 (a sink that accepts and discards; see crates/hamkor/examples/bench_reminders.rs).
#
# Usage: bench/reminders.sh [DATABASE_FILE]   (a database from `hamkor generate --tasks N`
#   with at least REMINDERS unfinished tasks; without one it generates it). SMOKE=1 for a
#   seconds-long check.
# Prints one table. Figures are reports, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
reminders=${REMINDERS:-10000}
users=${USERS:-50}
if [ "${SMOKE:-0}" = 1 ]; then reminders=1000; users=12; fi

cargo build --release --quiet -p hamkor --bin hamkor --example bench_reminders
target=${CARGO_TARGET_DIR:-target}
bin="$(cd "$target" && pwd)/release/hamkor"
bench="$(cd "$target" && pwd)/release/examples/bench_reminders"
work=$(mktemp -d /tmp/hamkor-bench.XXXXXX)
sink=""
cleanup() { [ -n "$sink" ] && kill "$sink" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export HAMKOR_CONFIG=/nonexistent HAMKOR_LOG=warn

db=${1:-}
if [ -z "$db" ]; then
  db="$work/bench.db"
  # Twice the tasks wanted: about two in three are unfinished.
  "$bin" generate --database "sqlite://$db" --contacts 2000 --interactions 0 --users "$users" \
    --tasks $((reminders * 2)) --seed 1 >&2
fi
url="sqlite://$db"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bench" sink "127.0.0.1:$port" >"$work/sink.log" &
sink=$!
for _ in $(seq 1 500); do grep -q "smtp sink on" "$work/sink.log" 2>/dev/null && break; sleep 0.01; done

{
  echo "Hamkor reminder delivery — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), SQLite, $reminders reminders due at one moment for $users users"
  echo
  printf '| %-40s | %9s | %9s | %11s | %9s | %7s | %7s | %7s |\n' "delivery" "reminders" "total" "reminders/s" "e-mailed" "retried" "unsent" "shown"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------" "-----------" "-----------" "-------------" "-----------" "---------" "---------" "---------"
  "$bench" deliver --database "$url" --reminders "$reminders"
  "$bench" deliver --database "$url" --reminders "$reminders" --smtp "127.0.0.1:$port"
  echo
  echo "the SMTP sink received: $(grep received "$work/sink.log" | tail -n 1 | awk '{print $2}') (counted per thousand)"
}
