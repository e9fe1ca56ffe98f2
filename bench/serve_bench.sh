#!/usr/bin/env bash
# The live engine over HTTP: ingest throughput (a fresh server, the 2M-event data set);
# then on the 10M-event state of bench/run.sh's data (500k users, 50k items): restart
# time, recommendation latency while events are ingested, read-your-writes delay, ALS
# retraining and latency with ALS in the blend, and latency beside a bulk load. Figures
# go to stdout.
#
#   SERVE_USERS, SERVE_ITEMS, SERVE_EVENTS   replayed data (default 100000, 10000, 2000000)
#   RESTART_DATA                             the 10M data set of bench/run.sh (its folder)
#   SERVE_SKIP_RESTART=1                     skip the restart measurement (latency then
#                                            on the state of the ingest runs)
#   SERVE_SKIP_INGEST=1                      skip the ingest runs
#   STREAMREC_BIN                            the binary to measure (default build/streamrec),
#                                            so that two builds can be run in turn
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STREAMREC_BIN:-$root/build/streamrec}
out="$root/bench/out"
users=${SERVE_USERS:-100000}
items=${SERVE_ITEMS:-10000}
events=${SERVE_EVENTS:-2000000}
data="$out/data-$users-$items-$events"
port=${SERVE_PORT:-18080}
url="http://127.0.0.1:$port"
mkdir -p "$out"

if [ ! -f "$data/events.csv" ]; then
  "$bin" generate --users "$users" --items "$items" --events "$events" --seed 7 \
    --history-format csv --out "$data" >/dev/null
fi

server_pid=
start_server() {  # start_server STATE [ARGS...]
  local state=$1
  shift
  "$bin" serve --state "$state" --listen "127.0.0.1:$port" "$@" 2>"$out/serve.log" &
  server_pid=$!
  for _ in $(seq 1 600); do
    if curl -sf "$url/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  cat "$out/serve.log"
  echo "serve did not become ready" >&2
  exit 1
}
stop_server() {
  if [ -z "$server_pid" ]; then return 0; fi
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=
}
busy_pid=
trap '[ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
      [ -n "$busy_pid" ] && kill "$busy_pid" 2>/dev/null || true' EXIT

# Each connection has one request in flight, so 4 connections leave the writer idle
# while their four requests travel; 16 keep it busy, as many shop front-ends would.
# The last run's state stays for the measurements below.
for connections in 4 16; do
  if [ "${SERVE_SKIP_INGEST:-0}" = 1 ]; then break; fi
  echo "== ingest over HTTP: replay $events events, NDJSON batches of 1000, $connections connections, fsync batch"
  [ -n "$server_pid" ] && stop_server
  rm -rf "$out/serve-state"
  start_server "$out/serve-state"
  "$bin" replay "$data/events.csv" --url "$url" --batch 1000 --connections "$connections" 2>&1 | tail -3
done

# latency_tests USERS REPLAY_FILE [MAPPING]: on the running server, GET recommendations
# under wrk while REPLAY_FILE is ingested at 20k events/s, read-your-writes, and ALS.
latency_tests() {
  local users=$1 replay_file=$2
  shift 2
  # A server that starts without a model file trains ALS on its state at once (24 s on
  # the 10M state, one core): the steady state is measured after that first training.
  local waited=0
  until curl -sf "$url/metrics" | grep -Eq '^streamrec_batch_model_trainings_total\{[^}]*\} [1-9]'; do
    sleep 1
    waited=$((waited + 1))
    [ $waited -lt 300 ] || { echo "no ALS model after 300 s" >&2; exit 1; }
  done
  echo "(the first ALS training on the state finished $waited s after the server was ready)"
  cat >"$out/users.lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/users/" .. math.random(0, $users - 1) .. "/recommendations?k=10")
end
LUA
  "$bin" replay "$replay_file" --url "$url" --batch 200 --rate 20000 "$@" >/dev/null 2>&1 &
  replay_pid=$!
  sleep 2
  # The target's rate, open loop: 5,000 requests/s on a schedule, the latency counted
  # from when a request was due (bench/paced.lua), so that a stall counts against every
  # request it held back, not only the one it caught. First, while the replay is on its
  # schedule (the saturating runs below can put it behind). A crowd of clients: one wrk
  # thread, 32 connections, a request sent on whichever is free. Three runs: the host's
  # stalls (docs/PERFORMANCE.md, *What the tail is made of*) move one run's tail by a
  # factor of several. Then once as 8 clients that each send one request after another
  # (a thread and a connection each), where an answer held up holds up that client's
  # next requests too: the figure of earlier runs.
  echo "== GET recommendations at 5000 requests/s (wrk, paced, 1 thread, 32 connections, 3 x 10 s) while ingesting 20000 events/s"
  for _ in 1 2 3; do
    wrk -t1 -c32 -d10s --latency -s "$root/bench/paced.lua" "$url" -- 5000 1 "$users" |
      grep -E '^ +(50|90|99)%|^paced' | sed 's/^ \+/  from the send /'
  done
  # The margin: the same while a busy loop competes for the cores, as another process on
  # the machine (or a slow spell of the host) would.
  echo "== the same with a busy loop beside (a shell loop that never sleeps, 10 s)"
  (while :; do :; done) &
  busy_pid=$!
  wrk -t1 -c32 -d10s -s "$root/bench/paced.lua" "$url" -- 5000 1 "$users" | grep '^paced'
  kill "$busy_pid"
  wait "$busy_pid" 2>/dev/null || true
  busy_pid=
  echo "== the same as 8 clients, each with one request at a time (wrk, paced, 8 threads, 8 connections, 10 s)"
  wrk -t8 -c8 -d10s --latency -s "$root/bench/paced.lua" "$url" -- 5000 8 "$users" |
    grep -E '^ +(50|90|99)%|^paced' | sed 's/^ \+/  from the send /'
  # Then saturation, closed loop: wrk keeps every connection busy, and its threads
  # share the 2 cores with the server and the replay: with 2 threads and 8 connections
  # requests queue behind each other and behind wrk itself; 4 connections, or one wrk
  # thread, show the latency at a similar rate.
  local setting threads connections
  for setting in "2 4" "2 8" "1 8"; do
    read -r threads connections <<<"$setting"
    echo "== GET recommendations (wrk, $threads threads, $connections connections, 10 s) while ingesting 20000 events/s"
    wrk -t"$threads" -c"$connections" -d10s --latency -s "$out/users.lua" "$url" | sed -n '1,20p'
  done
  kill "$replay_pid" 2>/dev/null || true
  wait "$replay_pid" 2>/dev/null || true

  echo "== read-your-writes: POST one event, then GET the user's recommendations"
  python3 - "$url" <<'PY'
import http.client, json, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
delays = []
for n in range(200):
    user = f"ryw-{n}"
    body = json.dumps({"user_id": user, "item_id": str(n % 500), "event_type": "view"})
    t0 = time.perf_counter()
    c.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    c.request("GET", f"/v1/users/{user}")
    r = c.getresponse(); view = json.loads(r.read())
    t1 = time.perf_counter()
    assert any(i["item_id"] == str(n % 500) for i in view["recent_items"]), view
    delays.append((t1 - t0) * 1000)
delays.sort()
print(f"event visible after: p50 {delays[100]:.2f} ms, p99 {delays[197]:.2f} ms, max {delays[-1]:.2f} ms")
PY

  echo "== ALS: POST /v1/admin/retrain, then GET recommendations (wrk, 8 connections, 10 s)"
  curl -sf -XPOST "$url/v1/admin/retrain?model=als"
  echo
  for model in als hybrid; do
    cat >"$out/users-$model.lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/users/" .. math.random(0, $users - 1) .. "/recommendations?k=10&model=$model")
end
LUA
    echo "-- model=$model (hybrid: ALS in the blend)"
    wrk -t2 -c8 -d10s --latency -s "$out/users-$model.lua" "$url" | sed -n '1,20p'
  done

  # A bulk load beside the answers: requests of 50,000 events (4.7 MB each), one a
  # second, while GETs come at 1,000/s. The events are two weeks on and read from yet
  # another spelling of the path, so they are new and on time (sessions, pairs), not
  # duplicates or late.
  echo "== GET recommendations at 1000 requests/s (wrk, paced, 4 connections, 3 x 10 s) while loading requests of 50000 events at 50000 events/s"
  "$bin" replay "$(dirname "$replay_file")/././$(basename "$replay_file")" --url "$url" \
    --batch 50000 --rate 50000 --mapping "$out/two-weeks-later.toml" >/dev/null 2>&1 &
  replay_pid=$!
  sleep 2
  for _ in 1 2 3; do
    wrk -t4 -c4 -d10s -s "$root/bench/paced.lua" "$url" -- 1000 4 "$users" | grep '^paced'
  done
  kill "$replay_pid" 2>/dev/null || true
  wait "$replay_pid" 2>/dev/null || true
}

# The clickstream again, a week later: after the state's watermark, so its events are on
# time (sessions, pairs) rather than late; read from another spelling of the path, so their
# event ids are new.
cat >"$out/week-later.toml" <<'TOML'
[events.constants]
timestamp_offset_ms = "604800000"
TOML
cat >"$out/two-weeks-later.toml" <<'TOML'
[events.constants]
timestamp_offset_ms = "1209600000"
TOML

restart="${RESTART_DATA:-$out/data-500000-50000-10000000}"
if [ "${SERVE_SKIP_RESTART:-0}" != 1 ] && [ -f "$restart/events.csv" ]; then
  stop_server
  echo "== restart on 10M events: bootstrap once, stop, start again"
  rm -rf "$out/restart-state"
  start=$(date +%s.%N)
  start_server "$out/restart-state" --purchases "$restart/history.csv" "$restart/purchases.csv" \
    --events "$restart/events.csv"
  echo "bootstrap: $(echo "$(date +%s.%N) - $start" | bc) s"
  stop_server
  du -sh "$out/restart-state"/* | sed 's/^/  /'
  start=$(date +%s.%N)
  start_server "$out/restart-state"
  echo "restart, ready after $(echo "$(date +%s.%N) - $start" | bc) s"
  grep -E "event=(recovered|ready)" "$out/serve.log" | sed "s/^/  /"
  users_held=$(curl -sf "$url/metrics" | awk '/^streamrec_users /{print $2}')
  echo "== latency on the 10M state ($users_held users; the restarted server)"
  latency_tests 500000 "$restart/./events.csv" --mapping "$out/week-later.toml"
  # The writer pauses ingest while it cuts a snapshot (the state serialized); the file is
  # compressed and written in the background.
  echo "== a snapshot of the 10M state (POST /v1/admin/snapshot, no other load), then SIGTERM"
  start=$(date +%s.%N)
  curl -sf -XPOST "$url/v1/admin/snapshot" >/dev/null
  echo "snapshot answered after $(echo "$(date +%s.%N) - $start" | bc) s"
  grep -a "event=snapshot_written" "$out/serve.log" | tail -1 | sed "s/^/  /"
  start=$(date +%s.%N)
  stop_server
  echo "stopped (with its final snapshot) after $(echo "$(date +%s.%N) - $start" | bc) s"
else
  echo "== latency on the state of the replay above (no 10M data: run bench/run.sh first)"
  [ -n "$server_pid" ] || start_server "$out/serve-state"
  latency_tests "$users" "$data/./events.csv" --mapping "$out/week-later.toml"
  stop_server
fi
