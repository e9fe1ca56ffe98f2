// In-process benchmarks of the hot paths: decoding CSV rows into records (one thread),
// the feature operators alone, and the operators with the recommenders (one or two
// threads, records already in stream order); and the machine's cost of a first touch of
// fresh memory, which every state that grows pays.
//
// Data: bench/bench_data.h.

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "benchmark/benchmark.h"
#include "common/huge_page_allocator.h"
#include "features/feature_operators.h"
#include "models/recommender.h"
#include "stream/reorder_buffer.h"
#include "synth/random.h"

namespace streamrec {
namespace {

// All records of the data set, in stream order, loaded once.
const RecordVector& StreamRecords() {
  static const RecordVector records = bench::LoadInStreamOrder(bench::Inputs());
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

// Pushes `records` through `ops` and `models` in calls of `chunk` records, as the live
// engine's writer does, and waits for the recommenders' pair updates.
void ApplyOperatorsAndRecommenders(std::span<const Record> records, size_t chunk,
                                   FeatureOperators* ops, Recommender* models) {
  FeatureOutput out;
  std::vector<ModelEvent> model_events;
  for (size_t at = 0; at < records.size(); at += chunk) {
    ops->Apply(records.subspan(at, std::min(chunk, records.size() - at)), &out);
    model_events.clear();
    for (const EnrichedEvent& e : out.enriched) {
      model_events.push_back(ModelEvent{
          .user = e.user, .item = e.item, .type = e.type, .time = e.time, .session = e.session});
    }
    models->ObserveBatch(model_events);
    out.Clear();
  }
  models->Flush();
}

// Events per second through every feature operator and every recommender: what the
// live engine's writer does with records the watermark released. Arguments: records per
// call, and the recommenders' update threads (2: pair updates on a second core while
// this thread goes on, as the live engine runs them).
void BM_OperatorsAndRecommenders(benchmark::State& state) {
  const RecordVector& records = StreamRecords();
  const size_t chunk = static_cast<size_t>(state.range(0));
  const int update_threads = static_cast<int>(state.range(1));
  int64_t events = 0;
  for (const Record& r : records) events += r.kind == RecordKind::kEvent;
  for (auto _ : state) {
    FeatureOperators ops;
    Recommender models({}, update_threads);
    ApplyOperatorsAndRecommenders(records, chunk, &ops, &models);
    const ModelCounters counters = models.counters();
    state.counters["pairs"] = static_cast<double>(counters.pairs);
    state.counters["pair_updates/event"] = static_cast<double>(counters.pair_updates) / events;
    state.counters["evictions/event"] = static_cast<double>(counters.neighbour_evictions) / events;
  }
  state.SetItemsProcessed(state.iterations() * events);
}
BENCHMARK(BM_OperatorsAndRecommenders)
    ->ArgNames({"records", "threads"})
    ->Args({4096, 1})
    ->Args({4096, 2})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

// The same work in the live engine's steady state: the state built from the first nine
// tenths of the stream (untimed), then the last tenth timed through every operator and
// recommender, as a server bootstrapped from its history takes new events. Users, items
// and most pairs exist; a state that grows still pays for fresh memory.
void BM_OperatorsAndRecommendersOnBuiltState(benchmark::State& state) {
  const RecordVector& records = StreamRecords();
  const size_t chunk = static_cast<size_t>(state.range(0));
  const int update_threads = static_cast<int>(state.range(1));
  const std::span<const Record> all(records);
  const size_t split = all.size() / 10 * 9;
  int64_t events = 0;
  for (const Record& r : all.subspan(split)) events += r.kind == RecordKind::kEvent;
  for (auto _ : state) {
    FeatureOperators ops;
    Recommender models({}, update_threads);
    ApplyOperatorsAndRecommenders(all.first(split), chunk, &ops, &models);
    const auto start = std::chrono::steady_clock::now();
    ApplyOperatorsAndRecommenders(all.subspan(split), chunk, &ops, &models);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    benchmark::DoNotOptimize(models.counters());
  }
  state.SetItemsProcessed(state.iterations() * events);
}
BENCHMARK(BM_OperatorsAndRecommendersOnBuiltState)
    ->ArgNames({"records", "threads"})
    ->Args({4096, 1})
    ->Args({4096, 2})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseManualTime();

// Rows per second decoded from the events CSV by one thread (ids interned).
void BM_DecodeEventsCsv(benchmark::State& state) {
  const InputFile events{bench::DataDir() + "/events.csv", SourceKind::kEvents};
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

// Bytes per second of writing one byte per 4 KiB page of 1 GiB of memory (advised as huge
// pages, as the engine's large arrays are): fresh memory from the kernel, or memory this
// process touched and freed just before (arg 1). The first is the page faults' cost
// (zeroing, and on a virtual machine the host backing the page), which state growing
// into fresh memory pays; the gap between the two is how much a run's figures depend on
// it.
void BM_FirstTouchOfMemory(benchmark::State& state) {
  constexpr size_t kBytes = size_t{1} << 30;
  const bool recycled = state.range(0) == 1;
  const auto touch = [](char* p) {
    for (size_t at = 0; at < kBytes; at += 4096) p[at] = 1;
  };
  const auto map = [] {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return static_cast<char*>(nullptr);
    madvise(p, kBytes, MADV_HUGEPAGE);
    return static_cast<char*>(p);
  };
  for (auto _ : state) {
    state.PauseTiming();
    if (recycled) {
      char* before = map();
      if (before == nullptr) return state.SkipWithError("mmap failed");
      touch(before);
      munmap(before, kBytes);
    }
    char* p = map();
    if (p == nullptr) return state.SkipWithError("mmap failed");
    state.ResumeTiming();
    touch(p);
    state.PauseTiming();
    munmap(p, kBytes);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}
BENCHMARK(BM_FirstTouchOfMemory)
    ->ArgName("recycled")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Nanoseconds per random 64-byte read-modify-write in an array of `MiB` MiB (huge pages,
// touched first), each line prefetched `ahead` updates before its own: the memory the
// pair table and the matrix live in, as this machine serves it. The size shows where the
// caches end; `ahead` how far ahead a prefetch still pays (a line asked for thousands of
// pages early is cached in time, but its page's translation may be gone by then).
void BM_RandomLineUpdates(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  const size_t ahead = static_cast<size_t>(state.range(1));
  constexpr size_t kUpdates = 20'000'000;
  HugePageVector<uint64_t> memory(bytes / sizeof(uint64_t), 1);
  uint64_t* lines = memory.data();
  std::vector<uint32_t> at(kUpdates);
  uint64_t x = 88172645463325252ULL;  // xorshift64: a fixed, cheap sequence
  for (uint32_t& a : at) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    a = static_cast<uint32_t>(x % (bytes / 64));
  }
  for (auto _ : state) {
    uint64_t sum = 0;
    for (size_t i = 0; i < kUpdates; ++i) {
      if (i + ahead < kUpdates) __builtin_prefetch(lines + size_t{at[i + ahead]} * 8, 1);
      uint64_t& line = lines[size_t{at[i]} * 8];
      sum += line;
      line = sum;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["ns/update"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kUpdates),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_RandomLineUpdates)
    ->ArgNames({"MiB", "ahead"})
    ->Args({64, 24})
    ->Args({64, 2000})
    ->Args({1024, 24})
    ->Args({1024, 2000})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The reorder buffer in a live server's steady state, where event time follows the wall
// clock: `rate` events a second over 500k users, each arriving up to 2 s after its time
// (so a few are out of order), with the default 5 minutes of allowed lateness, so that
// rate x 300 records are buffered. Every 100 ms (the writer's groups) the watermark's
// records are released. Timed: one simulated minute after the buffer has filled.
void BM_ReorderBufferSteadyState(benchmark::State& state) {
  const int64_t rate = state.range(0);
  constexpr int64_t kSecond = 1'000'000;
  constexpr int64_t kTick = kSecond / 10;
  ReorderBuffer buffer(300 * kSecond);
  synth::Rng rng(7, 0, 0);
  std::vector<Record> released;
  const EventTime start = EventTime::FromSeconds(1'700'000'000);
  int64_t now = start.micros;
  uint32_t seq = 0;
  // Advances the wall clock by one tick: this tick's arrivals, then a release.
  const auto tick = [&] {
    for (int64_t i = 0; i < rate / 10; ++i) {
      Record r;
      r.user = UserIdx(static_cast<uint32_t>(rng.Below(500'000)));
      r.item = ItemIdx(static_cast<uint32_t>(rng.Below(50'000)));
      r.seq = seq++;
      r.time = EventTime{now - static_cast<int64_t>(rng.Below(2 * kSecond))};
      buffer.Push(r, EventTime{now});
    }
    now += kTick;
    released.clear();
    buffer.Release(EventTime{now}, &released);
    benchmark::DoNotOptimize(released.data());
  };
  for (int64_t t = 0; t < 310 * 10; ++t) tick();  // filled: 5 minutes and 10 s
  for (auto _ : state) {
    for (int64_t t = 0; t < 60 * 10; ++t) tick();
  }
  state.counters["buffered"] = static_cast<double>(buffer.size());
  state.counters["ns/record"] = benchmark::Counter(
      static_cast<double>(state.iterations() * 60 * rate),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_ReorderBufferSteadyState)
    ->ArgName("events_per_s")
    ->Arg(1'000)
    ->Arg(10'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace streamrec

BENCHMARK_MAIN();
