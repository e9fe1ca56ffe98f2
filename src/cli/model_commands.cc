#include "cli/model_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/status_macros.h"
#include "common/strings.h"
#include "engine/input_files.h"
#include "engine/progress.h"
#include "eval/batch_models.h"
#include "eval/report.h"
#include "features/feature_operators.h"

namespace streamrec {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int AllCores(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int PrintError(const absl::Status& status) {
  std::fprintf(stderr, "streamrec: %s\n", std::string(status.message()).c_str());
  return status.code() == absl::StatusCode::kAborted ? 1 : 2;
}

}  // namespace

absl::StatusOr<TrainSummary> RunTrain(const TrainSettings& settings, bool show_progress) {
  const Clock::time_point start = Clock::now();
  BatchTrainingOptions training = settings.training;
  if (settings.model == "als") {
    training.kind = BatchModelKind::kAls;
  } else if (settings.model == "item") {
    training.kind = BatchModelKind::kItemKnn;
  } else {
    return absl::InvalidArgumentError(
        StrCat("--model: unknown model '", settings.model, "' (available: als, item)"));
  }
  training.als.threads = AllCores(settings.threads);
  training.item_knn.threads = AllCores(settings.threads);
  if (training.kind == BatchModelKind::kAls) RETURN_IF_ERROR(ValidateAlsOptions(training.als));
  if (settings.out.empty()) return absl::InvalidArgumentError("--out must name a file");
  // Rejected rows go beside the model, named after it: MODEL.rejected.csv.
  const std::filesystem::path out_path(settings.out);
  std::string reject_dir = out_path.parent_path().string();
  if (reject_dir.empty()) reject_dir = ".";

  Progress progress(show_progress);
  InputOptions inputs_options{.event_files = settings.events,
                              .purchase_files = settings.purchases,
                              .reject_dir = reject_dir,
                              .reject_name = out_path.filename().string() + ".rejected",
                              .strict = settings.strict,
                              .threads = AllCores(settings.threads)};
  if (!settings.mapping.empty()) inputs_options.mapping_file = settings.mapping;
  ASSIGN_OR_RETURN(LoadedInputs inputs, LoadInputFiles(inputs_options, &progress));
  RETURN_IF_ERROR(inputs.rejects->Close());
  RETURN_IF_ERROR(inputs.rejects->Commit());

  TrainSummary summary;
  summary.load = inputs.stats;
  summary.users = static_cast<uint32_t>(inputs.ids.users.size());
  summary.items = static_cast<uint32_t>(inputs.ids.items.size());
  // The user-item matrix is order-free: runs in any order give the same cells.
  FeatureOperators ops;
  for (const Run& run : inputs.runs) ops.ApplyOrderFree(run);
  inputs.runs.clear();
  std::vector<WeightedInteraction> cells;
  cells.reserve(ops.user_item_matrix().pairs());
  AppendInteractions(ops.user_item_matrix(), 0, summary.users, &cells);
  summary.interactions = cells.size();
  summary.read_seconds = SecondsSince(start);

  const Clock::time_point train_start = Clock::now();
  const int iterations = training.als.iterations;
  ASSIGN_OR_RETURN(TrainedModel model,
                   TrainBatchModel(training, cells, summary.users, summary.items,
                                   [&](int iteration, double seconds) {
                                     progress.Update("training ALS", iteration, iterations);
                                   }));
  progress.Done();
  summary.train_seconds = SecondsSince(train_start);
  NameModelIds(inputs.ids, &model);
  RETURN_IF_ERROR(WriteModelFile(settings.out, model));
  return summary;
}

namespace {

// The events of runs [begin, end) as evaluation events: clickstream events, and the
// purchases of purchase files (purchase runs are the first `purchase_runs`).
void AppendEvalEvents(const LoadedInputs& inputs, size_t begin, size_t end,
                      std::vector<EvalEvent>* out) {
  for (size_t r = begin; r < end; ++r) {
    const bool purchase_file = r < inputs.purchase_file_runs;
    for (const Record& rec : inputs.runs[r]) {
      if (purchase_file ? rec.kind != RecordKind::kPurchase : rec.kind != RecordKind::kEvent) {
        continue;  // a purchase event's kPurchase twin: the kEvent stands for both
      }
      out->push_back(EvalEvent{rec.user, rec.item, purchase_file ? EventType::kPurchase : rec.type,
                               rec.time, rec.seq});
    }
  }
  std::sort(out->begin(), out->end(), EvalEventLess);
}

}  // namespace

absl::StatusOr<EvaluationResult> RunEvaluate(const EvaluateSettings& settings, bool show_progress) {
  ASSIGN_OR_RETURN(const Protocol protocol, ParseProtocol(settings.protocol));
  if (settings.out.empty()) return absl::InvalidArgumentError("--out must name a folder");
  if (!settings.test_events.empty() && protocol != Protocol::kSessionNext) {
    return absl::InvalidArgumentError("--test-events is for --protocol session-next only");
  }
  if (settings.models.empty()) return absl::InvalidArgumentError("--models: give at least one");
  BatchEvalOptions model_options;
  model_options.training = settings.training;
  model_options.training.als.threads = AllCores(settings.threads);
  model_options.training.item_knn.threads = AllCores(settings.threads);
  model_options.seed = settings.seed;
  std::vector<ModelSpec> specs;
  for (const std::string& name : settings.models) {
    // Fail on an unknown name before reading any file.
    RETURN_IF_ERROR(MakeEvalModel(name, model_options).status());
    specs.push_back(
        ModelSpec{name, [name, model_options] { return MakeEvalModel(name, model_options); }});
  }

  Progress progress(show_progress);
  InputOptions inputs_options{.event_files = settings.events,
                              .purchase_files = settings.purchases,
                              .reject_dir = settings.out,
                              .strict = settings.strict,
                              .threads = AllCores(settings.threads)};
  inputs_options.event_files.insert(inputs_options.event_files.end(), settings.test_events.begin(),
                                    settings.test_events.end());
  if (!settings.mapping.empty()) inputs_options.mapping_file = settings.mapping;
  ASSIGN_OR_RETURN(LoadedInputs inputs, LoadInputFiles(inputs_options, &progress));
  RETURN_IF_ERROR(inputs.rejects->Close());
  RETURN_IF_ERROR(inputs.rejects->Commit());

  // Test files are the last ones loaded.
  const size_t test_begin =
      settings.test_events.empty()
          ? inputs.runs.size()
          : inputs.file_run_end[inputs.file_run_end.size() - settings.test_events.size() - 1];
  EvalDataset data, test;
  data.num_users = test.num_users = static_cast<uint32_t>(inputs.ids.users.size());
  data.num_items = test.num_items = static_cast<uint32_t>(inputs.ids.items.size());
  AppendEvalEvents(inputs, 0, test_begin, &data.events);
  AppendEvalEvents(inputs, test_begin, inputs.runs.size(), &test.events);
  inputs.runs.clear();

  EvaluationOptions options{.protocol = protocol,
                            .ks = settings.ks,
                            .folds = settings.folds,
                            .test_fraction = settings.test_fraction,
                            .seed = settings.seed,
                            .threads = AllCores(settings.threads)};
  options.progress = [&](std::string_view stage, int64_t done, int64_t total) {
    progress.Update(std::string(stage), done, total);
  };
  ASSIGN_OR_RETURN(EvaluationResult result,
                   Evaluate(data, settings.test_events.empty() ? nullptr : &test, specs, options));
  progress.Done();
  RETURN_IF_ERROR(WriteReports(result, settings.out));
  return result;
}

ModelCommands::ModelCommands(CLI::App* app) {
  TrainSettings& t = train_settings_;
  train_ = app->add_subcommand("train", "Train a batch model (ALS or item-kNN) into a model file");
  train_->add_option("--events", t.events, "Clickstream files (CSV, JSON Lines, Parquet)")
      ->expected(1, -1);
  train_->add_option("--purchases", t.purchases, "Purchase files (CSV, JSON Lines, Parquet)")
      ->expected(1, -1);
  train_->add_option("--mapping", t.mapping, "Mapping file (TOML) for columns and event names");
  train_->add_option("--model", t.model, "Model: als (implicit ALS) or item (item-kNN)")
      ->check(CLI::IsMember({"als", "item"}))
      ->capture_default_str();
  train_->add_option("--out", t.out, "The model file to write")->required();
  AlsOptions& als = t.training.als;
  train_->add_option("--factors", als.factors, "ALS: latent factors")->capture_default_str();
  train_->add_option("--iterations", als.iterations, "ALS: alternating iterations")
      ->capture_default_str();
  train_->add_option("--regularization", als.regularization,
                     "ALS: L2 weight; default: scaled to the data (see docs)");
  train_->add_option("--alpha", als.alpha, "ALS: confidence = 1 + alpha * weight")
      ->capture_default_str();
  train_->add_option("--seed", als.seed, "ALS: random seed of the initial factors")
      ->capture_default_str();
  ItemKnnOptions& knn = t.training.item_knn;
  train_->add_option("--neighbours", knn.neighbours, "item: neighbours kept per item")
      ->capture_default_str();
  train_->add_option("--shrinkage", knn.shrinkage, "item: cosine shrinkage")->capture_default_str();
  train_->add_option("--threads", t.threads, "Threads; 0: all cores")->capture_default_str();
  train_->add_flag("--strict", t.strict, "Stop at the first bad row (exit code 1)");

  EvaluateSettings& e = evaluate_settings_;
  evaluate_ = app->add_subcommand("evaluate", "Compare recommenders under an evaluation protocol");
  evaluate_->add_option("--events", e.events, "Event (or ratings, or session) files")
      ->expected(1, -1)
      ->required();
  evaluate_->add_option("--purchases", e.purchases, "Purchase files")->expected(1, -1);
  evaluate_->add_option("--test-events", e.test_events, "session-next: the test sessions")
      ->expected(1, -1);
  evaluate_->add_option("--mapping", e.mapping, "Mapping file (TOML) for columns and event names");
  evaluate_
      ->add_option("--protocol", e.protocol,
                   "temporal, leave-last-out, kfold, replay or session-next")
      ->check(CLI::IsMember({"temporal", "leave-last-out", "kfold", "replay", "session-next"}))
      ->capture_default_str();
  evaluate_->add_option("--folds", e.folds, "kfold: folds")->capture_default_str();
  evaluate_->add_option("--k", e.ks, "Cutoffs, e.g. 10,20")->delimiter(',')->capture_default_str();
  evaluate_->add_option("--models", e.models, "Models, e.g. popular,item,session,hybrid,als")
      ->delimiter(',')
      ->capture_default_str();
  evaluate_->add_option("--out", e.out, "Output folder for the reports")->required();
  evaluate_
      ->add_option("--test-fraction", e.test_fraction,
                   "temporal and session-next: the last share of time that is test")
      ->capture_default_str();
  evaluate_->add_option("--seed", e.seed, "kfold shuffle and model seeds")->capture_default_str();
  evaluate_->add_option("--threads", e.threads, "Threads; 0: all cores")->capture_default_str();
  evaluate_->add_option("--factors", e.training.als.factors, "ALS: latent factors")
      ->capture_default_str();
  evaluate_->add_option("--iterations", e.training.als.iterations, "ALS: iterations")
      ->capture_default_str();
  evaluate_->add_option("--regularization", e.training.als.regularization,
                        "ALS: L2 weight; default: scaled to the data");
  evaluate_->add_option("--alpha", e.training.als.alpha, "ALS: confidence weight")
      ->capture_default_str();
  evaluate_->add_flag("--strict", e.strict, "Stop at the first bad row (exit code 1)");
}

std::optional<int> ModelCommands::Run() {
  if (*train_) return Train();
  if (*evaluate_) return Evaluate();
  return std::nullopt;
}

int ModelCommands::Evaluate() {
  absl::StatusOr<EvaluationResult> r = RunEvaluate(evaluate_settings_, /*show_progress=*/true);
  if (!r.ok()) return PrintError(r.status());
  std::fprintf(stderr, "%s: %lld users, %lld items, %lld interactions\n", r->protocol.c_str(),
               static_cast<long long>(r->dataset.users), static_cast<long long>(r->dataset.items),
               static_cast<long long>(r->dataset.interactions));
  const int k = evaluate_settings_.ks.front();
  std::fprintf(stderr, "%-12s %8s %8s %8s %8s\n", "model", "hr", "recall", "ndcg", "mrr");
  for (const std::string& model : evaluate_settings_.models) {
    auto value = [&](std::string_view metric) {
      for (const MetricValue& v : r->results) {
        if (v.model == model && v.metric == metric && v.k == k) return v.value;
      }
      return 0.0;
    };
    std::fprintf(stderr, "%-12s %8.4f %8.4f %8.4f %8.4f   (@%d)\n", model.c_str(), value("hr"),
                 value("recall"), value("ndcg"), value("mrr"), k);
  }
  std::fprintf(stderr, "wrote %s/metrics.json, report.md, report.html\n",
               evaluate_settings_.out.c_str());
  return 0;
}

int ModelCommands::Train() {
  absl::StatusOr<TrainSummary> s = RunTrain(train_settings_, /*show_progress=*/true);
  if (!s.ok()) return PrintError(s.status());
  std::fprintf(stderr, "read %lld rows: %lld accepted, %lld rejected (%.2f s)\n",
               static_cast<long long>(s->load.rows_read),
               static_cast<long long>(s->load.rows_accepted),
               static_cast<long long>(s->load.rows_rejected), s->read_seconds);
  std::fprintf(stderr, "trained %s on %zu interactions of %u users and %u items in %.2f s\n",
               train_settings_.model.c_str(), s->interactions, s->users, s->items,
               s->train_seconds);
  std::fprintf(stderr, "wrote %s\n", train_settings_.out.c_str());
  return 0;
}

}  // namespace streamrec
