#pragma once
// A Backend for tests: records every call, answers from what the test set up, and can
// hold ingest callbacks back so a test decides when the "engine" completes them.
// Thread-safe (one mutex); the test reads the recorded fields under Lock() or after
// the request that caused them has been answered.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "boost/json/object.hpp"
#include "common/strings.h"
#include "serving/backend.h"

namespace streamrec {

class FakeBackend : public Backend {
 public:
  // What a test sets (before the requests that use it).
  StringSet users{"u1", "u2"};
  StringSet items{"i1", "i2", "i3"};
  std::vector<std::string> extra_models;
  absl::Status ready = absl::OkStatus();
  absl::Status read_error = absl::OkStatus();    // non-OK: every read answers it
  bool throw_on_read = false;                    // every read throws
  bool throw_foreign = false;                    // every read throws a non-std::exception
  absl::Status ingest_error = absl::OkStatus();  // non-OK: Ingest answers it
  bool hold_ingest = false;                      // keep callbacks until CompleteHeld
  bool drop_ingest = false;                      // destroy callbacks without calling them
  bool block_ingest = false;                     // Ingest returns only after Unblock

  // Changes what a test set once requests have been served: under mu, which every
  // read of those fields takes, so the change is ordered after the reads before it.
  template <typename Change>
  void Reconfigure(Change change) {
    std::lock_guard lock(mu);
    change();
  }

  // What the server passed (read after the answer, or under mu).
  std::mutex mu;
  std::vector<IngestEvent> ingested;
  int ingest_calls = 0;
  std::string last_user_id;
  std::string last_model;
  size_t last_k = 0;
  std::vector<std::string> last_exclude;
  std::vector<SessionEvent> last_session;
  PopularWindow last_window = PopularWindow::kAllTime;

  void Ingest(std::vector<IngestEvent> events, IngestCallback done) override {
    std::unique_lock lock(mu);
    ++ingest_calls;
    if (block_ingest) {
      ++blocked_;
      held_changed_.notify_all();
      held_changed_.wait(lock, [&] { return !block_ingest; });
    }
    if (drop_ingest) return;
    if (!ingest_error.ok()) {
      lock.unlock();
      std::move(done)(ingest_error);
      return;
    }
    IngestResult result{events.size(), 0};
    for (IngestEvent& e : events) {
      if (!e.event_id.empty() && !event_ids_.insert(e.event_id).second) ++result.duplicates;
      ingested.push_back(std::move(e));
    }
    if (hold_ingest) {
      held_.emplace_back(result, std::move(done));
      held_changed_.notify_all();
      return;
    }
    lock.unlock();
    std::move(done)(result);
  }

  // Waits until `n` ingest callbacks are held; false after `timeout`.
  bool WaitForHeld(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu);
    return held_changed_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }

  // Waits until an Ingest call blocks (block_ingest); false after `timeout`.
  bool WaitForBlocked(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu);
    return held_changed_.wait_for(lock, timeout, [&] { return blocked_ > 0; });
  }
  // Lets the blocked Ingest calls go on, and later ones not block.
  void Unblock() {
    std::lock_guard lock(mu);
    block_ingest = false;
    held_changed_.notify_all();
  }

  // Calls every held callback, from this thread.
  void CompleteHeld() {
    std::vector<std::pair<IngestResult, IngestCallback>> held;
    {
      std::lock_guard lock(mu);
      held.swap(held_);
    }
    for (auto& [result, done] : held) std::move(done)(result);
  }

  absl::StatusOr<Recommendations> RecommendForUser(std::string_view user_id,
                                                   const RecommendRequest& request) override {
    if (absl::Status fault = ReadFault(); !fault.ok()) return fault;
    std::lock_guard lock(mu);
    last_user_id = user_id;
    Record(request);
    return Answer(request);
  }

  absl::StatusOr<Recommendations> RecommendForSession(std::span<const SessionEvent> events,
                                                      const RecommendRequest& request) override {
    if (absl::Status fault = ReadFault(); !fault.ok()) return fault;
    std::lock_guard lock(mu);
    last_session.assign(events.begin(), events.end());
    Record(request);
    return Answer(request);
  }

  absl::StatusOr<std::vector<RecommendedItem>> SimilarItems(std::string_view item_id, size_t k,
                                                            std::string_view model) override {
    if (absl::Status fault = ReadFault(); !fault.ok()) return fault;
    std::lock_guard lock(mu);
    last_model = std::string(model);
    if (!items.contains(item_id)) {
      return absl::NotFoundError(StrCat("unknown item '", item_id, "'"));
    }
    last_k = k;
    return std::vector<RecommendedItem>{{"i2", 0.5, "bought together"}};
  }

  absl::StatusOr<std::vector<RecommendedItem>> Popular(size_t k, PopularWindow window) override {
    if (absl::Status fault = ReadFault(); !fault.ok()) return fault;
    std::lock_guard lock(mu);
    last_k = k;
    last_window = window;
    return std::vector<RecommendedItem>{{"i1", 10, "trending"}, {"i2", 7.25, "trending"}};
  }

  absl::StatusOr<boost::json::value> UserView(std::string_view user_id) override {
    if (absl::Status fault = ReadFault(); !fault.ok()) return fault;
    std::lock_guard lock(mu);
    if (!users.contains(user_id)) {
      return absl::NotFoundError(StrCat("unknown user '", user_id, "'"));
    }
    return boost::json::object{
        {"user_id", boost::json::string_view(user_id.data(), user_id.size())},
        {"purchases", 3},
        {"spend", 59.9}};
  }

  absl::StatusOr<boost::json::value> ItemView(std::string_view item_id) override {
    if (absl::Status fault = ReadFault(); !fault.ok()) return fault;
    std::lock_guard lock(mu);
    if (!items.contains(item_id)) {
      return absl::NotFoundError(StrCat("unknown item '", item_id, "'"));
    }
    return boost::json::object{
        {"item_id", boost::json::string_view(item_id.data(), item_id.size())}, {"views", 12}};
  }

  std::vector<std::string> ExtraModels() override {
    std::lock_guard lock(mu);
    return extra_models;
  }

  absl::Status Ready() override {
    std::lock_guard lock(mu);
    return ready;
  }

  void AppendMetrics(std::string* out) override {
    out->append("# TYPE fake_backend_up gauge\nfake_backend_up 1\n");
  }

  void WriteSnapshot(SnapshotCallback done) override {
    std::move(done)(SnapshotResult{1234, "snapshot-000001"});
  }

  void Retrain(std::string_view model, RetrainCallback done) override {
    if (!model.empty() && model != "als") {
      std::move(done)(absl::InvalidArgumentError(StrCat("model: cannot retrain '", model, "'")));
      return;
    }
    std::move(done)(RetrainResult{"als", 42, 0.5});
  }

 private:
  struct ForeignFailure {};  // not a std::exception: no handler on the way names it
  absl::Status ReadFault() {
    std::lock_guard lock(mu);
    if (throw_on_read) throw std::runtime_error("fake backend failure");
    if (throw_foreign) throw ForeignFailure{};
    return read_error;
  }
  void Record(const RecommendRequest& request) {
    last_model = request.model;
    last_k = request.k;
    last_exclude = request.exclude;
  }

  static Recommendations Answer(const RecommendRequest& request) {
    Recommendations recs{std::string(request.model), "rec-1", {}};
    for (size_t i = 0; i < std::min<size_t>(request.k, 3); ++i) {
      recs.items.push_back({StrCat("i", i + 1), 1.0 / static_cast<double>(i + 1), "because"});
    }
    return recs;
  }

  StringSet event_ids_;
  std::vector<std::pair<IngestResult, IngestCallback>> held_;
  std::condition_variable held_changed_;  // held_ or blocked_ changed, or Unblock
  int blocked_ = 0;                       // Ingest calls that blocked (block_ingest)
};

}  // namespace streamrec
