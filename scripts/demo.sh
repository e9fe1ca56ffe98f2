#!/usr/bin/env bash
# The main job on demo data: generate a shop's purchase history and clickstream, then
# compute the six feature tables with `streamrec pipeline`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/streamrec"
demo="$root/demo"

if [ ! -f "$demo/data/events.csv" ]; then
  echo "== generating demo data in demo/data (20,000 users, 2,000 items, 500,000 events)"
  "$bin" generate --users 20000 --items 2000 --events 500000 --seed 42 --out "$demo/data"
fi

echo "== streamrec pipeline"
"$bin" pipeline --purchases "$demo/data/history.parquet" "$demo/data/purchases.csv" \
  --events "$demo/data/events.csv" --out "$demo/tables"

echo
for table in enriched_events sessions user_profiles user_item_matrix user_features item_features; do
  echo "== demo/tables/$table.csv"
  head -n 4 "$demo/tables/$table.csv"
  echo
done
