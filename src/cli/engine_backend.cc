#include "cli/engine_backend.h"

#include <algorithm>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "common/strings.h"
#include "models/blend.h"

namespace streamrec {
namespace {

std::optional<ModelKind> ParseModel(std::string_view name) {
  if (name.empty() || name == "hybrid") return ModelKind::kHybrid;
  if (name == "popular") return ModelKind::kPopular;
  if (name == "trending") return ModelKind::kTrending;
  if (name == "item") return ModelKind::kItem;
  if (name == "session") return ModelKind::kSession;
  return std::nullopt;
}

std::string ReasonText(const Reason& reason, const IdDictionary& ids) {
  auto anchor = [&] {
    return reason.anchor.valid() && reason.anchor.value < ids.items.size()
               ? std::string(ids.items.Name(reason.anchor))
               : std::string("your recent items");
  };
  switch (reason.kind) {
    case ReasonKind::kViewedTogether:
      return StrCat("viewed together with ", anchor());
    case ReasonKind::kBoughtTogether:
      return StrCat("bought together with ", anchor());
    case ReasonKind::kSimilarToSession:
      return StrCat("similar to ", anchor(), " in this session");
    case ReasonKind::kTrending:
      return "trending";
    case ReasonKind::kPopular:
      return "popular";
    case ReasonKind::kForYou:
      return "picked for you from your history";
    case ReasonKind::kViewedRecently:
      return "you viewed it recently";
    case ReasonKind::kSameTaste:
      return StrCat("liked by the people who like ", anchor());
    case ReasonKind::kNone:
      break;
  }
  return "";
}

std::vector<RecommendedItem> Render(const std::vector<ScoredItem>& scored,
                                    const IdDictionary& ids) {
  std::vector<RecommendedItem> out;
  out.reserve(scored.size());
  for (const ScoredItem& s : scored) {
    out.push_back(
        RecommendedItem{std::string(ids.items.Name(s.item)), s.score, ReasonText(s.reason, ids)});
  }
  return out;
}

std::vector<ItemIdx> KnownItems(const std::vector<std::string>& names, const IdDictionary& ids) {
  std::vector<ItemIdx> out;
  for (const std::string& n : names) {
    if (auto item = ids.items.Find(n)) out.push_back(*item);
  }
  return out;
}

// Calls fn(ItemIdx) for the item of each purchase among `pending` (a user's records that
// wait in the reorder buffer).
template <typename Fn>
void ForEachPendingPurchase(std::span<const Record> pending, Fn&& fn) {
  for (const Record& r : pending) {
    if (r.kind == RecordKind::kPurchase) fn(r.item);
  }
}

// What a batch model needs of the engine's state to recommend for a user, copied under
// the shared lock so that the model's work (a fold-in and a scan of the catalogue) runs
// outside it: the user's interactions in the model's item ids, and the items the answer
// must leave out.
struct BatchInput {
  std::vector<ItemIdx> items;  // model items
  std::vector<float> weights;
  absl::flat_hash_set<ItemIdx> excluded;  // engine items
};

// The user's row of the engine's user-item matrix (ALS folds it in at request time, so
// new and changed users get personal results at once); the items bought (in the matrix
// or pending), when `exclude_purchased`, and `exclude` are left out.
BatchInput GatherBatchInput(const ServedModel& served, const LiveState& s, UserIdx user,
                            bool exclude_purchased, std::span<const ItemIdx> exclude) {
  BatchInput in;
  in.excluded.insert(exclude.begin(), exclude.end());
  const UserItemMatrix& matrix = s.ops.user_item_matrix();
  matrix.ForEachInRow(user, [&](ItemIdx item, const Interaction& cell) {
    if (exclude_purchased && cell.purchase_count > 0) in.excluded.insert(item);
    const uint32_t m = served.ModelItem(item);
    const double weight = InteractionWeight(matrix, cell);
    if (m != ServedModel::kUnknown && weight > 0) {
      in.items.push_back(ItemIdx(m));
      in.weights.push_back(static_cast<float>(weight));
    }
  });
  if (exclude_purchased) {
    ForEachPendingPurchase(s.buffer.PendingOf(user),
                           [&](ItemIdx item) { in.excluded.insert(item); });
  }
  return in;
}

// A batch model's top n from GatherBatchInput's copy, in engine item ids, and for ALS
// the user's folded-in factors in `*als_factors` (the blend scores the live list's items
// with them). Both empty for a user without interactions the model knows.
void BatchRecommend(const ServedModel& served, const BatchInput& in, size_t n,
                    std::vector<ScoredItem>* out, std::vector<float>* als_factors) {
  out->clear();
  als_factors->clear();
  if (in.items.empty()) return;
  const auto model_excluded = [&](ItemIdx m) {
    const ItemIdx live = served.live_item[m.value];
    return !live.valid() || in.excluded.contains(live);
  };
  if (served.model.als) {
    *als_factors = served.model.als->FoldIn(in.items, in.weights);
    served.model.als->Recommend(*als_factors, n, model_excluded, out);
  } else if (served.model.item_knn) {
    served.model.item_knn->Recommend(in.items, in.weights, n, model_excluded, out);
  }
  for (ScoredItem& r : *out) {
    r.item = served.live_item[r.item.value];
    r.reason = Reason{ReasonKind::kForYou, ItemIdx()};
  }
}

// The ALS scores of engine items for `factors`, the floats its top n has; 0 for an item
// the model does not know (new since its training).
std::vector<float> AlsScores(const ServedModel& served, std::span<const float> factors,
                             std::span<const ScoredItem> items) {
  std::vector<ItemIdx> model_items;
  model_items.reserve(items.size());
  for (const ScoredItem& s : items) model_items.push_back(ItemIdx(served.ModelItem(s.item)));
  std::vector<float> scores(items.size());
  served.model.als->Score(factors, model_items, scores);
  return scores;
}

boost::json::value Nullable(std::optional<double> v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

}  // namespace

EngineBackend::EngineBackend(LiveEngine* engine, EngineBackendOptions options)
    : engine_(engine), options_(options), id_salt_(std::random_device{}()) {}

EngineBackend::~EngineBackend() {
  std::lock_guard lock(snapshot_mu_);
  snapshot_threads_.clear();  // joins
}

void EngineBackend::Ingest(std::vector<IngestEvent> events, IngestCallback done) {
  std::vector<IncomingEvent> incoming;
  incoming.reserve(events.size());
  for (IngestEvent& e : events) {
    incoming.push_back(IncomingEvent{std::move(e.user_id), std::move(e.item_id),
                                     std::move(e.event_id), e.type, e.time, e.amount});
  }
  auto callback = std::make_shared<IngestCallback>(std::move(done));
  engine_->Ingest(std::move(incoming), [callback](absl::StatusOr<IngestAck> ack) {
    if (!ack.ok()) {
      std::move (*callback)(ack.status());
      return;
    }
    std::move (*callback)(IngestResult{ack->accepted + ack->duplicates, ack->duplicates});
  });
}

std::string EngineBackend::NextRecommendationId() {
  const uint64_t n = recommendations_.fetch_add(1);
  return fmt::format("r{:016x}{:08x}", id_salt_, n);
}

absl::StatusOr<Recommendations> EngineBackend::RecommendForUser(std::string_view user_id,
                                                                const RecommendRequest& request) {
  const std::string_view model = request.model.empty() ? "hybrid" : request.model;
  ModelSlot* batch_slot = model == "als"       ? options_.als
                          : model == "itemknn" ? options_.item_knn
                                               : nullptr;
  const std::optional<ModelKind> kind =
      batch_slot != nullptr ? ModelKind::kHybrid : ParseModel(model);
  if (!kind) return absl::InvalidArgumentError(StrCat("unknown model ", model));
  // The batch model of this answer: the one asked for, or ALS inside the hybrid.
  std::shared_ptr<const ServedModel> batch;
  if (batch_slot != nullptr) {
    batch = batch_slot->Current();
    if (batch == nullptr) {
      return absl::UnavailableError(StrCat(
          "no ", model, " model yet (trained in the background once there are interactions)"));
    }
  } else if (*kind == ModelKind::kHybrid && options_.als != nullptr &&
             options_.hybrid_als_weight > 0) {
    batch = options_.als->Current();
  }
  Recommendations out;
  out.model = std::string(model);
  out.recommendation_id = NextRecommendationId();
  // The batch model's list first, its inputs copied under the lock and its work done
  // outside, so that a scan of the catalogue never holds up ingest. The two reads see the
  // state at two moments; everything acknowledged before the request is in both, and
  // what lands between them is reconciled in the second: a user first seen there is
  // answered as unknown to the first (popular for model=als), and an item bought in
  // between leaves the batch list (which then holds fewer than k: the blend goes on with
  // the rest).
  std::vector<ScoredItem> from_batch;
  std::vector<float> als_factors;
  std::optional<BatchInput> input;
  if (batch != nullptr) {
    engine_->Read([&](const LiveState& s) {
      if (const std::optional<UserIdx> user = s.ids.users.Find(user_id)) {
        input = GatherBatchInput(*batch, s, *user, options_.exclude_purchased,
                                 KnownItems(request.exclude, s.ids));
      }
    });
    if (input) {
      // The blend needs the batch model's top k only: it scores the live list's items
      // itself, and an item outside both lists cannot beat the k-th (models/blend.h).
      BatchRecommend(*batch, *input, request.k, &from_batch, &als_factors);
    }
  }
  const EventTime now = engine_->Now();
  engine_->Read([&](const LiveState& s) {
    const std::vector<ItemIdx> exclude = KnownItems(request.exclude, s.ids);
    std::vector<ScoredItem> scored;
    const std::optional<UserIdx> user = s.ids.users.Find(user_id);
    // A batch model asked for by name answers from popular for a user it can say nothing
    // of: unknown, or whose items are all newer than the model.
    if (!user || (batch_slot != nullptr && (!input || input->items.empty()))) {
      s.models.Popular(request.k, *kind != ModelKind::kPopular, now, {.exclude = exclude}, &scored);
      out.items = Render(scored, s.ids);
      return;
    }
    const std::span<const Record> pending = s.buffer.PendingOf(*user);
    // The items the user bought (in the matrix or pending), sorted: the filter asks about
    // hundreds of candidates, and a row is scanned faster than probed that often.
    std::vector<ItemIdx> bought;
    if (options_.exclude_purchased) {
      s.ops.user_item_matrix().ForEachInRow(*user, [&](ItemIdx item, const Interaction& cell) {
        if (cell.purchase_count > 0) bought.push_back(item);
      });
      ForEachPendingPurchase(pending, [&](ItemIdx item) { bought.push_back(item); });
      std::sort(bought.begin(), bought.end());
    }
    auto purchased = [&](ItemIdx item) {
      return std::binary_search(bought.begin(), bought.end(), item);
    };
    std::erase_if(from_batch, [&](const ScoredItem& r) { return purchased(r.item); });
    if (batch_slot != nullptr) {
      out.items = Render(from_batch, s.ids);
      return;
    }
    // For a blend, deeper than k: of those, the k kept are told bought-together below.
    const size_t live_k = batch != nullptr ? BlendDepth(request.k) : request.k;
    const Filter filter{
        .exclude = exclude, .exclude_if = purchased, .tell_bought_together = batch == nullptr};
    if (pending.empty()) {
      s.models.RecommendForUser(*user, live_k, *kind, filter, &scored);
    } else {
      // Recent items (most recent first) then the pending events, as one session.
      std::vector<SessionItem> session;
      const std::vector<RecentItem> recent = s.models.RecentItems(*user);
      for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
        session.push_back(SessionItem{it->item, it->type, it->time});
      }
      for (const Record& r : pending) {
        if (r.kind == RecordKind::kEvent) session.push_back(SessionItem{r.item, r.type, r.time});
      }
      s.models.RecommendForSession(session, live_k, *kind, filter, &scored);
    }
    if (!from_batch.empty()) {
      const std::vector<float> als_of_live = AlsScores(*batch, als_factors, scored);
      std::vector<ScoredItem> blended;
      BlendLiveAndBatch(scored, als_of_live, from_batch, options_.hybrid_als_weight, request.k,
                        &blended);
      scored.swap(blended);
    } else if (scored.size() > request.k) {
      scored.resize(request.k);  // asked deeper for a blend that ALS had nothing for
    }
    if (!filter.tell_bought_together) s.models.TellBoughtTogether(scored);
    out.items = Render(scored, s.ids);
  });
  return out;
}

absl::StatusOr<Recommendations> EngineBackend::RecommendForSession(
    std::span<const SessionEvent> events, const RecommendRequest& request) {
  const std::optional<ModelKind> kind = ParseModel(request.model);
  if (!kind) return absl::InvalidArgumentError(StrCat("unknown model ", request.model));
  Recommendations out;
  out.model = request.model.empty() ? "hybrid" : std::string(request.model);
  out.recommendation_id = NextRecommendationId();
  engine_->Read([&](const LiveState& s) {
    std::vector<SessionItem> session;
    for (const SessionEvent& e : events) {
      if (auto item = s.ids.items.Find(e.item_id)) session.push_back({*item, e.type, e.time});
    }
    const std::vector<ItemIdx> exclude = KnownItems(request.exclude, s.ids);
    std::vector<ScoredItem> scored;
    s.models.RecommendForSession(session, request.k, *kind, {.exclude = exclude}, &scored);
    out.items = Render(scored, s.ids);
  });
  return out;
}

absl::StatusOr<std::vector<RecommendedItem>> EngineBackend::SimilarItems(std::string_view item_id,
                                                                         size_t k,
                                                                         std::string_view model) {
  // The live co-occurrence neighbours, or the cosine of ALS item factors.
  std::shared_ptr<const ServedModel> als;
  if (model == "als") {
    als = options_.als != nullptr ? options_.als->Current() : nullptr;
    if (als == nullptr) {
      return absl::UnavailableError(
          "no als model yet (trained in the background once there are interactions)");
    }
  } else if (!model.empty() && model != "item") {
    return absl::InvalidArgumentError(
        StrCat("model: similar items come from item (default) or als, not ", model));
  }
  return engine_->Read([&](const LiveState& s) -> absl::StatusOr<std::vector<RecommendedItem>> {
    const std::optional<ItemIdx> item = s.ids.items.Find(item_id);
    if (!item) return absl::NotFoundError(StrCat("unknown item '", item_id, "'"));
    std::vector<ScoredItem> scored;
    if (als == nullptr) {
      s.models.SimilarItems(*item, k, &scored);
    } else if (const uint32_t m = als->ModelItem(*item); m != ServedModel::kUnknown) {
      // Items of a model file may be unknown here: ask deeper, keep the known ones.
      als->model.als->SimilarItems(ItemIdx(m), 2 * k + 16, &scored);
      std::erase_if(scored,
                    [&](const ScoredItem& r) { return !als->live_item[r.item.value].valid(); });
      if (scored.size() > k) scored.resize(k);
      for (ScoredItem& r : scored) {
        r.item = als->live_item[r.item.value];
        r.reason = Reason{ReasonKind::kSameTaste, *item};
      }
    }
    return Render(scored, s.ids);
  });
}

absl::StatusOr<std::vector<RecommendedItem>> EngineBackend::Popular(size_t k,
                                                                    PopularWindow window) {
  const EventTime now = engine_->Now();
  return engine_->Read([&](const LiveState& s) {
    std::vector<ScoredItem> scored;
    s.models.Popular(k, window == PopularWindow::kTrending, now, {}, &scored);
    return Render(scored, s.ids);
  });
}

absl::StatusOr<boost::json::value> EngineBackend::UserView(std::string_view user_id) {
  return engine_->Read([&](const LiveState& s) -> absl::StatusOr<boost::json::value> {
    const std::optional<UserIdx> user = s.ids.users.Find(user_id);
    if (!user) return absl::NotFoundError(StrCat("unknown user '", user_id, "'"));
    const PurchaseTotals p = s.ops.purchase_history().Totals(*user);
    const EngagementCounts e = s.ops.user_engagement(*user);
    boost::json::object view;
    view["user_id"] = user_id;
    view["features"] = boost::json::object{{"total_purchases", p.count},
                                           {"total_spent", p.amount},
                                           {"avg_spent", Nullable(p.Average())},
                                           {"num_views", e.views},
                                           {"num_clicks", e.clicks},
                                           {"num_add_to_cart", e.add_to_cart}};
    const Session* open = s.ops.sessionizer().Current(*user);
    if (open == nullptr) {
      view["profile"] = nullptr;
      view["current_session"] = nullptr;
    } else {
      const UserProfile pr = s.ops.user_profiles().Profile(*user, *open);
      view["profile"] =
          boost::json::object{{"total_sessions", pr.total_sessions},
                              {"avg_clicks_per_session", pr.avg_clicks_per_session},
                              {"avg_views_per_session", pr.avg_views_per_session},
                              {"avg_session_length", pr.avg_session_length},
                              {"avg_time_gap", pr.avg_time_gap},
                              {"avg_purchase_amount", Nullable(pr.avg_purchase_amount)},
                              {"max_past_purchases", pr.max_past_purchases},
                              {"last_session_clicks", pr.last_session_clicks},
                              {"last_session_views", pr.last_session_views},
                              {"last_session_length", pr.last_session_length},
                              {"last_session_event", EventTypeName(pr.last_session_event)}};
      view["current_session"] =
          boost::json::object{{"session_index", open->index},
                              {"session_start", FormatTime(open->start)},
                              {"session_end", FormatTime(open->end)},
                              {"num_events", open->num_events},
                              {"num_views", open->count(EventType::kView)},
                              {"num_clicks", open->count(EventType::kClick)},
                              {"num_add_to_cart", open->count(EventType::kAddToCart)},
                              {"num_purchases", open->count(EventType::kPurchase)},
                              {"session_length", open->LengthSeconds()},
                              {"avg_time_gap", open->AverageGapSeconds()},
                              {"last_event", EventTypeName(open->last_event)},
                              {"avg_purchase_amount", Nullable(open->history_at_end.Average())},
                              {"past_purchases", open->history_at_end.count}};
    }
    boost::json::array recent;
    // Pending records first (newest), then what the models hold.
    const std::span<const Record> pending = s.buffer.PendingOf(*user);
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
      if (it->kind != RecordKind::kEvent) continue;
      recent.push_back(boost::json::object{{"item_id", s.ids.items.Name(it->item)},
                                           {"event_type", EventTypeName(it->type)},
                                           {"timestamp", FormatTime(it->time)}});
    }
    for (const RecentItem& r : s.models.RecentItems(*user)) {
      recent.push_back(boost::json::object{{"item_id", s.ids.items.Name(r.item)},
                                           {"event_type", EventTypeName(r.type)},
                                           {"timestamp", FormatTime(r.time)}});
    }
    view["recent_items"] = std::move(recent);
    view["pending_events"] = pending.size();
    return boost::json::value(std::move(view));
  });
}

absl::StatusOr<boost::json::value> EngineBackend::ItemView(std::string_view item_id) {
  return engine_->Read([&](const LiveState& s) -> absl::StatusOr<boost::json::value> {
    const std::optional<ItemIdx> item = s.ids.items.Find(item_id);
    if (!item) return absl::NotFoundError(StrCat("unknown item '", item_id, "'"));
    const ItemAggregate a = s.ops.item_features().Get(*item);
    boost::json::object view;
    view["item_id"] = item_id;
    view["features"] = boost::json::object{
        {"total_sales", a.sales},
        {"revenue", a.revenue},
        {"avg_price", Nullable(a.sales > 0 ? std::optional(a.revenue / a.sales) : std::nullopt)},
        {"num_views", a.engagement.views},
        {"num_clicks", a.engagement.clicks},
        {"num_add_to_cart", a.engagement.add_to_cart}};
    std::vector<ScoredItem> scored;
    s.models.SimilarItems(*item, 10, &scored);
    boost::json::array neighbours;
    for (const RecommendedItem& r : Render(scored, s.ids)) {
      neighbours.push_back(boost::json::object{{"item_id", r.item_id}, {"score", r.score}});
    }
    view["neighbours"] = std::move(neighbours);
    return boost::json::value(std::move(view));
  });
}

std::vector<std::string> EngineBackend::ExtraModels() {
  std::vector<std::string> names;
  if (options_.als != nullptr) names.push_back("als");
  if (options_.item_knn != nullptr) names.push_back("itemknn");
  return names;
}

absl::Status EngineBackend::Ready() { return absl::OkStatus(); }

void EngineBackend::AppendMetrics(std::string* out) {
  *out += engine_->MetricsText();
  const std::pair<const char*, const ModelSlot*> slots[] = {{"als", options_.als},
                                                            {"itemknn", options_.item_knn}};
  *out +=
      "# HELP streamrec_batch_model_trainings_total Batch models swapped in after start (trainings "
      "and reloaded files).\n"
      "# TYPE streamrec_batch_model_trainings_total counter\n";
  for (const auto& [name, slot] : slots) {
    if (slot == nullptr) continue;
    *out += fmt::format("streamrec_batch_model_trainings_total{{model=\"{}\"}} {}\n", name,
                        slot->stats().trainings);
  }
  *out +=
      "# HELP streamrec_batch_model_training_failures_total Trainings that kept the old model.\n"
      "# TYPE streamrec_batch_model_training_failures_total counter\n";
  for (const auto& [name, slot] : slots) {
    if (slot == nullptr) continue;
    *out += fmt::format("streamrec_batch_model_training_failures_total{{model=\"{}\"}} {}\n", name,
                        slot->stats().failures);
  }
  *out +=
      "# HELP streamrec_batch_model_training_seconds Duration of the last training.\n"
      "# TYPE streamrec_batch_model_training_seconds gauge\n";
  for (const auto& [name, slot] : slots) {
    if (slot == nullptr) continue;
    *out += fmt::format("streamrec_batch_model_training_seconds{{model=\"{}\"}} {}\n", name,
                        slot->stats().last_seconds);
  }
}

void EngineBackend::WriteSnapshot(SnapshotCallback done) {
  std::lock_guard lock(snapshot_mu_);
  // SnapshotNow blocks until the writer has written it, so it runs on its own thread;
  // threads whose snapshot is written are joined here (at once: they have finished).
  std::erase_if(snapshot_threads_, [](const SnapshotThread& t) { return t.finished->load(); });
  auto finished = std::make_shared<std::atomic<bool>>(false);
  snapshot_threads_.push_back(SnapshotThread{
      std::jthread([this, finished, done = std::move(done)]() mutable {
        const absl::StatusOr<LogOffset> covered = engine_->SnapshotNow();
        if (covered.ok()) {
          std::move(done)(SnapshotResult{covered->value, SnapshotFileName(*covered)});
        } else {
          std::move(done)(covered.status());
        }
        finished->store(true);
      }),
      finished});
}

}  // namespace streamrec

namespace streamrec {

void EngineBackend::Retrain(std::string_view model, RetrainCallback done) {
  const std::string name = !model.empty()            ? std::string(model)
                           : options_.als != nullptr ? "als"
                                                     : "itemknn";
  ModelSlot* slot = name == "als" ? options_.als : name == "itemknn" ? options_.item_knn : nullptr;
  if (slot == nullptr) {
    std::string trained;
    if (options_.als != nullptr) trained += " als";
    if (options_.item_knn != nullptr) trained += " itemknn";
    std::move(done)(absl::InvalidArgumentError(
        StrCat("model: cannot retrain '", name,
               "' (trained here:", trained.empty() ? " none" : trained, ")")));
    return;
  }
  auto callback = std::make_shared<RetrainCallback>(std::move(done));
  slot->RetrainSoon([callback, name](absl::StatusOr<std::shared_ptr<const ServedModel>> served) {
    if (!served.ok()) {
      std::move (*callback)(absl::UnavailableError(
          StrCat("training failed; the current model keeps serving: ", served.status().message())));
      return;
    }
    std::move (*callback)(RetrainResult{name, (*served)->interactions, (*served)->train_seconds});
  });
}

}  // namespace streamrec
