#!/usr/bin/env bash
# Installs everything streamrec needs to build, test and benchmark on Debian 12.
# Idempotent: when every package and third_party/ file is present it changes nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  cmake ninja-build g++ make pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libboost1.81-dev libboost-json1.81-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libzstd-dev libeigen3-dev libhnswlib-dev
  python3 python3-pandas wrk curl time bc
)
# Node.js and npm fetch DuckDB and run the reference; a machine may already
# have them from another source, whose nodejs package conflicts with Debian's npm.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# DuckDB: the prebuilt shared library and its C header, from the npm registry
# (no install scripts run). Pinned versions; see DESIGN.md.
duck="$root/third_party/duckdb"
if [ ! -f "$duck/lib/libduckdb.so" ] || [ ! -f "$duck/include/duckdb.h" ]; then
  echo "setup: fetching DuckDB 1.4.4" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @duckdb/node-bindings-linux-x64@1.4.4-r.4 duckdb@1.4.4 >/dev/null)
  mkdir -p "$tmp/bindings" "$tmp/duckdb" "$duck/lib" "$duck/include"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp/bindings"
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp/duckdb"
  lib=$(find "$tmp/bindings" -name 'libduckdb.so' | head -n 1)
  header=$(find "$tmp/duckdb" -name 'duckdb.h' | head -n 1)
  if [ -z "$lib" ] || [ -z "$header" ]; then
    echo "setup: DuckDB packages did not contain libduckdb.so and duckdb.h" >&2
    exit 1
  fi
  cp "$lib" "$duck/lib/libduckdb.so"
  cp "$header" "$duck/include/duckdb.h"
fi
