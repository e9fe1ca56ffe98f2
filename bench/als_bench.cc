// Benchmarks of the batch models (src/models: InteractionMatrix, AlsModel, ItemKnnModel):
//   BM_InteractionMatrix  building the matrix from every event (weights summed per cell);
//   BM_AlsTrain           seconds per ALS iteration (counter s/iter, the mean over the
//                         run's iterations) at 64 factors, 3 CG steps, with the argument's
//                         thread count (0: all cores);
//   BM_AlsRecommend       latency of an exact top-k (argument k) over the catalogue for the
//                         trained users' factors: p50, p99;
//   BM_AlsFoldIn          latency of solving a user's factors from the user's row: p50, p99;
//   BM_ItemKnnTrain       item-kNN training, 100 neighbours.
//
// Data: the events of bench/bench_data.h (STREAMREC_BENCH_DATA names a folder, e.g. one
// from `streamrec generate --users 500000 --items 50000 --events 10000000 --seed 1`);
// a cell's weight is the sum of its events' weights (view 1, click 2, add_to_cart 4,
// purchase 8). STREAMREC_BENCH_ALS_ITERATIONS sets the iterations timed (default 3).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "models/als.h"
#include "models/interaction_matrix.h"
#include "models/item_knn.h"
#include "models/model_config.h"

namespace streamrec {
namespace {

struct Cells {
  std::vector<WeightedInteraction> cells;
  uint32_t users = 0;
  uint32_t items = 0;
};

// Every event as a cell, loaded once.
const Cells& AllCells() {
  static const Cells cells = [] {
    const RecordVector records = bench::LoadInStreamOrder(bench::Inputs(/*with_purchases=*/false));
    const ModelConfig config;
    Cells out;
    for (const Record& r : records) {
      if (r.kind != RecordKind::kEvent) continue;
      out.cells.push_back(
          WeightedInteraction{r.user, r.item, config.event_weights[static_cast<int>(r.type)]});
      out.users = std::max(out.users, r.user.value + 1);
      out.items = std::max(out.items, r.item.value + 1);
    }
    return out;
  }();
  return cells;
}

const InteractionMatrix& Matrix() {
  static const InteractionMatrix m = [] {
    const Cells& c = AllCells();
    return InteractionMatrix::FromInteractions(c.cells, c.users, c.items);
  }();
  return m;
}

int TimedIterations() {
  const char* v = std::getenv("STREAMREC_BENCH_ALS_ITERATIONS");
  return v != nullptr ? std::max(1, std::atoi(v)) : 3;
}

void BM_InteractionMatrix(benchmark::State& state) {
  const Cells& c = AllCells();
  size_t nnz = 0;
  for (auto _ : state) {
    const InteractionMatrix m = InteractionMatrix::FromInteractions(c.cells, c.users, c.items);
    nnz = m.nnz();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.cells.size()));
  state.counters["events"] = static_cast<double>(c.cells.size());
  state.counters["cells"] = static_cast<double>(nnz);
}
BENCHMARK(BM_InteractionMatrix)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_AlsTrain(benchmark::State& state) {
  const InteractionMatrix& m = Matrix();
  AlsOptions options;
  options.iterations = TimedIterations();
  options.threads = static_cast<int>(state.range(0));
  double seconds = 0;
  for (auto _ : state) {
    seconds = 0;
    const absl::StatusOr<AlsModel> model =
        AlsModel::Train(m, options, [&](int, double s) { seconds += s; });
    if (!model.ok()) state.SkipWithError(std::string(model.status().message()).c_str());
  }
  state.counters["s/iter"] = seconds / options.iterations;
  state.counters["cells"] = static_cast<double>(m.nnz());
  state.SetLabel(AlsModel::KernelName());
}
BENCHMARK(BM_AlsTrain)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);

// The model BM_AlsRecommend asks: trained to the default 15 iterations, as the server's
// (the scan's early stop depends on how the norms spread, which training shapes).
const AlsModel& ServedAls() {
  static const AlsModel model = *AlsModel::Train(Matrix(), AlsOptions{});
  return model;
}

void BM_AlsRecommend(benchmark::State& state) {
  const AlsModel& model = ServedAls();
  const auto k = static_cast<size_t>(state.range(0));
  std::vector<ScoredItem> out;
  std::vector<double> micros;
  uint32_t user = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    model.Recommend(model.UserFactors(UserIdx(user)), k, &NeverExcluded, &out);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    user = (user + 7919) % model.num_users();
  }
  std::sort(micros.begin(), micros.end());
  state.counters["items"] = model.num_items();
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
}
// k 50: the depth the server's hybrid asks of ALS for a top 10 (BlendDepth).
BENCHMARK(BM_AlsRecommend)->Arg(10)->Arg(50)->Iterations(2000);

// A user's factors solved from the user's row, as the server does per request.
void BM_AlsFoldIn(benchmark::State& state) {
  const AlsModel& model = ServedAls();
  const InteractionMatrix::Csr rows = Matrix().ByUser();
  std::vector<ItemIdx> items;
  std::vector<float> weights;
  std::vector<double> micros;
  uint32_t user = 0;
  for (auto _ : state) {
    items.clear();
    weights.clear();
    for (uint64_t c = rows.offsets[user]; c < rows.offsets[user + 1]; ++c) {
      items.push_back(ItemIdx(rows.indices[c]));
      weights.push_back(rows.weights[c]);
    }
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(model.FoldIn(items, weights));
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    user = (user + 7919) % model.num_users();
  }
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
}
BENCHMARK(BM_AlsFoldIn)->Iterations(2000);

void BM_ItemKnnTrain(benchmark::State& state) {
  const InteractionMatrix& m = Matrix();
  for (auto _ : state) {
    const absl::StatusOr<ItemKnnModel> model = ItemKnnModel::Train(m, ItemKnnOptions{});
    if (!model.ok()) state.SkipWithError(std::string(model.status().message()).c_str());
  }
}
BENCHMARK(BM_ItemKnnTrain)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
}  // namespace streamrec

BENCHMARK_MAIN();
