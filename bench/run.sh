#!/usr/bin/env bash
# `make bench`: the pipeline against the DuckDB reference on the same files in the same
# run, then the in-process hot paths. Figures go to stdout and bench/out/results.md.
#
#   BENCH_USERS, BENCH_ITEMS, BENCH_EVENTS   data size (default 500000, 50000, 10000000)
#   BENCH_SKIP_REFERENCE=1                   skip the reference (it needs node and npm)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/streamrec"
out="$root/bench/out"
users=${BENCH_USERS:-500000}
items=${BENCH_ITEMS:-50000}
events=${BENCH_EVENTS:-10000000}
data="$out/data-$users-$items-$events"
shared="$root/../shared"
mkdir -p "$out"

if [ ! -f "$data/events.csv" ]; then
  echo "== generate --users $users --items $items --events $events (CSV history, so the reference reads it)"
  "$bin" generate --users "$users" --items "$items" --events "$events" --seed 7 \
    --history-format csv --out "$data"
fi
ls -l "$data"

# measure NAME COMMAND...: wall seconds and peak resident memory via GNU time.
measure() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$out/$name.time" "$@" >"$out/$name.log" 2>&1 || {
    cat "$out/$name.log"
    echo "bench: $name failed" >&2
    exit 1
  }
  read -r secs kb <"$out/$name.time"
  printf '%-10s %8.2f s  %8.0f MiB peak\n' "$name" "$secs" "$(echo "$kb / 1024" | bc -l)"
}

echo "== pipeline (CSV in, CSV out, 2 threads)"
rm -rf "$out/tables-streamrec"
measure streamrec "$bin" pipeline --purchases "$data/history.csv" "$data/purchases.csv" \
  --events "$data/events.csv" --out "$out/tables-streamrec"
cat "$out/streamrec.log"

if [ "${BENCH_SKIP_REFERENCE:-0}" != 1 ] && [ -x "$shared/reference/run-reference.sh" ]; then
  echo "== reference (DuckDB SQL, 2 threads)"
  rm -rf "$out/tables-reference"
  measure reference "$shared/reference/run-reference.sh" "$data" "$out/tables-reference" 2
  echo "== tables compared with the reference"
  python3_bin=/usr/bin/python3
  "$python3_bin" "$shared/reference/compare-tables.py" "$out/tables-reference" "$out/tables-streamrec"
  read -r ours _ <"$out/streamrec.time"
  read -r theirs _ <"$out/reference.time"
  read -r _ ours_kb <"$out/streamrec.time"
  read -r _ theirs_kb <"$out/reference.time"
  printf 'speed-up %.1fx, memory %.1f%% of the reference\n' "$(echo "$theirs / $ours" | bc -l)" \
    "$(echo "100 * $ours_kb / $theirs_kb" | bc -l)"
fi

echo "== in-process hot paths (one core, or two where the name says threads:2)"
STREAMREC_BENCH_DATA="$data" "$root/build/streamrec_bench" --benchmark_counters_tabular=true

echo "== batch models: ALS seconds per iteration at 64 factors (s/iter; arg 0: all cores, 1: one), top-k (arg k), fold-in, item-kNN"
STREAMREC_BENCH_DATA="$data" "$root/build/als_bench" --benchmark_counters_tabular=true
