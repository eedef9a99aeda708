#!/usr/bin/env bash
# Import benchmark: builds the release binary, writes a contacts CSV of ROWS rows shaped
# like an Outlook export (Latin and Cyrillic names, phones, e-mails, a company of 5,000,
# a job title, a birthday as DD.MM.YYYY), and imports it with `hamkor import contacts` into a
# fresh SQLite database (or DATABASE, an empty PostgreSQL database URL). Prints the rows a
# second of the whole command (upload, check, normalisation, duplicate keys, search index,
# accounts made on the way) and the process's peak memory.
# Usage: ROWS=1000000 bash bench/import.sh      (default 1,000,000; SMOKE=1 for 20,000;
#        BIN=path/to/hamkor to use a binary already built)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000000}
if [ "${SMOKE:-0}" = 1 ]; then rows=20000; fi
if [ -z "${BIN:-}" ]; then cargo build --release --quiet -p hamkor; fi
target=${CARGO_TARGET_DIR:-target}
bin=${BIN:-"$(cd "$target" && pwd)/release/hamkor"}
work=$(mktemp -d /tmp/hamkor-import-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export HAMKOR_CONFIG=/nonexistent HAMKOR_LOG=warn
python3 - "$rows" "$work/contacts.csv" <<'PY'
import random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
random.seed(7)
first = ["Aziz", "Dilnoza", "Иван", "Олег", "Malika", "Шерзод", "Anna", "Bobur", "Gulnora", "Сергей", "Jasur", "Nodira", "Ольга", "Farrux", "Zarina"]
last = ["Karimov", "Rashidova", "Иванов", "Ким", "Tursunova", "Алиев", "Petrova", "Yusupov", "Xolmatov", "Смирнов", "Nazarova", "Qodirov"]
with open(path, "w") as f:
    f.write("First Name,Last Name,Mobile Phone,E-mail Address,Company,Job Title,Birthday\n")
    for i in range(rows):
        f.write(f"{random.choice(first)},{random.choice(last)},+998 9{i % 10} {i // 10000 % 1000:03d} {i % 10000:04d},user{i}@example.uz,Company {i % 5000},Manager,{1 + i % 28:02d}.{1 + i % 12:02d}.19{50 + i % 50}\n")
PY
db=${DATABASE:-sqlite://$work/import.db}
"$bin" migrate --database "$db" >/dev/null
"$bin" user create --database "$db" --email bench@hamkor.local --name Bench --role administrator >/dev/null
size=$(du -m "$work/contacts.csv" | cut -f1)
start=$(date +%s%3N)
/usr/bin/time -f "%M" -o "$work/rss" "$bin" import contacts "$work/contacts.csv" --database "$db" 2>/dev/null | tee "$work/out"
end=$(date +%s%3N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", (b - a) / 1000}')
rss=$(awk '{printf "%.0f", $1 / 1024}' "$work/rss")
dbsize=""
if [ -z "${DATABASE:-}" ]; then dbsize=$(du -m "$work/import.db" | cut -f1); fi
printf '\n| rows | file | time | rows/s | peak RSS | database |\n|---|---|---|---|---|---|\n'
printf '| %s | %s MB | %s s | %s | %s MB | %s |\n' "$rows" "$size" "$secs" \
  "$(awk -v r="$rows" -v s="$secs" 'BEGIN {printf "%.0f", r / s}')" "$rss" "${dbsize:+$dbsize MB}"
