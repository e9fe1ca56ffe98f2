#pragma once
// The subcommands around batch models: `train` (a model file from event and purchase
// files) and `evaluate` (the recommenders compared under an evaluation protocol).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "engine/batch_training.h"
#include "eval/evaluator.h"
#include "io/record_loader.h"

namespace streamrec {

struct TrainSettings {
  std::vector<std::string> events;
  std::vector<std::string> purchases;
  std::string mapping;
  std::string model = "als";  // als | item
  std::string out;
  BatchTrainingOptions training;
  bool strict = false;
  int threads = 0;  // 0: all cores
};

struct TrainSummary {
  LoadStats load;
  uint32_t users = 0, items = 0;
  size_t interactions = 0;
  double read_seconds = 0, train_seconds = 0;
};

// Reads the files, trains and writes settings.out (rejected rows into
// <out>.rejected.csv beside it). Errors: those of the inputs, of training (no interactions) and of
// writing.
absl::StatusOr<TrainSummary> RunTrain(const TrainSettings& settings, bool show_progress);

struct EvaluateSettings {
  std::vector<std::string> events;
  std::vector<std::string> purchases;
  std::vector<std::string> test_events;  // session-next's test sessions
  std::string mapping;
  std::string protocol = "temporal";
  int folds = 5;
  std::vector<int> ks = {10, 20};
  std::vector<std::string> models = {"popular", "item", "session", "hybrid", "als"};
  std::string out;
  double test_fraction = 0.1;
  uint64_t seed = 42;
  int threads = 0;
  BatchTrainingOptions training;  // als and item-kNN settings
  bool strict = false;
};

// Reads the files, runs the protocol and writes metrics.json, report.md and
// report.html (and rejected.csv, if rows were refused) into settings.out.
absl::StatusOr<EvaluationResult> RunEvaluate(const EvaluateSettings& settings, bool show_progress);

class ModelCommands {
 public:
  // Adds train and evaluate to `app`.
  explicit ModelCommands(CLI::App* app);
  // After app->parse(): the exit code of the chosen subcommand, or nullopt when none of
  // these was chosen.
  std::optional<int> Run();

 private:
  int Train();
  int Evaluate();

  CLI::App* train_ = nullptr;
  TrainSettings train_settings_;
  CLI::App* evaluate_ = nullptr;
  EvaluateSettings evaluate_settings_;
};

}  // namespace streamrec
