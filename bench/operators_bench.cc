// In-process benchmarks of the hot paths: decoding CSV rows into records (one thread),
// the feature operators alone, and the operators with the recommenders (one thread,
// records already in stream order).
//
// Data: the folder named by STREAMREC_BENCH_DATA (history.csv or history.parquet,
// purchases.csv, events.csv as `streamrec generate` writes them); without it, a
// dataset of 100,000 users, 10,000 items and 2,000,000 events is generated once
// into a temporary folder.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/interner.h"
#include "features/feature_operators.h"
#include "models/recommender.h"
#include "io/record_loader.h"
#include "stream/ordering.h"
#include "synth/generator.h"

namespace streamrec {
namespace {

std::string DataDir() {
  if (const char* dir = std::getenv("STREAMREC_BENCH_DATA"); dir != nullptr) return dir;
  static const std::string generated = [] {
    const std::string dir =
        (std::filesystem::temp_directory_path() / "streamrec-bench-data").string();
    if (!std::filesystem::exists(dir + "/events.csv")) {
      GeneratorOptions options;
      options.users = 100'000;
      options.items = 10'000;
      options.events = 2'000'000;
      options.seed = 1;
      options.history_format = TableFormat::kCsv;
      if (absl::Status s = GenerateDataset(options, dir); !s.ok()) {
        std::fprintf(stderr, "cannot generate bench data: %s\n", std::string(s.message()).c_str());
        std::exit(2);
      }
    }
    return dir;
  }();
  return generated;
}

std::vector<InputFile> Inputs() {
  const std::string dir = DataDir();
  std::vector<InputFile> files;
  for (const char* name : {"history.csv", "history.parquet", "purchases.csv"}) {
    if (std::filesystem::exists(dir + "/" + name))
      files.push_back({dir + "/" + name, SourceKind::kPurchases});
  }
  files.push_back({dir + "/events.csv", SourceKind::kEvents});
  return files;
}

// All records of the data set, in stream order, loaded once.
const RecordVector& StreamRecords() {
  static const RecordVector records = [] {
    Mapping mapping;
    IdDictionary ids;
    RecordLoader loader(mapping, &ids, LoaderOptions{.threads = 2}, {});
    std::vector<Run> runs;
    for (const InputFile& f : Inputs()) {
      if (absl::Status s = loader.Load(f, &runs); !s.ok()) {
        std::fprintf(stderr, "cannot load bench data: %s\n", std::string(s.message()).c_str());
        std::exit(2);
      }
    }
    SortRuns(&runs, 2);
    RunMerger merger(std::move(runs));
    RecordVector all;
    std::vector<Record> batch;
    all.reserve(merger.total());
    while (merger.NextBatch(1 << 16, &batch)) all.insert(all.end(), batch.begin(), batch.end());
    return all;
  }();
  return records;
}

// Events per second through every feature operator on one core.
void BM_FeatureOperators(benchmark::State& state) {
  const RecordVector& records = StreamRecords();
  const size_t chunk = static_cast<size_t>(state.range(0));
  int64_t events = 0;
  uint32_t users = 0, items = 0;
  for (const Record& r : records) {
    events += r.kind == RecordKind::kEvent;
    users = std::max(users, r.user.value + 1);
    items = std::max(items, r.item.value + 1);
  }
  for (auto _ : state) {
    // As the pipeline does: every array is sized once.
    FeatureOperators ops;
    ops.Reserve(users, items, records.size());
    FeatureOutput out;
    const std::span<const Record> all(records);
    for (size_t at = 0; at < all.size(); at += chunk) {
      ops.Apply(all.subspan(at, std::min(chunk, all.size() - at)), &out);
      out.Clear();
    }
    benchmark::DoNotOptimize(ops.records_applied());
  }
  state.SetItemsProcessed(state.iterations() * events);
  state.counters["records"] = static_cast<double>(records.size());
}
BENCHMARK(BM_FeatureOperators)->Arg(4096)->Unit(benchmark::kMillisecond)->Iterations(3);

// Events per second through every feature operator and every recommender on one core:
// what the live engine's writer does with records the watermark released.
void BM_OperatorsAndRecommenders(benchmark::State& state) {
  const RecordVector& records = StreamRecords();
  const size_t chunk = static_cast<size_t>(state.range(0));
  int64_t events = 0;
  for (const Record& r : records) events += r.kind == RecordKind::kEvent;
  for (auto _ : state) {
    FeatureOperators ops;
    Recommender models;
    FeatureOutput out;
    std::vector<ModelEvent> model_events;
    const std::span<const Record> all(records);
    for (size_t at = 0; at < all.size(); at += chunk) {
      ops.Apply(all.subspan(at, std::min(chunk, all.size() - at)), &out);
      model_events.clear();
      for (const EnrichedEvent& e : out.enriched) {
        model_events.push_back(ModelEvent{
            .user = e.user, .item = e.item, .type = e.type, .time = e.time, .session = e.session});
      }
      models.ObserveBatch(model_events);
      out.Clear();
    }
    benchmark::DoNotOptimize(models.counters());
  }
  state.SetItemsProcessed(state.iterations() * events);
}
BENCHMARK(BM_OperatorsAndRecommenders)->Arg(4096)->Unit(benchmark::kMillisecond)->Iterations(1);

// Rows per second decoded from the events CSV by one thread (ids interned).
void BM_DecodeEventsCsv(benchmark::State& state) {
  const InputFile events{DataDir() + "/events.csv", SourceKind::kEvents};
  int64_t rows = 0;
  for (auto _ : state) {
    Mapping mapping;
    IdDictionary ids;
    RecordLoader loader(mapping, &ids, LoaderOptions{.threads = 1}, {});
    std::vector<Run> runs;
    if (absl::Status s = loader.Load(events, &runs); !s.ok()) state.SkipWithError("load failed");
    rows += loader.stats().rows_read;
  }
  state.SetItemsProcessed(rows);
}
BENCHMARK(BM_DecodeEventsCsv)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace streamrec

BENCHMARK_MAIN();
