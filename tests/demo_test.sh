#!/usr/bin/env bash
# `make run`'s main job (scripts/demo.sh) on a small shop: the server bootstraps, listens,
# takes the replayed clickstream, its answers change while it does, and it stops cleanly.
#   demo_test.sh DEMO_SCRIPT STREAMREC_BINARY
set -euo pipefail
script=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
port=$((20000 + $$ % 20000))
out="$dir/out.txt"
# The replay (2,000 events at 200 a second) outlasts the 6 s, and a look at the answers
# (two curls and two Pythons) may take seconds on a loaded machine: two looks still fit.
STREAMREC_BIN=$2 DEMO_DIR="$dir" DEMO_EVENTS=20000 DEMO_PORT=$port DEMO_RATE=200 \
  DEMO_SECONDS=6 DEMO_EVERY=1 timeout 120 bash "$script" >"$out" 2>&1 || {
  cat "$out"
  echo "demo_test: the demo failed" >&2
  exit 1
}
fail() {
  cat "$out"
  echo "demo_test: $1" >&2
  exit 1
}
grep -q "listening on http://127.0.0.1:$port" "$out" || fail "no address printed"
grep -q "curl -s 'http://127.0.0.1:$port/v1/users/" "$out" || fail "no example requests"
[ "$(grep -c '^-- after' "$out")" -ge 2 ] || fail "fewer than two looks at the answers"
last=$(grep '^-- after' "$out" | tail -n 1 | sed 's/.*: \([0-9]*\) events accepted live/\1/')
[ "$last" -gt 0 ] || fail "no replayed event accepted"
# The looks differ: recommendations or counts moved with the replay.
[ "$(grep -A 6 '^-- after' "$out" | grep -v '^-- after' | sort -u | wc -l)" -gt 6 ] ||
  fail "the answers never changed"
grep -q "stopping after 6 s" "$out" || fail "did not stop after DEMO_SECONDS"
ls "$dir/state/snapshots" | grep -q . || fail "no snapshot written at shutdown"
