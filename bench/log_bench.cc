// Benchmarks of the durable state (src/log): event log append+commit under each fsync
// policy, CRC-32C, the event payload codec, recovery scanning, snapshot write/load, and
// the set of event ids that ingest checks every event against.
//
// Files go to a temporary folder under STREAMREC_BENCH_DIR (default: the system's
// temporary directory), so the fsync figures are those of that file system.
// STREAMREC_BENCH_SNAPSHOT_MB sets the snapshot size (default 256).

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/interner.h"
#include "log/crc32c.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/snapshot.h"

namespace streamrec {
namespace {

// A fresh empty folder, removed when the object goes.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("STREAMREC_BENCH_DIR");
    std::string pattern =
        (std::filesystem::path(base != nullptr ? base : std::filesystem::temp_directory_path()) /
         "log_bench.XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror(pattern.c_str());
      std::exit(2);
    }
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Check(const absl::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    std::exit(2);
  }
}

// ~60-byte payloads: what one small encoded event takes.
std::vector<std::string> Payloads(size_t n) {
  std::vector<std::string> payloads;
  std::vector<LoggedEvent> event(1);
  std::string user, item, id;
  for (size_t i = 0; i < n; ++i) {
    user = "user-" + std::to_string(100000 + i % 50000);
    item = "item-" + std::to_string(200000 + (i * 7919) % 30000);
    id = "evt-" + std::to_string(10000000 + i);
    event[0] = {user, item, id, EventType::kView, EventTime{1'706'781'600'000'000 + int64_t(i)},
                {}};
    std::string payload;
    EncodeEvents(event, &payload);
    payload.resize(60, ' ');
    payloads.push_back(std::move(payload));
  }
  return payloads;
}

// Args: fsync policy, records per commit.
void BM_AppendCommit(benchmark::State& state) {
  const auto policy = static_cast<FsyncPolicy>(state.range(0));
  const auto batch = static_cast<size_t>(state.range(1));
  state.SetLabel(std::string(FsyncPolicyName(policy)) + ", commit every " + std::to_string(batch));
  TempDir dir;
  EventLogOptions options;
  options.fsync = policy;
  auto log = EventLog::Open(dir.path(), options);
  Check(log.status());
  const std::vector<std::string> payloads = Payloads(batch);
  for (auto _ : state) {
    for (const std::string& p : payloads) (*log)->Append(p);
    Check((*log)->Commit());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * 60);
  state.counters["fsyncs"] = static_cast<double>((*log)->stats().syncs);
}
BENCHMARK(BM_AppendCommit)
    ->ArgNames({"policy", "batch"})
    ->Args({int(FsyncPolicy::kAlways), 1000})
    ->Args({int(FsyncPolicy::kBatch), 1000})
    ->Args({int(FsyncPolicy::kInterval), 1000})
    ->Args({int(FsyncPolicy::kAlways), 1})
    ->Args({int(FsyncPolicy::kInterval), 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Framing and checksumming alone: Append without I/O.
void BM_AppendOnly(benchmark::State& state) {
  TempDir dir;
  auto log = EventLog::Open(dir.path(), {});
  Check(log.status());
  const std::vector<std::string> payloads = Payloads(1000);
  size_t i = 0;
  for (auto _ : state) {
    (*log)->Append(payloads[i++ % 1000]);
    if (i % 100'000 == 0) {  // keep the buffer bounded; the commit is not timed
      state.PauseTiming();
      Check((*log)->Commit());
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendOnly);

// Arg: 0 = portable (Boost.CRC), 1 = SSE4.2; range(1): buffer bytes.
void BM_Crc32c(benchmark::State& state) {
  const bool hardware = state.range(0) == 1;
  if (hardware && !internal::HardwareCrc32cAvailable()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  state.SetLabel(hardware ? "sse4.2" : "boost");
  const std::string data(static_cast<size_t>(state.range(1)), 'x');
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = hardware ? internal::Crc32cExtendHardware(crc, data)
                   : internal::Crc32cExtendPortable(crc, data);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_Crc32c)->ArgsProduct({{0, 1}, {64, 1 << 20}});

std::vector<LoggedEvent> SampleBatch(std::vector<std::string>* storage, size_t n) {
  storage->clear();
  for (size_t i = 0; i < n; ++i) {
    storage->push_back("user-" + std::to_string(100000 + i * 31 % 50000));
    storage->push_back("item-" + std::to_string(200000 + i * 7919 % 30000));
  }
  std::vector<LoggedEvent> events;
  for (size_t i = 0; i < n; ++i) {
    events.push_back({(*storage)[2 * i], (*storage)[2 * i + 1], "", EventType(i % 4),
                      EventTime{1'706'781'600'000'000 + int64_t(i) * 1000},
                      i % 4 == 3 ? std::optional<double>(19.99) : std::nullopt});
  }
  return events;
}

void BM_EncodeEvents(benchmark::State& state) {
  std::vector<std::string> storage;
  const std::vector<LoggedEvent> events = SampleBatch(&storage, 1000);
  std::string payload;
  for (auto _ : state) {
    payload.clear();
    EncodeEvents(events, &payload);
    benchmark::DoNotOptimize(payload.data());
  }
  state.SetItemsProcessed(state.iterations() * events.size());
  state.counters["bytes_per_event"] = double(payload.size()) / double(events.size());
}
BENCHMARK(BM_EncodeEvents);

void BM_DecodeEvents(benchmark::State& state) {
  std::vector<std::string> storage;
  std::string payload;
  EncodeEvents(SampleBatch(&storage, 1000), &payload);
  std::vector<LoggedEvent> events;
  for (auto _ : state) {
    Check(DecodeEvents(payload, &events));
    benchmark::DoNotOptimize(events.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DecodeEvents);

// The engine's set of event ids grown to `n` ids shaped as replay makes them
// ("<file>:<line>"): the mean insert, and the longest single one, which is how long a
// growth of the set stops ingest.
void BM_EventIdSetGrowth(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  double longest_ms = 0;
  for (auto _ : state) {
    ArenaStringSet set;
    std::string id = "data/events.csv:";
    const size_t prefix = id.size();
    for (size_t i = 0; i < n; ++i) {
      id.resize(prefix);
      id += std::to_string(i + 2);
      const auto start = std::chrono::steady_clock::now();
      set.Insert(id);
      longest_ms = std::max(longest_ms, std::chrono::duration<double, std::milli>(
                                            std::chrono::steady_clock::now() - start)
                                            .count());
    }
    state.counters["MB"] = double(set.MemoryBytes()) / 1e6;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["longest_insert_ms"] = longest_ms;
}
BENCHMARK(BM_EventIdSetGrowth)->Arg(16'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

// Opening (recovering) a log of 1M records of 60 bytes: every record verified.
void BM_Recover(benchmark::State& state) {
  TempDir dir;
  {
    auto log = EventLog::Open(dir.path(), {});
    Check(log.status());
    const std::vector<std::string> payloads = Payloads(1000);
    for (int i = 0; i < 1000; ++i) {
      for (const std::string& p : payloads) (*log)->Append(p);
      Check((*log)->Commit());
    }
  }
  for (auto _ : state) {
    auto log = EventLog::Open(dir.path(), {});
    Check(log.status());
  }
  state.SetItemsProcessed(state.iterations() * 1'000'000);
  state.SetBytesProcessed(state.iterations() * 1'000'000 * 69);
}
BENCHMARK(BM_Recover)->Unit(benchmark::kMillisecond)->UseRealTime();

size_t SnapshotBytes() {
  const char* mb = std::getenv("STREAMREC_BENCH_SNAPSHOT_MB");
  return size_t(mb != nullptr ? std::atoi(mb) : 256) << 20;
}

// State-like bytes: 16-byte rows of a dense id, a small count, a float score that is
// often zero, and a day number; zstd level 1 compresses them about 2:1.
const std::string& StateBytes() {
  static const std::string bytes = [] {
    std::string s(SnapshotBytes(), '\0');
    std::mt19937 rng(1);
    for (size_t at = 0; at + 16 <= s.size(); at += 16) {
      const auto id = static_cast<uint32_t>(at / 16);
      const uint32_t count = rng() % 20;
      const float score = rng() % 10 == 0 ? float(rng() % 10000) / 100.0f : 0.0f;
      const uint32_t day = 19700 + rng() % 60;
      std::memcpy(&s[at], &id, 4);
      std::memcpy(&s[at + 4], &count, 4);
      std::memcpy(&s[at + 8], &score, 4);
      std::memcpy(&s[at + 12], &day, 4);
    }
    return s;
  }();
  return bytes;
}

void BM_SnapshotWrite(benchmark::State& state) {
  TempDir dir;
  const std::string& bytes = StateBytes();
  uint64_t file_bytes = 0;
  uint64_t covered = 0;
  for (auto _ : state) {
    auto writer = SnapshotWriter::Create(dir.path(), LogOffset{++covered});
    Check(writer.status());
    for (size_t at = 0; at < bytes.size(); at += 1 << 20) {
      Check((*writer)->Write(std::string_view(bytes).substr(at, 1 << 20)));
    }
    Check((*writer)->Finish());
    file_bytes = (*writer)->file_bytes();
    state.PauseTiming();
    Check(RetainNewestSnapshots(dir.path(), 1).status());
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * bytes.size());
  state.counters["ratio"] = double(bytes.size()) / double(file_bytes);
}
BENCHMARK(BM_SnapshotWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arg: load threads.
void BM_SnapshotLoad(benchmark::State& state) {
  TempDir dir;
  const std::string& bytes = StateBytes();
  {
    auto writer = SnapshotWriter::Create(dir.path(), LogOffset{1});
    Check(writer.status());
    Check((*writer)->Write(bytes));
    Check((*writer)->Finish());
  }
  SnapshotOptions options;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto loaded = LoadNewestSnapshot(dir.path(), options);
    Check(loaded.status());
    if (!loaded->has_value() || (*loaded)->bytes.size() != bytes.size()) {
      state.SkipWithError("snapshot did not load");
      return;
    }
  }
  state.SetBytesProcessed(state.iterations() * bytes.size());
}
BENCHMARK(BM_SnapshotLoad)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace streamrec

BENCHMARK_MAIN();
