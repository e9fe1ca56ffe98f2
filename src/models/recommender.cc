#include "models/recommender.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "common/check.h"
#include "common/strings.h"
#include "models/top_pool.h"

namespace streamrec {

// A session candidate: its summed score and the anchor that contributed most.
struct Recommender::Candidate {
  ItemIdx item;
  double score = 0;
  ItemIdx anchor;
  double anchor_score = 0;  // the best anchor's contribution
};

// A request's session candidates, each item once, with a table from item to candidate:
// open addressing over indices into `list`, at least twice as many slots as candidates.
// Summing ~500 contributions costs a probe each, where sorting them by item cost more
// than the rest of the sum.
class Recommender::CandidateSet {
 public:
  // Empties the set, with room for `n` candidates.
  void Reset(size_t n) {
    list.clear();
    list.reserve(n);
    size_t slots = 16;
    while (slots < 2 * n) slots *= 2;
    shift_ = 32 - static_cast<int>(std::countr_zero(slots));
    slots_.assign(slots, kEmpty);
  }
  // The candidate of `item`, appended (score 0, anchor `anchor`) if it is not in the set.
  // REQUIRES: fewer than the `n` of Reset candidates, if it is new.
  Candidate& FindOrAdd(ItemIdx item, ItemIdx anchor) {
    uint32_t& slot = slots_[SlotOf(item)];
    if (slot == kEmpty) {
      slot = static_cast<uint32_t>(list.size());
      list.push_back(Candidate{item, 0, anchor, -1});
    }
    return list[slot];
  }
  const Candidate* Find(ItemIdx item) const {
    const uint32_t index = slots_[SlotOf(item)];
    return index == kEmpty ? nullptr : &list[index];
  }
  // Keeps the candidates for which keep(c) holds, in their order.
  template <typename Keep>
  void KeepIf(Keep&& keep) {
    std::erase_if(list, [&](const Candidate& c) { return !keep(c); });
    std::fill(slots_.begin(), slots_.end(), kEmpty);
    for (size_t i = 0; i < list.size(); ++i) {
      slots_[SlotOf(list[i].item)] = static_cast<uint32_t>(i);
    }
  }

  std::vector<Candidate> list;  // in the order of their first contributions

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  // The slot of `item`, or the empty slot where it would go.
  size_t SlotOf(ItemIdx item) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = (item.value * 0x9E3779B1u) >> shift_;; i = (i + 1) & mask) {
      if (slots_[i] == kEmpty || list[slots_[i]].item == item) return i;
    }
  }

  std::vector<uint32_t> slots_;
  int shift_ = 28;
};

// The items a request leaves out: the filter's ids and predicate, and from the user's
// recent items the current one and purchased ones if the filter asks.
class Recommender::Excluder {
 public:
  Excluder(const Filter& filter, std::span<const RecentSlot> row) : filter_(filter) {
    ids_.assign(filter.exclude.begin(), filter.exclude.end());
    for (size_t p = 0; p < row.size() && row[p].item.valid(); ++p) {
      if ((p == 0 && filter.exclude_current_item) ||
          (filter.exclude_recent_purchases && row[p].type() == EventType::kPurchase)) {
        ids_.push_back(row[p].item);
      }
    }
    std::sort(ids_.begin(), ids_.end());
  }
  bool operator()(ItemIdx item) const {
    return std::binary_search(ids_.begin(), ids_.end(), item) || filter_.exclude_if(item);
  }

 private:
  const Filter& filter_;
  std::vector<ItemIdx> ids_;
};

namespace {

// The number of used slots of a row (rows fill from the front).
size_t Used(std::span<const RecentSlot> row) {
  size_t n = 0;
  while (n < row.size() && row[n].item.valid()) ++n;
  return n;
}

void SortAndCut(size_t k, std::vector<ScoredItem>* out) {
  const auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return RanksBefore(a.score, a.item.value, b.score, b.item.value);
  };
  if (out->size() > k) {
    std::partial_sort(out->begin(), out->begin() + k, out->end(), better);
    out->resize(k);
  } else {
    std::sort(out->begin(), out->end(), better);
  }
}

}  // namespace

uint64_t ModelSnapshotChecksum(std::string_view bytes) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  for (; i < bytes.size(); ++i) {
    h = (h ^ static_cast<uint8_t>(bytes[i])) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
  }
  return h;
}

namespace {

constexpr uint64_t kSnapshotMagic = 0x534c45444f4d5253ULL;  // "SRMODELS"
constexpr uint32_t kSnapshotVersion = 2;

}  // namespace

Recommender::Recommender(ModelConfig config, int update_threads)
    : config_(config),
      popularity_(config),
      co_(config),
      recent_(config.recent_items),
      update_threads_(update_threads) {
  const absl::Status valid = ValidateModelConfig(config);
  STREAMREC_CHECK(valid.ok()) << valid.message();
  STREAMREC_CHECK(update_threads == 1 || update_threads == 2) << update_threads;
  // Two threads: up to eleven chunks queued for the worker absorb the jitter between the
  // stages. The caller's work comes in bursts: the feature operators for a batch of
  // records, then its events' chunks at once (four for 4,096 records). With three queued
  // the caller blocked within its burst, and the worker could run dry while the caller
  // ran the operators for the next. A reader waits for the queue all the same (Flush
  // ends every write), so a longer one costs reads nothing.
  constexpr size_t kBuffers = 12;
  pending_.resize(update_threads == 2 ? kBuffers : 1);
  if (update_threads == 2) {
    worker_ = std::make_unique<BackgroundWorker>("pair-updates", kBuffers - 1);
    co_.GrowPairsInBackground();
  }
}

Recommender::~Recommender() = default;  // worker_ first: it waits for its job

Recommender::Recommender(Recommender&& other) noexcept = default;
Recommender& Recommender::operator=(Recommender&& other) noexcept = default;

void Recommender::Flush() {
  if (!in_flight_) return;
  worker_->Wait();
  in_flight_ = false;
}

void Recommender::CheckFlushed() const {
  STREAMREC_CHECK(!in_flight_) << "recommender read while pair updates are in flight (Flush)";
}

float Recommender::PairGain(float a, float b) const {
  switch (config_.pair_weighting) {
    case PairWeighting::kStronger:
      return std::max(a, b);
    case PairWeighting::kWeaker:
      return std::min(a, b);
    case PairWeighting::kProduct:
      return a * b;
  }
  return 0;
}

void Recommender::Observe(const ModelEvent& e) { ObserveBatch({&e, 1}); }

void Recommender::ObserveBatch(std::span<const ModelEvent> events) {
  // Events in chunks: each event updates popularity, its user's row and norms at once
  // and queues its pair updates (nothing here reads pairs), then the chunk's pair updates
  // go to CoOccurrence::AddPairs together, which overlaps their cache misses. Each event
  // reads its user's row and its item's state, spread over tens of MB: prefetching them
  // some events ahead overlaps those misses too.
  constexpr size_t kAhead = 16;
  constexpr size_t kChunk = 1024;
  constexpr size_t kInlineChunk = 256;
  const size_t n = events.size();
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t end = std::min(n, begin + kChunk);
    std::vector<CoOccurrence::PairUpdate>& pending = pending_[chunks_queued_ % pending_.size()];
    pending.clear();
    for (size_t i = begin; i < end; ++i) {
      if (i + kAhead < n) {
        const ModelEvent& a = events[i + kAhead];
        popularity_.Prefetch(a.item);
        co_.PrefetchNorm(a.item);
        recent_.Prefetch(a.user);
      }
      const ModelEvent& e = events[i];
      STREAMREC_CHECK(e.user.valid() && e.item.valid()) << "event without a user or item id";
      ++events_observed_;
      if (!e.popularity_counted) ObservePopularity(e.item, e.type, e.time);
      if (e.late) {
        ++late_events_;
        continue;
      }
      ObserveSequence(e, &pending);
    }
    // A small chunk with nothing in flight is applied here: handing it over would cost
    // more than it saves, and a lone event (a live request) would wait for the worker
    // to be scheduled.
    if (worker_ == nullptr || (!in_flight_ && end - begin < kInlineChunk)) {
      co_.AddPairs(pending);
    } else if (!pending.empty()) {
      worker_->Run([this, &pending] { co_.AddPairs(pending); });
      ++chunks_queued_;
      in_flight_ = true;
    }
  }
}

void Recommender::ObserveSequence(const ModelEvent& e,
                                  std::vector<CoOccurrence::PairUpdate>* pending) {
  const std::span<RecentSlot> row = recent_.Row(e.user);
  const uint32_t width = recent_.width();
  const uint32_t session = e.session & kSessionMask;
  // `at`: the item's slot, or else the first unused slot, or else width.
  uint32_t at = 0;
  while (at < width && row[at].item.valid() && row[at].item != e.item) ++at;
  const bool present = at < width && row[at].item == e.item;
  const float weight = config_.event_weights[static_cast<int>(e.type)];

  if (present && row[at].session() == session) {
    const EventType old_type = row[at].type();
    const float old_weight = config_.event_weights[static_cast<int>(old_type)];
    RecentSlot slot = row[at];
    if (weight > old_weight) {
      co_.AddNorm(e.item, weight - old_weight);
      PairWithWindow(row, at, e.item, session, &old_type, e.type, pending);
      slot.Set(session, e.type);
    }
    slot.time = e.time;
    std::copy_backward(row.begin(), row.begin() + at, row.begin() + at + 1);
    row[0] = slot;
    return;
  }
  co_.AddNorm(e.item, weight);
  PairWithWindow(row, present ? at : width, e.item, session, nullptr, e.type, pending);
  // The new entry overwrites the item's older-session slot, the first unused slot, or
  // (row full) the oldest.
  const uint32_t end = present ? at : std::min(at, width - 1);
  std::copy_backward(row.begin(), row.begin() + end, row.begin() + end + 1);
  row[0].item = e.item;
  row[0].Set(session, e.type);
  row[0].time = e.time;
}

void Recommender::PairWithWindow(std::span<const RecentSlot> row, uint32_t skip, ItemIdx item,
                                 uint32_t session, const EventType* old_type, EventType new_type,
                                 std::vector<CoOccurrence::PairUpdate>* pending) {
  const float new_weight = config_.event_weights[static_cast<int>(new_type)];
  const float old_weight =
      old_type != nullptr ? config_.event_weights[static_cast<int>(*old_type)] : 0;
  const bool new_purchase = new_type == EventType::kPurchase &&
                            (old_type == nullptr || *old_type != EventType::kPurchase);
  uint32_t paired = 0;
  for (uint32_t p = 0; p < row.size() && paired < config_.pair_window; ++p) {
    const RecentSlot& other = row[p];
    if (!other.item.valid()) break;
    if (p == skip) continue;
    ++paired;
    const float f = other.session() == session ? 1.0f : config_.cross_session_weight;
    if (f == 0) continue;
    const float other_weight = config_.event_weights[static_cast<int>(other.type())];
    float delta = PairGain(other_weight, new_weight);
    if (old_type != nullptr) delta -= PairGain(other_weight, old_weight);
    delta *= f;
    const bool bought = new_purchase && other.type() == EventType::kPurchase;
    if (delta > 0 || bought) {
      pending->push_back({PairTable::Key(other.item, item), std::max(delta, 0.0f), bought});
    }
  }
}

// ---- Queries ----

Reason Recommender::CandidateReason(const Candidate& c, bool single_anchor,
                                    bool tell_bought) const {
  if (c.anchor == c.item) return Reason{ReasonKind::kViewedRecently, c.item};
  if (single_anchor || c.anchor_score >= 0.5 * c.score) {
    return tell_bought ? TogetherReason(c.anchor, c.item)
                       : Reason{ReasonKind::kViewedTogether, c.anchor};
  }
  return Reason{ReasonKind::kSimilarToSession, c.anchor};
}

Reason Recommender::TogetherReason(ItemIdx anchor, ItemIdx item) const {
  const bool bought = CoPurchases(anchor, item) > 0;
  return Reason{bought ? ReasonKind::kBoughtTogether : ReasonKind::kViewedTogether, anchor};
}

void Recommender::SessionCandidates(std::span<const RecentSlot> row, bool latest_only,
                                    const Excluder& excluded, CandidateSet* out) const {
  out->Reset(0);
  const size_t used = Used(row);
  if (used == 0) return;
  struct Anchor {
    ItemIdx item;
    double weight;  // recency, and the previous session's weight
  };
  absl::InlinedVector<Anchor, 8> anchors;
  const uint32_t current = row[0].session();
  bool has_previous = false;
  uint32_t previous = 0;
  double recency = 1;
  for (size_t p = 0; p < (latest_only ? 1 : used); ++p, recency *= config_.recency_decay) {
    const RecentSlot& slot = row[p];
    double r = recency;
    if (slot.session() != current) {
      if (!has_previous) {
        has_previous = true;
        previous = slot.session();
      }
      if (slot.session() != previous) break;  // older than the previous session
      r *= config_.previous_session_weight;
    }
    if (r > 0) anchors.push_back(Anchor{slot.item, r});
  }
  // Each item's score sums its contributions by increasing anchor id, so that it is the
  // same float for the same row and state.
  std::stable_sort(anchors.begin(), anchors.end(),
                   [](const Anchor& a, const Anchor& b) { return a.item < b.item; });
  struct Contribution {
    ItemIdx item;
    ItemIdx anchor;
    double score;
  };
  std::vector<Contribution> parts;  // by anchor
  for (const Anchor& a : anchors) {
    // The item itself (similarity 1 to itself): people come back to what they viewed.
    if (!latest_only && config_.revisit_weight > 0) {
      parts.push_back(Contribution{a.item, a.item, a.weight * config_.revisit_weight});
    }
    const float anchor_norm = co_.Norm(a.item);
    co_.ForEachNeighbour(a.item, [&](ItemIdx item, float weight) {
      parts.push_back(Contribution{item, a.item,
                                   a.weight * co_.Similarity(weight, anchor_norm, co_.Norm(item))});
    });
  }
  out->Reset(parts.size());
  for (const Contribution& part : parts) {
    Candidate& c = out->FindOrAdd(part.item, part.anchor);
    c.score += part.score;
    if (part.score > c.anchor_score) {  // ties keep the lower anchor id
      c.anchor_score = part.score;
      c.anchor = part.anchor;
    }
  }
  out->KeepIf([&](const Candidate& c) { return c.score > 0 && !excluded(c.item); });
}

void Recommender::Recommend(std::span<const RecentSlot> row, size_t k, ModelKind kind,
                            const Filter& filter, std::vector<ScoredItem>* out) const {
  CheckFlushed();
  out->clear();
  if (k == 0) return;
  const Excluder excluded(filter, row);
  const auto is_excluded = [&](ItemIdx item) { return excluded(item); };

  if (kind == ModelKind::kTrending || kind == ModelKind::kPopular) {
    const bool trending = kind == ModelKind::kTrending;
    std::vector<std::pair<double, ItemIdx>> top;
    popularity_.Top(trending, k, is_excluded, &top);
    const double scale = trending ? popularity_.DecayFactor(popularity_.latest()) : 1.0;
    for (const auto& [score, item] : top) {
      out->push_back(
          ScoredItem{item, score * scale,
                     Reason{trending ? ReasonKind::kTrending : ReasonKind::kPopular, ItemIdx()}});
    }
    return;
  }

  // A reason may read a pair's cell (a miss in a table of hundreds of MB), so reasons are
  // given to the k items returned only, not to every candidate.
  CandidateSet candidate_set;
  SessionCandidates(row, kind == ModelKind::kItem, excluded, &candidate_set);
  const std::vector<Candidate>& candidates = candidate_set.list;
  const auto find_candidate = [&](ItemIdx item) { return candidate_set.Find(item); };
  if (kind == ModelKind::kItem || kind == ModelKind::kSession) {
    for (const Candidate& c : candidates) out->push_back(ScoredItem{c.item, c.score, Reason{}});
    SortAndCut(k, out);
    for (ScoredItem& s : *out) {
      s.reason = CandidateReason(*find_candidate(s.item), kind == ModelKind::kItem,
                                 filter.tell_bought_together);
    }
    return;
  }

  // Hybrid. Items outside both the session candidates and the fill source's filtered
  // top k score at most the k-th fill item, so these candidates hold the exact top k.
  const bool trending = config_.cold_start == ModelKind::kTrending;
  const auto source = [&](ItemIdx item) {
    return trending ? popularity_.trending_scaled(item) : popularity_.popular(item);
  };
  const Reason source_reason{trending ? ReasonKind::kTrending : ReasonKind::kPopular, ItemIdx()};
  const double blend = config_.trending_blend;
  const double source_best = popularity_.Best(trending);
  double session_best = 0;
  for (const Candidate& c : candidates) session_best = std::max(session_best, c.score);
  const auto source_part = [&](ItemIdx item) {
    return source_best > 0 ? blend * source(item) / source_best : 0.0;
  };

  struct Ranked {
    ScoredItem item;          // reason: the source's until it is among the top k
    double source = 0;        // breaks ties of the blend (e.g. when trending_blend is 0)
    bool by_session = false;  // its reason is then the session candidate's
  };
  std::vector<Ranked> ranked;
  ranked.reserve(candidates.size() + k);
  // Each candidate's popularity is a cache miss once a request's other work has passed
  // through the cache: all are asked for before the first is read.
  for (const Candidate& c : candidates) popularity_.Prefetch(c.item);
  for (const Candidate& c : candidates) {
    const double session_part = (1 - blend) * c.score / session_best;
    const double fill_part = source_part(c.item);
    const bool by_session = session_part >= fill_part;
    ranked.push_back(Ranked{ScoredItem{c.item, session_part + fill_part, source_reason},
                            source(c.item), by_session});
  }
  std::vector<std::pair<double, ItemIdx>> fill;
  popularity_.Top(trending, k, is_excluded, &fill);
  for (const auto& [score, item] : fill) {
    if (find_candidate(item) != nullptr) continue;
    ranked.push_back(Ranked{ScoredItem{item, source_part(item), source_reason}, score});
  }
  const auto better = [](const Ranked& a, const Ranked& b) {
    if (a.item.score != b.item.score) return a.item.score > b.item.score;
    return RanksBefore(a.source, a.item.item.value, b.source, b.item.item.value);
  };
  const size_t take = std::min(k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + take, ranked.end(), better);
  for (size_t i = 0; i < take; ++i) {
    ScoredItem& s = ranked[i].item;
    if (ranked[i].by_session) {
      s.reason = CandidateReason(*find_candidate(s.item), false, filter.tell_bought_together);
    }
    out->push_back(s);
  }
}

void Recommender::RecommendForUser(UserIdx user, size_t k, ModelKind kind, const Filter& filter,
                                   std::vector<ScoredItem>* out) const {
  Recommend(recent_.Find(user), k, kind, filter, out);
}

void Recommender::RecommendForSession(std::span<const SessionItem> items, size_t k, ModelKind kind,
                                      const Filter& filter, std::vector<ScoredItem>* out) const {
  std::vector<SessionItem> sorted(items.begin(), items.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const SessionItem& a, const SessionItem& b) { return a.time < b.time; });
  // The session as a row of recent items: distinct, latest first, strongest type.
  std::vector<RecentSlot> row;
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) {
    if (!it->item.valid()) continue;
    auto same = std::find_if(row.begin(), row.end(),
                             [&](const RecentSlot& s) { return s.item == it->item; });
    if (same != row.end()) {
      if (config_.event_weights[static_cast<int>(it->type)] >
          config_.event_weights[static_cast<int>(same->type())]) {
        same->Set(1, it->type);
      }
      continue;
    }
    if (row.size() == recent_.width()) continue;
    RecentSlot slot;
    slot.item = it->item;
    slot.Set(1, it->type);
    slot.time = it->time;
    row.push_back(slot);
  }
  Recommend(row, k, kind, filter, out);
}

void Recommender::SimilarItems(ItemIdx item, size_t k, std::vector<ScoredItem>* out) const {
  CheckFlushed();
  out->clear();
  const float norm = co_.Norm(item);
  co_.ForEachNeighbour(item, [&](ItemIdx other, float weight) {
    out->push_back(ScoredItem{other, co_.Similarity(weight, norm, co_.Norm(other)), Reason{}});
  });
  SortAndCut(k, out);
  for (ScoredItem& s : *out) s.reason = TogetherReason(item, s.item);
}

void Recommender::Popular(size_t k, bool trending, EventTime now, const Filter& filter,
                          std::vector<ScoredItem>* out) const {
  out->clear();
  const Excluder excluded(filter, {});
  std::vector<std::pair<double, ItemIdx>> top;
  popularity_.Top(
      trending, k, [&](ItemIdx item) { return excluded(item); }, &top);
  const double scale = trending ? popularity_.DecayFactor(now) : 1.0;
  const Reason reason{trending ? ReasonKind::kTrending : ReasonKind::kPopular, ItemIdx()};
  for (const auto& [score, item] : top) out->push_back(ScoredItem{item, score * scale, reason});
}

std::vector<RecentItem> Recommender::RecentItems(UserIdx user) const {
  std::vector<RecentItem> items;
  for (const RecentSlot& s : recent_.Find(user)) {
    if (!s.item.valid()) break;
    items.push_back(RecentItem{s.item, s.type(), s.time, s.session()});
  }
  return items;
}

double Recommender::PairWeight(ItemIdx a, ItemIdx b) const {
  CheckFlushed();
  const PairCell* cell = co_.Find(a, b);
  return cell == nullptr ? 0.0 : cell->weight;
}

void Recommender::TellBoughtTogether(std::span<ScoredItem> items) const {
  CheckFlushed();
  // Each pair's cell is a miss in a table of hundreds of MB: all are asked for first.
  for (const ScoredItem& s : items) {
    if (s.reason.kind == ReasonKind::kViewedTogether) co_.PrefetchFind(s.reason.anchor, s.item);
  }
  for (ScoredItem& s : items) {
    if (s.reason.kind == ReasonKind::kViewedTogether) {
      s.reason = TogetherReason(s.reason.anchor, s.item);
    }
  }
}

uint32_t Recommender::CoPurchases(ItemIdx a, ItemIdx b) const {
  CheckFlushed();
  const PairCell* cell = co_.Find(a, b);
  return cell == nullptr ? 0 : cell->bought;
}

double Recommender::Similarity(ItemIdx a, ItemIdx b) const {
  return co_.Similarity(PairWeight(a, b), co_.Norm(a), co_.Norm(b));
}

ModelCounters Recommender::counters() const {
  CheckFlushed();
  return ModelCounters{.events_observed = events_observed_,
                       .late_events = late_events_,
                       .pair_updates = co_.pair_updates(),
                       .neighbour_evictions = co_.evictions(),
                       .trending_renormalisations = popularity_.renormalisations(),
                       .pairs = co_.pairs(),
                       .users = recent_.users(),
                       .items = popularity_.items()};
}

Recommender::StateBytes Recommender::MemoryBytesByKey() const {
  CheckFlushed();
  return StateBytes{.user_keyed = recent_.MemoryBytes(),
                    .item_keyed = popularity_.MemoryBytes() + co_.MemoryBytes() - co_.PairBytes(),
                    .pair_keyed = co_.PairBytes()};
}

// ---- Snapshots ----

namespace {

// The config fields that shape the state, in snapshot order.
void PutShape(const ModelConfig& c, ByteWriter* w) {
  for (float weight : c.event_weights) w->Put(weight);
  w->Put(c.trending_half_life_micros);
  w->Put(c.top_candidates);
  w->Put(c.recent_items);
  w->Put(c.pair_window);
  w->Put(c.cross_session_weight);
  w->Put(static_cast<uint8_t>(c.pair_weighting));
  w->Put(c.neighbours);
}

}  // namespace

void Recommender::Save(ByteWriter* w) const {
  CheckFlushed();
  w->Put(kSnapshotMagic);
  w->Put(kSnapshotVersion);
  std::string* buffer = w->buffer();
  const size_t size_at = buffer->size();
  w->Put<uint64_t>(0);  // payload size, patched below
  const size_t payload_at = buffer->size();
  PutShape(config_, w);
  w->Put(events_observed_);
  w->Put(late_events_);
  popularity_.Save(w);
  co_.Save(w);
  recent_.Save(w);
  const uint64_t payload_size = buffer->size() - payload_at;
  std::memcpy(buffer->data() + size_at, &payload_size, sizeof(payload_size));
  w->Put(ModelSnapshotChecksum(std::string_view(*buffer).substr(payload_at, payload_size)));
}

absl::Status Recommender::Load(ByteReader* r) {
  uint64_t magic = 0, payload_size = 0, checksum = 0;
  uint32_t version = 0;
  std::string_view payload;
  r->Get(&magic);
  r->Get(&version);
  r->Get(&payload_size);
  if (!r->ok() || magic != kSnapshotMagic) {
    return absl::DataLossError("model snapshot: not a model snapshot");
  }
  if (version != kSnapshotVersion) {
    return absl::DataLossError(
        StrCat("model snapshot: version ", version, ", expected ", kSnapshotVersion));
  }
  if (!r->GetRaw(payload_size, &payload) || !r->Get(&checksum)) {
    return absl::DataLossError("model snapshot: truncated");
  }
  if (ModelSnapshotChecksum(payload) != checksum)
    return absl::DataLossError("model snapshot: bad checksum");

  ByteReader in(payload);
  std::string expected, found;
  ByteWriter shape(&expected);
  PutShape(config_, &shape);
  std::string_view written;
  if (!in.GetRaw(expected.size(), &written)) {
    return absl::DataLossError("model snapshot: truncated config");
  }
  if (written != expected) {
    return absl::FailedPreconditionError(
        "model snapshot: written by a model with a different configuration (event weights, "
        "half-life, pools, recent items or pairing)");
  }
  Flush();
  Recommender loaded(config_, update_threads_);
  in.Get(&loaded.events_observed_);
  in.Get(&loaded.late_events_);
  if (!in.ok()) return absl::DataLossError("model snapshot: truncated counters");
  if (absl::Status s = loaded.popularity_.Load(&in); !s.ok()) return s;
  const size_t items = loaded.popularity_.items();
  if (absl::Status s = loaded.co_.Load(&in, items); !s.ok()) return s;
  if (absl::Status s = loaded.recent_.Load(&in, items); !s.ok()) return s;
  if (!in.at_end()) return absl::DataLossError("model snapshot: trailing bytes");
  *this = std::move(loaded);
  return absl::OkStatus();
}

}  // namespace streamrec
