#!/usr/bin/env bash
# The main job on demo data: the live engine. Generates a shop's purchase history and
# clickstream, starts `streamrec serve` on them (a first start, which bootstraps from
# everything before the clickstream's last tenth), prints where it listens and a few
# requests to try, then replays that last tenth over HTTP while printing one user's
# recommendations and the trending items as they change. After the replay the server
# keeps serving until Ctrl-C, which stops it cleanly (it writes a snapshot).
#
#   DEMO_DIR      where the data and the server's state go (default: demo/)
#   DEMO_PORT     port on 127.0.0.1 (default 8080)
#   DEMO_RATE     events per second replayed (default 200)
#   DEMO_EVENTS   clickstream size generated (default 500000; users and items scale)
#   DEMO_SECONDS  stop after this many seconds of replay instead of serving on
#   DEMO_EVERY    seconds between two looks at the recommendations (default 5)
#   STREAMREC_BIN the binary (default build/streamrec)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STREAMREC_BIN:-$root/build/streamrec}
demo=${DEMO_DIR:-$root/demo}
port=${DEMO_PORT:-8080}
rate=${DEMO_RATE:-200}
events=${DEMO_EVENTS:-500000}
url="http://127.0.0.1:$port"
data="$demo/data-$events"
split="$data/split"

if [ ! -f "$split/events-live.csv" ]; then
  users=$((events / 25)) items=$((events / 250))
  echo "== generating demo data in $data ($users users, $items items, $events events)"
  "$bin" generate --users "$users" --items "$items" --events "$events" --seed 42 --out "$data"
  # The clickstream is sorted by time: its last tenth is replayed live, the rest and the
  # purchases before the same moment are the server's history.
  mkdir -p "$split"
  total=$(($(wc -l <"$data/events.csv") - 1))
  cut_at=$((total - total / 10))
  head -n $((cut_at + 1)) "$data/events.csv" >"$split/events-bootstrap.csv"
  { head -n 1 "$data/events.csv" && tail -n +$((cut_at + 2)) "$data/events.csv"; } \
    >"$split/events-live.csv.tmp"
  live_from=$(sed -n 2p "$split/events-live.csv.tmp" | cut -d, -f4)
  awk -F, -v t="$live_from" 'NR == 1 || $4 < t' "$data/purchases.csv" \
    >"$split/purchases-bootstrap.csv"
  mv "$split/events-live.csv.tmp" "$split/events-live.csv"
fi

# A fresh state every run: the replayed events carry ids, and a server that had seen them
# would (rightly) ignore them as duplicates.
state="$demo/state"
rm -rf "$state"
server_pid='' replay_pid=''
stop() {
  if [ -n "$replay_pid" ]; then
    kill "$replay_pid" 2>/dev/null || true
    wait "$replay_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid='' replay_pid=''
}
trap stop EXIT
trap 'trap "" INT TERM; echo; echo "== stopping"; exit 0' INT TERM

echo "== streamrec serve: bootstrapping from the history (a first start)"
"$bin" serve --state "$state" --listen "127.0.0.1:$port" \
  --purchases "$data/history.parquet" "$split/purchases-bootstrap.csv" \
  --events "$split/events-bootstrap.csv" 2>"$demo/serve.log" &
server_pid=$!
until curl -sf "$url/readyz" >/dev/null 2>&1; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$demo/serve.log" >&2
    echo "demo: the server stopped before it was ready" >&2
    exit 1
  fi
  sleep 0.2
done

# The user with the most events in the replayed part, and an item of theirs.
read -r watched item < <(tail -n +2 "$split/events-live.csv" | cut -d, -f1,2 | tr , ' ' |
  awk '{n[$1]++; last[$1] = $2} END {for (u in n) if (n[u] > best) {best = n[u]; w = u}
       print w, last[w]}')
cat <<EOF

streamrec serve is listening on $url (state in $state, log in $demo/serve.log).
Try, in another terminal:
  curl -s '$url/v1/users/$watched/recommendations?k=5'
  curl -s '$url/v1/users/$watched'
  curl -s '$url/v1/items/$item/similar?k=5'
  curl -s '$url/v1/popular?k=5'
  curl -s -XPOST $url/v1/events -d '{"user_id": "$watched", "item_id": "$item", "event_type": "view"}'
  curl -s $url/metrics | grep ^streamrec_events

== replaying the last tenth of the clickstream at $rate events/s; watching user $watched
EOF

"$bin" replay "$split/events-live.csv" --url "$url" --rate "$rate" --batch 50 \
  2>"$demo/replay.log" &
replay_pid=$!

# One line per item: id, score, reason. Trending scores are decayed to the wall clock,
# which is years after the demo's events, so only their order is shown.
show() {
  curl -sf "$1" | python3 -c '
import json, sys
for rank, i in enumerate(json.load(sys.stdin)["items"], 1):
    score = "%8.4f" % i["score"] if i["reason"] != "trending" else "%8s" % ("#%d" % rank)
    print("    %8s  %s  %s" % (i["item_id"], score, i["reason"]))'
}
started=$SECONDS
while kill -0 "$replay_pid" 2>/dev/null; do
  accepted=$(curl -sf "$url/metrics" | awk '/^streamrec_events_accepted_total/ {print $2}')
  echo "-- after $((SECONDS - started)) s: $accepted events accepted live"
  echo "  user $watched, hybrid:"
  show "$url/v1/users/$watched/recommendations?k=5"
  echo "  trending:"
  show "$url/v1/popular?k=3"
  if [ -n "${DEMO_SECONDS:-}" ] && ((SECONDS - started >= DEMO_SECONDS)); then
    echo "== stopping after $DEMO_SECONDS s (DEMO_SECONDS)"
    exit 0
  fi
  sleep "${DEMO_EVERY:-5}"
done
wait "$replay_pid" || { cat "$demo/replay.log" >&2; exit 1; }
replay_pid=''
tail -n 1 "$demo/replay.log"
[ -n "${DEMO_SECONDS:-}" ] && exit 0
echo "== replay done; the server keeps serving on $url until Ctrl-C"
wait "$server_pid"
