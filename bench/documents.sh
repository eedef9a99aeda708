#!/usr/bin/env bash
# The documents benchmark: a 10-page invoice (LINES lines, default 105, with long names)
# as PDF from the real server, and making an invoice from a deal with those lines.
#
# Usage: bench/documents.sh
#   DURATION=N seconds per load run (default 10); SMOKE=1 for a seconds-long check.
# Prints one table: latency at concurrency 1 (p50, p95, p99) and throughput at 4.
# Figures are reports, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
lines=${LINES:-105}
if [ "${SMOKE:-0}" = 1 ]; then duration=2; lines=40; fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v pdfinfo >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null || true; }

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
url="sqlite://$work/bench.db"
"$bin" migrate --database "$url" >/dev/null
"$bin" user create --database "$url" --email admin@bench.local --name Admin --role administrator >/dev/null
token=$("$bin" token create --database "$url" --user admin@bench.local --name bench | tail -n 1)
"$bin" serve --database "$url" --listen "127.0.0.1:$port" >/dev/null &
pid=$!
for _ in $(seq 1 3000); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.01; done
api="Authorization: Bearer $token"
post() { curl -sf -X "$1" -H "$api" -H 'Content-Type: application/json' -d "$3" "$base$2"; }
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

post PUT /api/v1/document_settings '{"company": "Hamkor Bench MChJ", "details": "STIR 301 234 567\nToshkent, Amir Temur 1\nH/r 2020 8000 1234 5678 9001", "footer": "{company.name} · {document.number}"}' >/dev/null
acc=$(post POST /api/v1/accounts '{"name": "Oʻzbekiston Temir Yoʻllari AJ", "tax_id": "201234567"}' | id_of)
deal=$(post POST /api/v1/deals "{\"title\": \"Bench\", \"account_id\": \"$acc\"}" | id_of)
body=$(python3 - "$lines" <<'PY'
import json, sys
n = int(sys.argv[1])
names = ["Kabel VVG-ng 3×2.5 mm², mis, PVX izolyatsiyali, 100 m lik oʻram",
         "Автоматический выключатель ВА47-29 3P 25A, характеристика C, 4,5 кА",
         "Montaj ishlari: kabel tortish, ulash va sinovdan oʻtkazish (soatbay)"]
lines = [{"name": names[i % 3] + f" — {i + 1}", "quantity": str(1 + i % 40), "unit": "pcs",
          "unit_price": f"{12500 + 37 * i}.{i % 100:02d}", "discount": "5%" if i % 4 == 0 else "",
          "vat_rate": "12"} for i in range(n)]
print(json.dumps({"vat_included": False, "lines": lines}))
PY
)
post PUT "/api/v1/deals/$deal/lines" "$body" >/dev/null
inv=$(post POST "/api/v1/deals/$deal/documents" '{"kind": "invoice"}' | id_of)
curl -sf -H "$api" -o "$work/invoice.pdf" "$base/api/v1/documents/$inv/pdf"
pages=$(pdfinfo "$work/invoice.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}' || true)
[ -n "$pages" ] || pages=$(grep -c '/Type */Page[^s]' "$work/invoice.pdf" || echo "?")

# Making invoices: each POST makes a new numbered document with the deal's lines.
t0=$(date +%s%3N)
made=0
for _ in $(seq 1 20); do post POST "/api/v1/deals/$deal/documents" '{"kind": "invoice"}' >/dev/null; made=$((made + 1)); done
t1=$(date +%s%3N)

printf 'done = function(summary, latency, requests) io.write(string.format("P95 %%d\\n", latency:percentile(95))) end\n' > "$work/p95.lua"
ms() { awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.1f ms", us/1000; else printf "%d us", us }'; }
load() { wrk -t"$(( $1 < 2 ? 1 : 2 ))" -c"$1" -d"${duration}s" --latency -s "$work/p95.lua" -H "$2" "$3"; }
one=$(load 1 "$api" "$base/api/v1/documents/$inv/pdf")
many=$(load 4 "$api" "$base/api/v1/documents/$inv/pdf")
{
  echo "Hamkor documents benchmark — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), SQLite"
  echo "invoice: $lines lines, $pages pages, $(du -k "$work/invoice.pdf" | cut -f1) KiB; making an invoice from the deal: $(( (t1 - t0) / made )) ms each ($made made)"
  echo
  printf '| %-34s | %8s | %8s | %8s | %7s | %7s | %s |\n' "request (${duration}s per run)" "p50 c=1" "p95 c=1" "p99 c=1" "req/s 1" "req/s 4" "non-2xx"
  printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------" "----------" "----------" "----------" "---------" "---------" "---"
  non2xx=$(( $(echo "$one" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) + $(echo "$many" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) ))
  printf '| %-34s | %8s | %8s | %8s | %7s | %7s | %s |\n' "invoice PDF (GET …/pdf)" \
    "$(echo "$one" | awk '$1=="50%" {print $2}')" "$(ms "$(echo "$one" | awk '$1=="P95" {print $2}')")" \
    "$(echo "$one" | awk '$1=="99%" {print $2}')" "$(echo "$one" | awk '/Requests\/sec/ {printf "%.0f", $2}')" \
    "$(echo "$many" | awk '/Requests\/sec/ {printf "%.0f", $2}')" "$non2xx"
}
