#include "eval/evaluator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "eval/splits.h"
#include "models/model_types.h"

namespace streamrec {
namespace {

using Clock = std::chrono::steady_clock;
using ProgressFn = std::function<void(std::string_view, int64_t, int64_t)>;

constexpr std::pair<Protocol, std::string_view> kProtocolNames[] = {
    {Protocol::kTemporal, "temporal"},
    {Protocol::kLeaveLastOut, "leave-last-out"},
    {Protocol::kKFold, "kfold"},
    {Protocol::kReplay, "replay"},
    {Protocol::kSessionNext, "session-next"}};

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Named durations in first-use order; a name used again adds up (kfold's folds).
class Timings {
 public:
  void Add(const std::string& name, double seconds) {
    for (auto& [n, s] : entries_) {
      if (n == name) {
        s += seconds;
        return;
      }
    }
    entries_.emplace_back(name, seconds);
  }
  std::vector<std::pair<std::string, double>> Take() { return std::move(entries_); }

 private:
  std::vector<std::pair<std::string, double>> entries_;
};

// What the protocols share: the options resolved, timings and progress.
struct Run {
  const EvaluationOptions& options;
  int threads;
  Timings timings;

  void Progress(std::string_view stage, int64_t done, int64_t total) const {
    if (options.progress) options.progress(stage, done, total);
  }
  int max_k() const { return *std::max_element(options.ks.begin(), options.ks.end()); }
};

// Runs query(unit, &scratch, &acc) for every unit in [0, n) on run.threads threads, in
// fixed chunks of kChunk units, each into its own accumulator; chunks merge into *total
// in chunk order (waiting ones are held, at most about one per thread), so the sums do
// not depend on the thread count.
template <typename Query>
void RunQueries(int64_t n, const Run& run, const std::string& stage, Query query,
                MetricAccumulator* total) {
  constexpr int64_t kChunk = 256;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::map<int64_t, MetricAccumulator> waiting;  // guarded by mu
  int64_t merged = 0, done = 0;                  // guarded by mu
  const auto worker = [&] {
    std::vector<ItemIdx> scratch;
    for (int64_t c = next++; c < chunks; c = next++) {
      MetricAccumulator acc(total->ks(), total->catalogue_size());
      const int64_t end = std::min(n, (c + 1) * kChunk);
      for (int64_t unit = c * kChunk; unit < end; ++unit) query(unit, &scratch, &acc);
      std::lock_guard<std::mutex> lock(mu);
      waiting.emplace(c, std::move(acc));
      while (!waiting.empty() && waiting.begin()->first == merged) {
        total->Merge(waiting.begin()->second);
        waiting.erase(waiting.begin());
        ++merged;
      }
      done += end - c * kChunk;
      run.Progress(stage, done, n);
    }
  };
  const int64_t helpers = std::min<int64_t>(run.threads, chunks) - 1;
  std::vector<std::jthread> pool;
  for (int64_t t = 0; t < helpers; ++t) pool.emplace_back(worker);
  worker();
}

absl::StatusOr<std::unique_ptr<EvalModel>> Make(const ModelSpec& spec) {
  absl::StatusOr<std::unique_ptr<EvalModel>> model = spec.make();
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        StrCat("model ", spec.name, ": ", model.status().message()));
  }
  if (*model == nullptr) {
    return absl::InternalError(StrCat("model ", spec.name, ": its factory returned no model"));
  }
  return model;
}

absl::Status FitTimed(const ModelSpec& spec, EvalModel* model, std::span<const EvalEvent> train,
                      uint32_t num_users, uint32_t num_items, Run* run) {
  const std::string stage = StrCat(spec.name, " fit");
  run->Progress(stage, 0, 1);
  const Clock::time_point t = Clock::now();
  const absl::Status fitted = model->Fit(train, num_users, num_items);
  run->timings.Add(spec.name + ".fit", SecondsSince(t));
  if (!fitted.ok()) {
    return absl::Status(fitted.code(), StrCat("model ", spec.name, ": fit: ", fitted.message()));
  }
  run->Progress(stage, 1, 1);
  return absl::OkStatus();
}

// ---- Batch protocols: a split, each test user's top-k ----

struct PreparedSplit {
  const Split& split;
  UserItemIndex train_items;
  uint32_t catalogue;

  PreparedSplit(const Split& s, uint32_t num_users)
      : split(s), train_items(s.train, num_users), catalogue(DistinctItems(s.train)) {}
};

absl::StatusOr<MetricAccumulator> RunBatch(const ModelSpec& spec, const PreparedSplit& p,
                                           const EvalDataset& data, const std::string& suffix,
                                           Run* run) {
  ASSIGN_OR_RETURN(std::unique_ptr<EvalModel> model, Make(spec));
  RETURN_IF_ERROR(FitTimed(spec, model.get(), p.split.train, data.num_users, data.num_items, run));
  MetricAccumulator acc(run->options.ks, p.catalogue);
  const size_t k = run->max_k();
  const Clock::time_point t = Clock::now();
  RunQueries(
      static_cast<int64_t>(p.split.tests.size()), *run, StrCat(spec.name, " predict", suffix),
      [&](int64_t unit, std::vector<ItemIdx>* out, MetricAccumulator* a) {
        const UserTest& test = p.split.tests[unit];
        const auto exclude = [&](ItemIdx item) {
          return p.split.exclude_train_items && p.train_items.Contains(test.user, item);
        };
        model->RecommendForUser(test.user, k, exclude, out);
        a->AddQuery(*out, test.relevant);
      },
      &acc);
  run->timings.Add(spec.name + ".predict", SecondsSince(t));
  return acc;
}

absl::Status NoQueries(std::string_view protocol, std::string_view why) {
  return absl::FailedPreconditionError(StrCat("evaluate (", protocol, "): no test queries: ", why));
}

absl::StatusOr<std::vector<MetricValue>> RunSplit(const EvalDataset& data, const Split& split,
                                                  std::span<const ModelSpec> models, Run* run) {
  if (split.tests.empty()) {
    return NoQueries(ProtocolName(run->options.protocol),
                     "no user has both a train event and a test item");
  }
  const PreparedSplit prepared(split, data.num_users);
  std::vector<MetricValue> results;
  for (const ModelSpec& spec : models) {
    ASSIGN_OR_RETURN(MetricAccumulator acc, RunBatch(spec, prepared, data, "", run));
    for (MetricValue& v : acc.Results(spec.name)) results.push_back(std::move(v));
  }
  return results;
}

absl::StatusOr<std::vector<MetricValue>> RunKFold(const EvalDataset& data,
                                                  std::span<const ModelSpec> models, Run* run) {
  const Clock::time_point t = Clock::now();
  const std::vector<Split> splits = KFoldSplits(data, run->options.folds, run->options.seed);
  run->timings.Add("split", SecondsSince(t));
  // Per model, the sum of the folds' values (same order each fold) and the fold count.
  std::vector<std::vector<MetricValue>> sums(models.size());
  std::vector<int> counted(models.size(), 0);
  for (size_t f = 0; f < splits.size(); ++f) {
    if (splits[f].tests.empty()) continue;
    const PreparedSplit prepared(splits[f], data.num_users);
    const std::string suffix = StrCat(" (fold ", f + 1, "/", splits.size(), ")");
    for (size_t m = 0; m < models.size(); ++m) {
      ASSIGN_OR_RETURN(MetricAccumulator acc, RunBatch(models[m], prepared, data, suffix, run));
      const std::vector<MetricValue> values = acc.Results(models[m].name);
      if (counted[m]++ == 0) {
        sums[m] = values;
        continue;
      }
      for (size_t i = 0; i < values.size(); ++i) sums[m][i].value += values[i].value;
    }
  }
  if (counted.empty() || counted[0] == 0) {
    return NoQueries("kfold", "no fold has a user with both a train event and a test item");
  }
  std::vector<MetricValue> results;
  for (size_t m = 0; m < models.size(); ++m) {
    for (MetricValue& v : sums[m]) {
      v.value /= counted[m];
      results.push_back(std::move(v));
    }
  }
  return results;
}

// ---- replay ----

absl::StatusOr<std::vector<MetricValue>> RunReplay(const EvalDataset& data,
                                                   std::span<const ModelSpec> models, Run* run) {
  std::vector<std::unique_ptr<EvalModel>> made;
  for (const ModelSpec& spec : models) {
    ASSIGN_OR_RETURN(std::unique_ptr<EvalModel> model, Make(spec));
    if (!model->online()) {
      return absl::InvalidArgumentError(
          StrCat("replay needs models that learn event by event, but model ", spec.name,
                 " is not online; evaluate it with temporal, leave-last-out, kfold or "
                 "session-next"));
    }
    made.push_back(std::move(model));
  }
  const uint32_t catalogue = DistinctItems(data.events);
  const size_t k = run->max_k();
  const int64_t n = static_cast<int64_t>(data.events.size());
  std::vector<MetricValue> results;
  for (size_t m = 0; m < models.size(); ++m) {
    const ModelSpec& spec = models[m];
    EvalModel& model = *made[m];
    RETURN_IF_ERROR(FitTimed(spec, &model, {}, data.num_users, data.num_items, run));
    const std::string stage = StrCat(spec.name, " replay");
    MetricAccumulator acc(run->options.ks, catalogue);
    std::vector<ItemIdx> out;
    const Clock::time_point t = Clock::now();
    for (int64_t i = 0; i < n; ++i) {
      const EvalEvent& e = data.events[i];
      model.RecommendForUser(e.user, k, &NeverExcluded, &out);
      acc.AddQuery(out, {&e.item, 1});
      model.Observe(e);
      if ((i + 1) % 65536 == 0 || i + 1 == n) run->Progress(stage, i + 1, n);
    }
    run->timings.Add(spec.name + ".replay", SecondsSince(t));
    for (MetricValue& v : acc.Results(spec.name)) results.push_back(std::move(v));
    made[m].reset();  // free its state before the next model runs
  }
  return results;
}

// ---- session-next ----

struct SessionNextData {
  std::vector<EvalEvent> train;
  std::vector<std::vector<SessionStep>> tests;  // sessions with >= 2 steps
  uint32_t num_items = 0;
};

SessionStep StepOf(const EvalEvent& e) { return SessionStep{e.item, e.type, e.time}; }

// Given test sessions: one per user, in (time, seq) order.
void GroupTestSessions(const EvalDataset& test, SessionNextData* out) {
  std::vector<std::vector<SessionStep>> by_user(test.num_users);
  for (const EvalEvent& e : test.events) by_user[e.user.value].push_back(StepOf(e));
  for (auto& steps : by_user) {
    if (steps.size() >= 2) out->tests.push_back(std::move(steps));
  }
}

// Own split: sessions starting at or after the temporal cut are the test.
void SplitSessions(const EvalDataset& data, double test_fraction, SessionNextData* out) {
  const Sessions sessions = SplitIntoSessions(data.events);
  const EventTime cut = TemporalCutTime(data.events, test_fraction);
  std::vector<bool> is_test(data.events.size(), false);
  for (size_t s = 0; s < sessions.size(); ++s) {
    const std::span<const uint32_t> events = sessions.of(s);
    if (data.events[events.front()].time < cut) continue;
    for (uint32_t i : events) is_test[i] = true;
    if (events.size() < 2) continue;
    std::vector<SessionStep> steps;
    for (uint32_t i : events) steps.push_back(StepOf(data.events[i]));
    out->tests.push_back(std::move(steps));
  }
  for (size_t i = 0; i < data.events.size(); ++i) {
    if (!is_test[i]) out->train.push_back(data.events[i]);
  }
}

absl::StatusOr<std::vector<MetricValue>> RunSessionNext(const EvalDataset& data,
                                                        const EvalDataset* test,
                                                        std::span<const ModelSpec> models,
                                                        Run* run) {
  const Clock::time_point split_start = Clock::now();
  SessionNextData d;
  d.num_items = data.num_items;
  if (test != nullptr) {
    d.train = data.events;
    d.num_items = std::max(data.num_items, test->num_items);
    GroupTestSessions(*test, &d);
  } else {
    SplitSessions(data, run->options.test_fraction, &d);
  }
  run->timings.Add("split", SecondsSince(split_start));
  if (d.tests.empty()) return NoQueries("session-next", "no test session has 2 or more events");
  if (d.train.empty()) {
    return NoQueries("session-next", "every session is a test session; nothing to train on");
  }
  const uint32_t catalogue = DistinctItems(d.train);
  const size_t k = run->max_k();
  std::vector<MetricValue> results;
  for (const ModelSpec& spec : models) {
    ASSIGN_OR_RETURN(std::unique_ptr<EvalModel> model, Make(spec));
    RETURN_IF_ERROR(FitTimed(spec, model.get(), d.train, data.num_users, d.num_items, run));
    MetricAccumulator acc(run->options.ks, catalogue);
    const Clock::time_point t = Clock::now();
    RunQueries(
        static_cast<int64_t>(d.tests.size()), *run, StrCat(spec.name, " predict"),
        [&](int64_t unit, std::vector<ItemIdx>* out, MetricAccumulator* a) {
          const std::span<const SessionStep> steps = d.tests[unit];
          for (size_t i = 1; i < steps.size(); ++i) {
            model->RecommendForSession(steps.first(i), k, out);
            a->AddQuery(*out, {&steps[i].item, 1});
          }
        },
        &acc);
    run->timings.Add(spec.name + ".predict", SecondsSince(t));
    for (MetricValue& v : acc.Results(spec.name)) results.push_back(std::move(v));
  }
  return results;
}

// ---- Checks ----

absl::Status CheckOptions(const EvaluationOptions& o, bool has_test) {
  if (o.ks.empty()) return absl::InvalidArgumentError("evaluate: no cutoffs k given");
  for (int k : o.ks) {
    if (k <= 0 || k > kMaxCutoff) {
      return absl::InvalidArgumentError(StrCat(
          "evaluate: cutoff k = ", k, " is out of range; each k must be in [1, ", kMaxCutoff, "]"));
    }
  }
  if (o.protocol == Protocol::kKFold && o.folds < 2) {
    return absl::InvalidArgumentError(
        StrCat("evaluate (kfold): folds = ", o.folds, ", but kfold needs at least 2 folds"));
  }
  const bool uses_fraction =
      o.protocol == Protocol::kTemporal || (o.protocol == Protocol::kSessionNext && !has_test);
  if (uses_fraction && !(o.test_fraction > 0 && o.test_fraction < 1)) {
    return absl::InvalidArgumentError(StrCat("evaluate (", ProtocolName(o.protocol),
                                             "): test_fraction = ", o.test_fraction,
                                             ", but it must lie strictly between 0 and 1"));
  }
  if (o.threads < 0) {
    return absl::InvalidArgumentError(
        StrCat("evaluate: threads = ", o.threads, "; give 0 (all cores) or a positive count"));
  }
  if (has_test && o.protocol != Protocol::kSessionNext) {
    return absl::InvalidArgumentError(
        StrCat("evaluate (", ProtocolName(o.protocol),
               "): separate test sessions are only for session-next; the other protocols "
               "split the data themselves"));
  }
  return absl::OkStatus();
}

absl::Status CheckModels(std::span<const ModelSpec> models) {
  if (models.empty()) return absl::InvalidArgumentError("evaluate: no models to evaluate");
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].name.empty() || !models[i].make) {
      return absl::InvalidArgumentError(
          StrCat("evaluate: model number ", i + 1, " has no name or no factory"));
    }
    if (!names.insert(models[i].name).second) {
      return absl::InvalidArgumentError(
          StrCat("evaluate: model ", models[i].name, " is given twice; names must differ"));
    }
  }
  return absl::OkStatus();
}

DatasetStats CombinedStats(const EvalDataset& data, const EvalDataset* test) {
  DatasetStats stats = StatsOf(data);
  if (test == nullptr) return stats;
  const DatasetStats t = StatsOf(*test);
  stats.users += t.users;
  stats.interactions += t.interactions;
  std::vector<EvalEvent> all = data.events;
  all.insert(all.end(), test->events.begin(), test->events.end());
  stats.items = DistinctItems(all);
  return stats;
}

}  // namespace

absl::StatusOr<Protocol> ParseProtocol(std::string_view name) {
  for (const auto& [protocol, text] : kProtocolNames) {
    if (text == name) return protocol;
  }
  return absl::InvalidArgumentError(
      StrCat("unknown protocol \"", name,
             "\"; the protocols are: temporal, leave-last-out, kfold, replay, session-next"));
}

std::string_view ProtocolName(Protocol protocol) {
  for (const auto& [p, text] : kProtocolNames) {
    if (p == protocol) return text;
  }
  return "unknown";
}

absl::StatusOr<EvaluationResult> Evaluate(const EvalDataset& data, const EvalDataset* test,
                                          std::span<const ModelSpec> models,
                                          const EvaluationOptions& options) {
  const Clock::time_point start = Clock::now();
  RETURN_IF_ERROR(CheckOptions(options, test != nullptr));
  RETURN_IF_ERROR(CheckModels(models));
  RETURN_IF_ERROR(ValidateDataset(data, "evaluate: data"));
  if (test != nullptr) RETURN_IF_ERROR(ValidateDataset(*test, "evaluate: test sessions"));

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  Run run{options, options.threads > 0 ? options.threads : cores, {}};
  EvaluationResult result;
  result.protocol = std::string(ProtocolName(options.protocol));
  result.dataset = CombinedStats(data, test);
  absl::StatusOr<std::vector<MetricValue>> values;
  switch (options.protocol) {
    case Protocol::kTemporal:
    case Protocol::kLeaveLastOut: {
      const Clock::time_point t = Clock::now();
      const Split split = options.protocol == Protocol::kTemporal
                              ? TemporalSplit(data, options.test_fraction)
                              : LeaveLastOutSplit(data);
      run.timings.Add("split", SecondsSince(t));
      values = RunSplit(data, split, models, &run);
      break;
    }
    case Protocol::kKFold:
      values = RunKFold(data, models, &run);
      break;
    case Protocol::kReplay:
      values = RunReplay(data, models, &run);
      break;
    case Protocol::kSessionNext:
      values = RunSessionNext(data, test, models, &run);
      break;
  }
  if (!values.ok()) return values.status();
  result.results = *std::move(values);
  run.timings.Add("total", SecondsSince(start));
  result.seconds = run.timings.Take();
  return result;
}

}  // namespace streamrec
