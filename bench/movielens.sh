#!/usr/bin/env bash
# ALS with its default settings on MovieLens 100K, under the protocol of the published
# tables: 5-fold cross-validation over the ratings, every rating a positive, ranked over
# the whole catalogue. Prints the k = 10 figures and exits 1 when ALS falls short of
# NDCG@10 0.42 or Precision@10 0.35. The ratings file is GroupLens' `u.data` (not
# shipped: its licence allows no redistribution).
#
#   bench/movielens.sh PATH/TO/u.data [SEED]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${1:?usage: bench/movielens.sh PATH/TO/u.data [SEED]}
seed=${2:-42}
out="$root/bench/out/movielens-kfold"
[ -f "$data" ] || {
  echo "bench/movielens.sh: $data: no such file" >&2
  exit 2
}
rm -rf "$out"
"$root/build/streamrec" evaluate --events "$data" --mapping "$root/examples/movielens.toml" \
  --protocol kfold --folds 5 --k 10 --models popular,itemknn,als --seed "$seed" --out "$out"
python3 - "$out/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
value = {(r["model"], r["metric"]): r["value"] for r in m["results"] if r["k"] == 10}
d = m["dataset"]
print(f"{d['users']} users, {d['items']} items, {d['interactions']} ratings")
for model in ("popular", "itemknn", "als"):
    print(f"{model:8} NDCG@10 {value[(model, 'ndcg')]:.4f}  P@10 {value[(model, 'precision')]:.4f}")
ndcg, precision = value[("als", "ndcg")], value[("als", "precision")]
ok = ndcg >= 0.42 and precision >= 0.35
print(f"als against the target (NDCG@10 >= 0.42, P@10 >= 0.35): {'met' if ok else 'NOT met'}")
sys.exit(0 if ok else 1)
PY
