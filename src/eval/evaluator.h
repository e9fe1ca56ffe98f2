#pragma once
// Evaluate: runs models through one protocol and collects ranking metrics and timings.
//
// Protocols (metrics.h defines the metrics; catalogue = the distinct items the models
// learn from):
//   temporal        TemporalSplit; each test user's top-k without their train items.
//   leave-last-out  LeaveLastOutSplit; each user's top-k, nothing excluded.
//   kfold           KFoldSplits; per fold as temporal; each metric is the mean over the
//                   folds of the fold's mean (folds without queries are left out).
//   replay          events in time order; before each event the (online) model gives
//                   the user's top-k with nothing excluded, relevant = the event's item,
//                   then it Observes the event; a user's first event counts too (cold
//                   start). Catalogue: the data's distinct items. Models that are not
//                   online are refused with InvalidArgument naming them.
//   session-next    the models Fit on the training sessions; for each test session
//                   s1..sn and each prefix s1..si (i < n) the relevant item is s(i+1);
//                   nothing excluded; ranked over the training items, so an item not in
//                   training is a miss.
//
// Speed: the queries of a model (a user, or a test session) run on `threads` threads
// over the const model, in fixed chunks of 256 queries, each chunk with its own
// accumulator, merged in chunk order: the results do not depend on the thread count.
// Fit, and replay, run on the calling thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eval/dataset.h"
#include "eval/eval_model.h"
#include "eval/metrics.h"

namespace streamrec {

enum class Protocol { kTemporal, kLeaveLastOut, kKFold, kReplay, kSessionNext };
// "temporal", "leave-last-out", "kfold", "replay", "session-next"; anything else is
// InvalidArgument listing them.
absl::StatusOr<Protocol> ParseProtocol(std::string_view);
std::string_view ProtocolName(Protocol);

struct ModelSpec {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<EvalModel>>()> make;  // a fresh, unfitted model
};

struct EvaluationOptions {
  Protocol protocol = Protocol::kTemporal;
  std::vector<int> ks = {10, 20};  // each in [1, kMaxCutoff]
  int folds = 5;                   // kfold: >= 2
  double test_fraction = 0.1;      // temporal, and session-next's own split: in (0, 1)
  uint64_t seed = 42;              // kfold's shuffle
  int threads = 0;                 // 0: all cores; queries of const models run in parallel
  // Optional. Called from the calling thread or a worker, one call at a time, with
  // stages such as "als fit" or "als predict (fold 2/5)" and queries done of total.
  std::function<void(std::string_view stage, int64_t done, int64_t total)> progress;
};
inline constexpr int kMaxCutoff = 10000;

struct EvaluationResult {
  std::string protocol;
  DatasetStats dataset;
  std::vector<MetricValue> results;  // model order as given, then metric, k
  // e.g. {"split", 0.2}, {"als.fit", 3.1}, {"als.predict", 0.4}, {"total", ...};
  // replay: "<model>.replay"; kfold: sums over the folds.
  std::vector<std::pair<std::string, double>> seconds;
};

// `data`: all events (temporal, leave-last-out, kfold, replay) or the training sessions
// (session-next). `test`: session-next's test sessions (user id = session id: each test
// user is one session, in (time, seq) order; dense item ids in data's item space); for
// other protocols nullptr. If session-next gets test == nullptr it splits `data` itself:
// sessions (per user, 30-minute gap) starting at or after TemporalCutTime(data,
// test_fraction) are the test, the other sessions the training data.
// Dataset stats: of `data`, plus with `test` its users (sessions) and events, and items
// counted once over both.
// Errors (InvalidArgument unless noted): a k out of range, folds < 2 (kfold),
// test_fraction outside (0, 1) where it is used, threads < 0, no models, a model
// without a name or factory or named twice, an invalid dataset (ValidateDataset), `test`
// with another protocol, a model that is not online under replay; FailedPrecondition
// when the protocol finds no test query; any error of a model's factory or Fit, with
// the model's name.
absl::StatusOr<EvaluationResult> Evaluate(const EvalDataset& data, const EvalDataset* test,
                                          std::span<const ModelSpec> models,
                                          const EvaluationOptions& options);

}  // namespace streamrec
