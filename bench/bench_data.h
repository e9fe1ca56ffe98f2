#pragma once
// The benchmarks' data: the folder named by STREAMREC_BENCH_DATA (history.csv or
// history.parquet, purchases.csv, events.csv as `streamrec generate` writes them);
// without it, a dataset of 100,000 users, 10,000 items and 2,000,000 events generated
// once into a temporary folder. Failures end the benchmark with a message.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/interner.h"
#include "io/record_loader.h"
#include "stream/ordering.h"
#include "synth/generator.h"

namespace streamrec::bench {

inline std::string DataDir() {
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

// The purchase files (when present) and the events file of DataDir().
inline std::vector<InputFile> Inputs(bool with_purchases = true) {
  const std::string dir = DataDir();
  std::vector<InputFile> files;
  for (const char* name : {"history.csv", "history.parquet", "purchases.csv"}) {
    if (with_purchases && std::filesystem::exists(dir + "/" + name)) {
      files.push_back({dir + "/" + name, SourceKind::kPurchases});
    }
  }
  files.push_back({dir + "/events.csv", SourceKind::kEvents});
  return files;
}

// Every record of `files`, in stream order.
inline RecordVector LoadInStreamOrder(const std::vector<InputFile>& files) {
  Mapping mapping;
  IdDictionary ids;
  RecordLoader loader(mapping, &ids, LoaderOptions{.threads = 2}, {});
  std::vector<Run> runs;
  for (const InputFile& f : files) {
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
}

}  // namespace streamrec::bench
