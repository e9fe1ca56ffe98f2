// In-process benchmarks of the live recommenders (src/models), one thread:
//   BM_ModelsObserve       events per second through Recommender::ObserveBatch (and,
//                          with argument 0, one Observe call per event), on the whole
//                          clickstream in stream order with the Sessionizer's session
//                          numbers, from an empty model;
//   BM_RecommendForUser    latency of one recommendation (k = 10) for an active user,
//                          on the model that has seen the whole stream: p50, p99, max;
//   BM_SimilarItems, BM_Trending: the same for an item's neighbours and the top list;
//   BM_PairTableDoubling   the co-occurrence pair table's doubling from 2^24 cells (16.8M,
//                          the size the 10M-event stream passes 3/4 of), with the next
//                          cells prepared in the background as the live model does: the
//                          rehash alone, on two threads.
//
// Data: the events of bench/bench_data.h (not BM_PairTableDoubling: random pairs of
// 50k items).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "features/sessionizer.h"
#include "models/pair_table.h"
#include "models/recommender.h"

namespace streamrec {
namespace {

// The clickstream as the engine hands it to the models: stream order, session numbers
// from the Sessionizer, nothing late. Loaded once.
const std::vector<ModelEvent>& Events() {
  static const std::vector<ModelEvent> events = [] {
    const RecordVector records = bench::LoadInStreamOrder(bench::Inputs(/*with_purchases=*/false));
    std::vector<ModelEvent> out;
    out.reserve(records.size());
    Sessionizer sessions;
    Session closed;
    for (const Record& r : records) {
      if (r.kind != RecordKind::kEvent) continue;
      sessions.Add(r.user, r.time, r.type, PurchaseTotals{}, &closed);
      out.push_back(
          ModelEvent{r.user, r.item, r.type, r.time, sessions.Current(r.user)->index, false});
    }
    return out;
  }();
  return events;
}

// The benchmarked configuration: the defaults, or those of STREAMREC_BENCH_MODEL_*
// (PAIR_WINDOW, NEIGHBOURS, RECENT_ITEMS) to compare settings.
ModelConfig BenchConfig() {
  ModelConfig config;
  const auto knob = [](const char* name, uint32_t* value) {
    if (const char* v = std::getenv(name); v != nullptr)
      *value = static_cast<uint32_t>(std::atoi(v));
  };
  knob("STREAMREC_BENCH_MODEL_PAIR_WINDOW", &config.pair_window);
  knob("STREAMREC_BENCH_MODEL_NEIGHBOURS", &config.neighbours);
  knob("STREAMREC_BENCH_MODEL_RECENT_ITEMS", &config.recent_items);
  if (absl::Status s = ValidateModelConfig(config); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    std::exit(2);
  }
  return config;
}

void BM_ModelsObserve(benchmark::State& state) {
  const std::vector<ModelEvent>& events = Events();
  const size_t chunk = static_cast<size_t>(state.range(0));
  ModelCounters counters;
  Recommender::StateBytes bytes;
  for (auto _ : state) {
    Recommender models(BenchConfig());
    if (chunk == 0) {
      for (const ModelEvent& e : events) models.Observe(e);
    } else {
      const std::span<const ModelEvent> all(events);
      for (size_t at = 0; at < all.size(); at += chunk) {
        models.ObserveBatch(all.subspan(at, std::min(chunk, all.size() - at)));
      }
    }
    counters = models.counters();
    bytes = models.MemoryBytesByKey();
    state.PauseTiming();  // freeing a GB of state is not observing
    { Recommender discard = std::move(models); }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
  state.counters["events"] = static_cast<double>(events.size());
  state.counters["pairs"] = static_cast<double>(counters.pairs);
  state.counters["pair_updates/event"] =
      static_cast<double>(counters.pair_updates) / static_cast<double>(events.size());
  state.counters["evictions/event"] =
      static_cast<double>(counters.neighbour_evictions) / static_cast<double>(events.size());
  state.counters["state_MB"] = static_cast<double>(bytes.total()) / 1e6;
  state.counters["pair_bytes/pair"] = static_cast<double>(bytes.pair_keyed) /
                                      static_cast<double>(std::max<size_t>(1, counters.pairs));
}
BENCHMARK(BM_ModelsObserve)->Arg(4096)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_PairTableDoubling(benchmark::State& state) {
  constexpr size_t kCells = size_t{1} << 24;
  for (auto _ : state) {
    PairTable table;
    table.GrowInBackground();
    std::mt19937_64 rng(static_cast<uint64_t>(state.iterations()));
    bool inserted = false;
    while (table.size() < kCells * 3 / 4) {
      const uint32_t a = static_cast<uint32_t>(rng() % 50'000);
      const uint32_t b = static_cast<uint32_t>(rng() % 50'000);
      if (a != b) table.FindOrInsert(PairTable::Key(ItemIdx(a), ItemIdx(b)), &inserted);
    }
    const auto start = std::chrono::steady_clock::now();
    table.Reserve(table.size() + 1);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (table.capacity() != 2 * kCells) state.SkipWithError("the table did not double");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kCells * 3 / 4));
}
BENCHMARK(BM_PairTableDoubling)->Unit(benchmark::kMillisecond)->Iterations(3)->UseManualTime();

// The model after the whole stream, built once for the query benchmarks.
const Recommender& FullModel() {
  static const Recommender* model = [] {
    auto* m = new Recommender(BenchConfig());
    m->ObserveBatch(Events());
    return m;
  }();
  return *model;
}

// Users of the last 200,000 events (they have recent items), shuffled.
std::vector<UserIdx> ActiveUsers() {
  const std::vector<ModelEvent>& events = Events();
  std::vector<UserIdx> users;
  for (size_t i = events.size() - std::min<size_t>(events.size(), 200'000); i < events.size();
       ++i) {
    users.push_back(events[i].user);
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  std::shuffle(users.begin(), users.end(), std::mt19937(1));
  return users;
}

// Runs `query(i)` for every benchmark iteration and reports latency percentiles.
template <typename Query>
void TimeQueries(benchmark::State& state, Query&& query) {
  std::vector<double> micros;
  size_t i = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    query(i++);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(micros.begin(), micros.end());
  const auto at = [&](double q) { return micros[static_cast<size_t>(q * (micros.size() - 1))]; };
  state.counters["p50_us"] = at(0.5);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = micros.back();
}

void BM_RecommendForUser(benchmark::State& state) {
  const Recommender& m = FullModel();
  const std::vector<UserIdx> users = ActiveUsers();
  const auto kind = static_cast<ModelKind>(state.range(0));
  const size_t k = static_cast<size_t>(state.range(1));
  std::vector<ScoredItem> out;
  TimeQueries(state, [&](size_t i) {
    m.RecommendForUser(users[i % users.size()], k, kind, {}, &out);
    benchmark::DoNotOptimize(out.data());
  });
  state.SetLabel(kind == ModelKind::kHybrid    ? "hybrid"
                 : kind == ModelKind::kSession ? "session"
                                               : "item");
}
// k = 10, and 50: the depth of the live list that the server blends with ALS (BlendDepth).
BENCHMARK(BM_RecommendForUser)
    ->Args({static_cast<int>(ModelKind::kHybrid), 10})
    ->Args({static_cast<int>(ModelKind::kSession), 10})
    ->Args({static_cast<int>(ModelKind::kItem), 10})
    ->Args({static_cast<int>(ModelKind::kHybrid), 50})
    ->Iterations(20'000);

void BM_SimilarItems(benchmark::State& state) {
  const Recommender& m = FullModel();
  const size_t items = m.counters().items;
  std::vector<ScoredItem> out;
  std::mt19937 rng(2);
  TimeQueries(state, [&](size_t) {
    m.SimilarItems(ItemIdx(static_cast<uint32_t>(rng() % items)), 10, &out);
    benchmark::DoNotOptimize(out.data());
  });
}
BENCHMARK(BM_SimilarItems)->Iterations(20'000);

void BM_Trending(benchmark::State& state) {
  const Recommender& m = FullModel();
  std::vector<ScoredItem> out;
  const EventTime now = Events().back().time;
  TimeQueries(state, [&](size_t) {
    m.Popular(10, true, now, {}, &out);
    benchmark::DoNotOptimize(out.data());
  });
}
BENCHMARK(BM_Trending)->Iterations(20'000);

}  // namespace
}  // namespace streamrec

BENCHMARK_MAIN();
