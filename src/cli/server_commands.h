#pragma once
// The subcommands around a state directory: `serve` (the live engine behind the HTTP
// API), `export` (its six feature tables) and `inspect` (its log and snapshots).

#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace streamrec {

struct ServeSettings {
  std::string state_dir;
  std::string listen = "127.0.0.1:8080";
  std::vector<std::string> purchases;
  std::vector<std::string> events;
  std::string mapping;
  std::string api_key;
  std::string fsync = "batch";
  double allowed_lateness_seconds = 300;
  uint64_t snapshot_every_events = 5'000'000;
  int io_threads = 0;
  size_t body_limit_bytes = size_t{16} << 20;
  size_t max_events_per_request = 100'000;  // 0: no limit
  bool exclude_purchased = true;
  int threads = 2;
  // Batch models trained on the live state at start and every retrain_every seconds
  // (0: only on POST /v1/admin/retrain): any of als, itemknn.
  std::vector<std::string> batch_models = {"als"};
  double retrain_every_seconds = 3600;
  // Model files (`streamrec train`) served until the first retraining; SIGHUP loads
  // them again (a bad file keeps the current model).
  std::vector<std::string> model_files;
  double hybrid_als_weight = 0.3;
  // The live recommenders (ModelConfig has the meaning of each).
  double trending_half_life_hours = 24;
  std::string similarity = "cosine";  // or "conditional"
  double shrinkage = 10;
  uint32_t pair_window = 5;
  uint32_t neighbours = 64;
  int train_threads = 1;            // training threads: leave cores to ingest and requests
  std::string log_format = "text";  // or "json" (common/structured_log.h)
};

class ServerCommands {
 public:
  // Adds serve, export and inspect to `app`.
  explicit ServerCommands(CLI::App* app);
  // After app->parse(): the exit code of the chosen subcommand, or nullopt when none of
  // these was chosen.
  std::optional<int> Run();

 private:
  int Serve();
  int Export();
  int Inspect();

  CLI::App* serve_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* inspect_ = nullptr;
  ServeSettings serve_settings_;
  std::string config_file_;
  std::string export_state_, export_out_, export_format_ = "csv";
  std::string inspect_state_;
};

}  // namespace streamrec
