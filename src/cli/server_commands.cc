#include "cli/server_commands.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "cli/cli_checks.h"
#include "cli/engine_backend.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/structured_log.h"
#include "common/thread_priority.h"
#include "engine/export.h"
#include "engine/live_engine.h"
#include "engine/served_models.h"
#include "log/inspect.h"
#include "serving/http_server.h"
#include "serving/starting_backend.h"
#include "toml++/toml.h"

namespace streamrec {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "streamrec: %s\n", std::string(status.message()).c_str());
  return 2;
}

// A failure of a server that got as far as starting: a log line in the logs' format.
int FailServing(const absl::Status& status) {
  Log(LogLevel::kError, "failed", {{"error", std::string(status.message())}});
  return 2;
}

// "host:port", "[v6]:port" or ":port".
absl::Status ParseListen(const std::string& listen, HttpServerOptions* out) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(StrCat("--listen ", listen, ": expected HOST:PORT"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  const long value = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || value < 0 || value > 65535) {
    return absl::InvalidArgumentError(StrCat("--listen ", listen, ": bad port ", port));
  }
  out->host = host.empty() ? "0.0.0.0" : host;
  out->port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

// Reads `path` (TOML) into `s`, for every key whose option was not given on the command
// line. Unknown keys and wrongly typed values are errors naming the file and the key.
absl::Status ApplyConfigFile(const std::string& path, const CLI::App& serve, ServeSettings* s) {
  if (std::filesystem::is_directory(path)) {
    return absl::InvalidArgumentError(StrCat("--config ", path, ": a directory, not a file"));
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat(path, ":", e.source().begin.line, ": ", e.description()));
  }
  for (const auto& [key, node] : table) {
    const std::string k(key.str());
    std::string option = "--" + k;
    std::replace(option.begin(), option.end(), '_', '-');
    auto bad = [&](std::string_view want) {
      return absl::InvalidArgumentError(StrCat(path, ": '", k, "' must be ", want));
    };
    auto text = [&](std::string* out) -> absl::Status {
      const auto* v = node.as_string();
      if (v == nullptr) return bad("a string");
      *out = v->get();
      return absl::OkStatus();
    };
    // A value the field cannot hold is an error here; ValidateServeSettings checks the
    // ranges that command line and file share.
    auto number = [&](auto* out) -> absl::Status {
      using T = std::remove_pointer_t<decltype(out)>;
      if (const auto* i = node.as_integer()) {
        if constexpr (std::is_integral_v<T>) {
          if (!std::in_range<T>(i->get())) {
            return bad(StrCat("a whole number from ", std::numeric_limits<T>::min(), " to ",
                              std::numeric_limits<T>::max()));
          }
        }
        *out = static_cast<T>(i->get());
      } else if (const auto* f = node.as_floating_point()) {
        if constexpr (std::is_integral_v<T>) return bad("a whole number");
        *out = static_cast<T>(f->get());
      } else {
        return bad("a number");
      }
      return absl::OkStatus();
    };
    auto files = [&](std::vector<std::string>* out) -> absl::Status {
      out->clear();
      if (const auto* one = node.as_string()) {
        out->push_back(one->get());
        return absl::OkStatus();
      }
      const auto* list = node.as_array();
      if (list == nullptr) return bad("a string or an array of strings");
      for (const auto& item : *list) {
        const auto* v = item.as_string();
        if (v == nullptr) return bad("a string or an array of strings");
        out->push_back(v->get());
      }
      return absl::OkStatus();
    };
    const CLI::Option* given = serve.get_option_no_throw(option);
    if (given == nullptr || k == "config") {
      return absl::InvalidArgumentError(StrCat(path, ": unknown key '", k, "'"));
    }
    if (given->count() > 0) continue;  // the command line wins
    absl::Status st;
    if (k == "state")
      st = text(&s->state_dir);
    else if (k == "listen")
      st = text(&s->listen);
    else if (k == "purchases")
      st = files(&s->purchases);
    else if (k == "events")
      st = files(&s->events);
    else if (k == "mapping")
      st = text(&s->mapping);
    else if (k == "api_key")
      st = text(&s->api_key);
    else if (k == "fsync")
      st = text(&s->fsync);
    else if (k == "allowed_lateness")
      st = number(&s->allowed_lateness_seconds);
    else if (k == "snapshot_every")
      st = number(&s->snapshot_every_events);
    else if (k == "io_threads")
      st = number(&s->io_threads);
    else if (k == "body_limit")
      st = number(&s->body_limit_bytes);
    else if (k == "max_events_per_request")
      st = number(&s->max_events_per_request);
    else if (k == "threads")
      st = number(&s->threads);
    else if (k == "batch_models")
      st = files(&s->batch_models);
    else if (k == "retrain_every")
      st = number(&s->retrain_every_seconds);
    else if (k == "model_file")
      st = files(&s->model_files);
    else if (k == "hybrid_als_weight")
      st = number(&s->hybrid_als_weight);
    else if (k == "train_threads")
      st = number(&s->train_threads);
    else if (k == "trending_half_life")
      st = number(&s->trending_half_life_hours);
    else if (k == "similarity")
      st = text(&s->similarity);
    else if (k == "shrinkage")
      st = number(&s->shrinkage);
    else if (k == "pair_window")
      st = number(&s->pair_window);
    else if (k == "neighbours")
      st = number(&s->neighbours);
    else if (k == "log_format")
      st = text(&s->log_format);
    else if (k == "exclude_purchased") {
      const auto* v = node.as_boolean();
      if (v == nullptr) return bad("true or false");
      s->exclude_purchased = v->get();
    } else {
      return absl::InvalidArgumentError(StrCat(path, ": unknown key '", k, "'"));
    }
    RETURN_IF_ERROR(st);
  }
  if (s->fsync != "always" && s->fsync != "batch" && s->fsync != "interval") {
    return absl::InvalidArgumentError(
        StrCat(path, ": fsync must be always, batch or interval, not '", s->fsync, "'"));
  }
  return absl::OkStatus();
}

// The ranges of the settings, whether from the command line or the config file.
absl::Status ValidateServeSettings(const ServeSettings& s) {
  const auto out_of_range = [](std::string_view option, double value, std::string_view want) {
    return absl::InvalidArgumentError(StrCat("--", option, " must be ", want, ", not ", value));
  };
  if (!(s.allowed_lateness_seconds >= 0 && s.allowed_lateness_seconds <= 1e9)) {
    return out_of_range("allowed-lateness", s.allowed_lateness_seconds, "from 0 to 1e9 seconds");
  }
  if (s.io_threads < 0 || s.io_threads > 256) {
    return out_of_range("io-threads", s.io_threads, "from 0 (one per core) to 256");
  }
  if (s.body_limit_bytes == 0) return out_of_range("body-limit", 0, "at least 1");
  if (s.threads < 1 || s.threads > 64) return out_of_range("threads", s.threads, "from 1 to 64");
  if (s.train_threads < 1 || s.train_threads > 64) {
    return out_of_range("train-threads", s.train_threads, "from 1 to 64");
  }
  // Whole seconds: a fraction would be cut to 0, which means "only on request".
  if (!(s.retrain_every_seconds >= 0 && s.retrain_every_seconds <= 1e9 &&
        s.retrain_every_seconds == std::trunc(s.retrain_every_seconds))) {
    return out_of_range("retrain-every", s.retrain_every_seconds,
                        "a whole number of seconds from 0 (only on request) to 1e9");
  }
  if (!(s.hybrid_als_weight >= 0 && s.hybrid_als_weight <= 1)) {
    return out_of_range("hybrid-als-weight", s.hybrid_als_weight, "from 0 to 1");
  }
  if (!(s.trending_half_life_hours > 0 && s.trending_half_life_hours <= 1e6)) {
    return out_of_range("trending-half-life", s.trending_half_life_hours,
                        "more than 0 and at most 1e6 hours");
  }
  for (const std::string& name : s.batch_models) {
    if (!name.empty() && name != "als" && name != "itemknn") {
      return absl::InvalidArgumentError(
          StrCat("--batch-models: unknown model '", name, "' (available: als, itemknn)"));
    }
  }
  return absl::OkStatus();
}

struct BatchModelSlots {
  std::unique_ptr<ModelSlot> als;
  std::unique_ptr<ModelSlot> item_knn;
  ModelSlot* For(BatchModelKind kind) const {
    return kind == BatchModelKind::kAls ? als.get() : item_knn.get();
  }
};

// One slot per batch model served: those trained on the live state, and those of the
// model files (a file's model serves until the first training).
absl::StatusOr<BatchModelSlots> OpenModelSlots(const ServeSettings& s, const LiveEngine* engine) {
  std::shared_ptr<const ServedModel> initial[2];  // by kind: ALS, item-kNN
  for (const std::string& path : s.model_files) {
    ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model, LoadServedModel(path, *engine));
    initial[model->model.kind == BatchModelKind::kAls ? 0 : 1] = std::move(model);
    Log(LogLevel::kInfo, "model_file_loaded", {{"path", path}});
  }
  // The names are valid (ValidateServeSettings).
  const bool train[2] = {std::ranges::count(s.batch_models, "als") > 0,
                         std::ranges::count(s.batch_models, "itemknn") > 0};
  const auto seconds = std::chrono::seconds(static_cast<int64_t>(s.retrain_every_seconds));
  BatchModelSlots slots;
  for (int k = 0; k < 2; ++k) {
    if (!train[k] && initial[k] == nullptr) continue;
    RetrainOptions options;
    options.training.kind = k == 0 ? BatchModelKind::kAls : BatchModelKind::kItemKnn;
    options.training.als.threads = s.train_threads;
    options.training.item_knn.threads = s.train_threads;
    // A model served from a file only is never retrained on a schedule.
    options.every = train[k] ? seconds : std::chrono::seconds(0);
    options.train_at_start = train[k];
    (k == 0 ? slots.als : slots.item_knn) =
        std::make_unique<ModelSlot>(engine, std::move(options), std::move(initial[k]));
  }
  return slots;
}

// SIGHUP: the model files again; a file that does not load leaves its model serving.
void ReloadModelFiles(const std::vector<std::string>& paths, const LiveEngine& engine,
                      const BatchModelSlots& slots) {
  for (const std::string& path : paths) {
    absl::StatusOr<std::shared_ptr<const ServedModel>> model = LoadServedModel(path, engine);
    ModelSlot* slot = model.ok() ? slots.For((*model)->model.kind) : nullptr;
    const absl::Status st =
        !model.ok() ? model.status()
        : slot == nullptr
            ? absl::FailedPreconditionError(StrCat(path, ": no model of its kind is served"))
            : slot->Install(*std::move(model));
    if (st.ok()) {
      Log(LogLevel::kInfo, "model_file_loaded", {{"path", path}, {"on", "SIGHUP"}});
    } else {
      Log(LogLevel::kWarning, "model_file_not_loaded",
          {{"path", path},
           {"on", "SIGHUP"},
           {"error", std::string(st.message())},
           {"kept", "current model"}});
    }
  }
}

}  // namespace

ServerCommands::ServerCommands(CLI::App* app) {
  ServeSettings& s = serve_settings_;
  serve_ = app->add_subcommand(
      "serve", "The live engine: ingest over HTTP, features and recommenders, durable state");
  serve_->add_option("--config", config_file_,
                     "TOML file with any of these options (keys: the long names with _ for -)");
  serve_->add_option("--state", s.state_dir, "State directory (event log and snapshots)");
  serve_->add_option("--listen", s.listen, "HOST:PORT to listen on")->capture_default_str();
  serve_->add_option("--purchases", s.purchases, "Purchase files loaded on the first start only")
      ->expected(1, -1);
  serve_->add_option("--events", s.events, "Event files loaded on the first start only")
      ->expected(1, -1);
  serve_->add_option("--mapping", s.mapping, "Mapping file (TOML) for the bootstrap files");
  serve_->add_option("--api-key", s.api_key, "Key required on write and admin routes");
  serve_->add_option("--fsync", s.fsync, "When the log is synced to disk")
      ->check(CLI::IsMember({"always", "batch", "interval"}))
      ->capture_default_str();
  serve_
      ->add_option("--allowed-lateness", s.allowed_lateness_seconds,
                   "Seconds events may arrive out of event-time order")
      ->capture_default_str();
  serve_
      ->add_option("--snapshot-every", s.snapshot_every_events,
                   "Events between background snapshots (0: only at shutdown)")
      ->check(kNotNegative)
      ->capture_default_str();
  serve_->add_option("--io-threads", s.io_threads, "HTTP threads (0: one per core)")
      ->capture_default_str();
  serve_->add_option("--body-limit", s.body_limit_bytes, "Largest request body, in bytes")
      ->check(kNotNegative)
      ->capture_default_str();
  serve_
      ->add_option("--max-events-per-request", s.max_events_per_request,
                   "Most events in one ingest request (0: no limit)")
      ->check(kNotNegative)
      ->capture_default_str();
  serve_
      ->add_option("--exclude-purchased", s.exclude_purchased,
                   "Leave out items the user has purchased")
      ->capture_default_str();
  serve_
      ->add_option("--trending-half-life", s.trending_half_life_hours,
                   "Hours in which a trending score halves")
      ->capture_default_str();
  serve_
      ->add_option("--similarity", s.similarity,
                   "Item similarity from co-occurrence: cosine or conditional (probability)")
      ->capture_default_str();
  serve_->add_option("--shrinkage", s.shrinkage, "Shrinkage of the item similarity")
      ->capture_default_str();
  serve_
      ->add_option("--pair-window", s.pair_window,
                   "Recent items an event pairs with (co-occurrence; 0: none)")
      ->capture_default_str();
  serve_->add_option("--neighbours", s.neighbours, "Neighbours kept per item")
      ->capture_default_str();
  serve_
      ->add_option("--threads", s.threads,
                   "Threads for bootstrap, snapshots and the recommenders' pair updates (1 to 64)")
      ->capture_default_str();
  serve_
      ->add_option("--batch-models", s.batch_models,
                   "Batch models trained on the live state: als, itemknn (none: \"\")")
      ->expected(0, -1)
      ->delimiter(',')
      ->capture_default_str();
  serve_
      ->add_option("--retrain-every", s.retrain_every_seconds,
                   "Whole seconds between trainings of the batch models (0: only on request)")
      ->capture_default_str();
  serve_
      ->add_option("--model-file", s.model_files,
                   "Model files from `streamrec train`, served until the first retraining")
      ->expected(1, -1);
  serve_
      ->add_option("--hybrid-als-weight", s.hybrid_als_weight,
                   "Share of ALS in the hybrid once an ALS model exists (0 to 1)")
      ->capture_default_str();
  serve_
      ->add_option("--train-threads", s.train_threads, "Threads for batch model training (1 to 64)")
      ->capture_default_str();
  serve_
      ->add_option("--log-format", s.log_format,
                   "Logs on stderr: text (key=value) or json (an object per line)")
      ->capture_default_str();

  export_ = app->add_subcommand("export", "The six feature tables from a state directory");
  export_->add_option("--state", export_state_, "State directory of a stopped server")->required();
  export_->add_option("--out", export_out_, "Output folder for the tables")->required();
  export_->add_option("--format", export_format_, "Table format")
      ->check(CLI::IsMember({"csv", "parquet"}))
      ->capture_default_str();

  inspect_ = app->add_subcommand("inspect", "Verify and summarize a state directory");
  inspect_->add_option("--state", inspect_state_, "State directory")->required();
}

std::optional<int> ServerCommands::Run() {
  if (*serve_) return Serve();
  if (*export_) return Export();
  if (*inspect_) return Inspect();
  return std::nullopt;
}

int ServerCommands::Serve() {
  if (!config_file_.empty()) {
    if (absl::Status st = ApplyConfigFile(config_file_, *serve_, &serve_settings_); !st.ok()) {
      return Fail(st);
    }
  }
  const ServeSettings& s = serve_settings_;
  if (absl::Status st = ValidateServeSettings(s); !st.ok()) return Fail(st);
  absl::StatusOr<LogFormat> log_format = ParseLogFormat(s.log_format);
  if (!log_format.ok()) return Fail(log_format.status());
  SetLogFormat(*log_format);
  if (s.state_dir.empty()) return Fail(absl::InvalidArgumentError("serve needs --state DIR"));
  HttpServerOptions http;
  if (absl::Status st = ParseListen(s.listen, &http); !st.ok()) return Fail(st);
  http.io_threads = s.io_threads;
  http.body_limit = s.body_limit_bytes;
  http.max_events_per_request = s.max_events_per_request;
  http.api_key = s.api_key;

  LiveEngineOptions options;
  options.state_dir = s.state_dir;
  options.allowed_lateness_micros =
      static_cast<int64_t>(s.allowed_lateness_seconds * kMicrosPerSecond);
  absl::StatusOr<FsyncPolicy> fsync = ParseFsyncPolicy(s.fsync);
  if (!fsync.ok()) return Fail(fsync.status());
  options.fsync = *fsync;
  options.snapshot_every_events = s.snapshot_every_events;
  options.bootstrap_purchases = s.purchases;
  options.bootstrap_events = s.events;
  if (!s.mapping.empty()) options.mapping_file = s.mapping;
  options.threads = s.threads;
  if (s.similarity != "cosine" && s.similarity != "conditional") {
    return Fail(absl::InvalidArgumentError(
        StrCat("similarity must be cosine or conditional, not '", s.similarity, "'")));
  }
  options.models.trending_half_life_micros =
      static_cast<int64_t>(s.trending_half_life_hours * 3600 * kMicrosPerSecond);
  options.models.similarity =
      s.similarity == "cosine" ? Similarity::kCosine : Similarity::kConditional;
  options.models.shrinkage = static_cast<float>(s.shrinkage);
  options.models.pair_window = s.pair_window;
  options.models.neighbours = s.neighbours;

  // SIGINT, SIGTERM and SIGHUP are taken by one thread of their own (sigtimedwait),
  // never by the server's: blocked here, before any thread starts. Until the server
  // serves, SIGINT or SIGTERM ends the process at once, as a kill would, rather than
  // after a start-up that may take minutes; that leaves the state as it was (a
  // bootstrap is renamed into place only when complete, and recovery changes nothing
  // but a torn tail it cuts), and SIGHUP is ignored. Once it serves, they are handed to
  // the thread that runs Serve: a graceful stop, or the model files loaded again.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  struct {
    std::mutex mu;
    std::condition_variable cv;
    bool serving = false;  // set before /readyz can answer 200
    int stop_signal = 0;
    int reloads = 0;
  } signalled;
  std::jthread signal_thread([&](std::stop_token stop) {
    NameThisThread("signals");
    constexpr timespec kTick{0, 50'000'000};
    while (!stop.stop_requested()) {
      const int signal_number = sigtimedwait(&signals, nullptr, &kTick);
      if (signal_number <= 0) continue;
      std::lock_guard lock(signalled.mu);
      if (signal_number == SIGHUP) {
        signalled.reloads += signalled.serving ? 1 : 0;
      } else if (!signalled.serving) {
        Log(LogLevel::kInfo, "stopped_during_startup",
            {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
        std::_Exit(0);
      } else {
        signalled.stop_signal = signal_number;
      }
      signalled.cv.notify_all();
      if (signalled.stop_signal != 0) return;
    }
  });

  // Declared before the server, so that they are destroyed after it has stopped: no
  // request can reach them once they are gone, whichever way this function returns.
  std::unique_ptr<LiveEngine> engine;
  BatchModelSlots slots;
  std::optional<EngineBackend> backend;
  // The server listens first, so that /healthz answers and /readyz says 503 while the
  // state is bootstrapped or recovered.
  StartingBackend starting(StrCat(
      s.events.empty() && s.purchases.empty() ? "" : "bootstrapping or ", "recovering the state"));
  HttpServer server(&starting, http);
  if (absl::Status st = server.Start(); !st.ok()) return FailServing(st);
  Log(LogLevel::kInfo, "listening",
      {{"address", StrCat(http.host, ":", server.port())}, {"state", s.state_dir}});

  StartupReport report;
  absl::StatusOr<std::unique_ptr<LiveEngine>> opened = LiveEngine::Open(options, &report);
  if (!opened.ok()) return FailServing(opened.status());
  engine = *std::move(opened);
  if (report.bootstrapped) {
    Log(LogLevel::kInfo, "bootstrapped",
        {{"records", report.bootstrap_records}, {"rejected_rows", report.bootstrap_rejected_rows}});
    // What was refused, and why: a bootstrap is not done again, so this is the one chance
    // to see it (the files, at the lines named, can be fixed and the state started anew).
    for (const std::string& row : report.bootstrap_rejected_examples) {
      Log(LogLevel::kWarning, "bootstrap_row_rejected", {{"row", row}});
    }
    if (const int64_t more = report.bootstrap_rejected_rows -
                             static_cast<int64_t>(report.bootstrap_rejected_examples.size());
        more > 0) {
      Log(LogLevel::kWarning, "bootstrap_rows_rejected_not_shown", {{"rows", more}});
    }
  } else {
    Log(LogLevel::kInfo, "recovered",
        {{"log", report.log.ToString()},
         {"snapshot_offset",
          report.snapshot_offset ? StrCat(*report.snapshot_offset) : std::string("none")},
         {"replayed_log_records", report.replayed_log_records}});
    if (report.log.cut) {
      Log(LogLevel::kWarning, "log_tail_cut",
          {{"segment", report.log.cut->segment},
           {"byte_offset", report.log.cut->byte_offset},
           {"bytes_dropped", report.log.cut->bytes_dropped},
           {"reason", report.log.cut->reason}});
    }
    for (const SkippedSnapshot& skipped : report.skipped_snapshots) {
      Log(LogLevel::kWarning, "snapshot_skipped",
          {{"path", skipped.path}, {"reason", skipped.reason}});
    }
  }

  absl::StatusOr<BatchModelSlots> opened_slots = OpenModelSlots(s, engine.get());
  if (!opened_slots.ok()) return FailServing(opened_slots.status());
  slots = *std::move(opened_slots);
  backend.emplace(engine.get(), EngineBackendOptions{.exclude_purchased = s.exclude_purchased,
                                                     .als = slots.als.get(),
                                                     .item_knn = slots.item_knn.get(),
                                                     .hybrid_als_weight = s.hybrid_als_weight});
  {
    std::lock_guard lock(signalled.mu);
    signalled.serving = true;
  }
  starting.SetTarget(&*backend);
  Log(LogLevel::kInfo, "ready", {{"seconds", report.seconds}});

  int signal_number = 0;
  for (;;) {
    std::unique_lock lock(signalled.mu);
    signalled.cv.wait(lock, [&] { return signalled.stop_signal != 0 || signalled.reloads > 0; });
    if (signalled.stop_signal != 0) {
      signal_number = signalled.stop_signal;
      break;
    }
    signalled.reloads = 0;
    lock.unlock();
    ReloadModelFiles(s.model_files, *engine, slots);
  }
  Log(LogLevel::kInfo, "stopping",
      {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"},
       {"then", "finishing requests, writing a snapshot"}});
  // Trainings first: a retrain request in flight is answered at once, not after a
  // training (tens of seconds) that the server would wait for.
  for (ModelSlot* slot : {slots.als.get(), slots.item_knn.get()}) {
    if (slot != nullptr) slot->Stop();
  }
  server.Stop();
  if (absl::Status st = engine->Stop(); !st.ok()) return FailServing(st);
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

int ServerCommands::Export() {
  ExportOptions options{
      .state_dir = export_state_,
      .out_dir = export_out_,
      .format = export_format_ == "parquet" ? TableFormat::kParquet : TableFormat::kCsv,
      .show_progress = true};
  absl::StatusOr<PipelineSummary> summary = ExportTables(options);
  if (!summary.ok()) return Fail(summary.status());
  for (const auto& [name, rows] : summary->tables) {
    std::fprintf(stderr, "wrote %-17s %lld rows\n", name.c_str(), static_cast<long long>(rows));
  }
  std::fprintf(stderr, "done in %.2f s\n", summary->total_seconds);
  return 0;
}

int ServerCommands::Inspect() {
  if (!std::filesystem::is_directory(inspect_state_)) {
    return Fail(absl::NotFoundError(StrCat(inspect_state_, " is not a directory")));
  }
  if (!std::filesystem::exists(inspect_state_ + "/log") &&
      !std::filesystem::exists(inspect_state_ + "/snapshots")) {
    return Fail(absl::NotFoundError(
        StrCat(inspect_state_, " is not a state directory: it has neither log/ nor snapshots/")));
  }
  absl::StatusOr<std::vector<SegmentSummary>> segments = InspectLog(inspect_state_ + "/log");
  if (!segments.ok()) return Fail(segments.status());
  absl::StatusOr<std::vector<SnapshotSummary>> snapshots =
      InspectSnapshots(inspect_state_ + "/snapshots");
  if (!snapshots.ok()) return Fail(snapshots.status());
  uint64_t records = 0;
  std::printf("log: %zu segments\n", segments->size());
  for (const SegmentSummary& seg : *segments) {
    std::printf("  %s\n", seg.ToString().c_str());
    records += seg.records;
  }
  std::printf("log: %llu records\n", static_cast<unsigned long long>(records));
  int valid = 0;
  std::printf("snapshots: %zu\n", snapshots->size());
  for (const SnapshotSummary& snap : *snapshots) {
    std::printf("  %s\n", snap.ToString().c_str());
    valid += snap.valid();
  }
  const std::vector<std::string> problems = StartProblems(*segments, *snapshots);
  for (const std::string& problem : problems) std::printf("%s\n", problem.c_str());
  if (!problems.empty()) {
    std::printf("the server will refuse to start on this state\n");
    return 1;
  }
  if (segments->empty() && valid > 0) {
    std::printf(
        "the log is gone: the server starts from the newest snapshot, with a new log "
        "at its end\n");
  }
  std::printf("ok: %d valid snapshots\n", valid);
  return 0;
}

}  // namespace streamrec
