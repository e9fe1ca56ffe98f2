#include "eval/session_baselines.h"

#include <algorithm>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "common/check.h"
#include "models/model_types.h"

namespace streamrec {
namespace {

constexpr uint32_t kNone = ~0u;

// Ranks (score desc, item asc) the positive-scored, non-excluded items; keeps k.
void TopK(std::vector<std::pair<ItemIdx, double>>* scored, size_t k,
          absl::FunctionRef<bool(ItemIdx)> exclude, std::vector<ItemIdx>* out) {
  std::erase_if(*scored, [&](const auto& s) { return !(s.second > 0) || exclude(s.first); });
  const auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const size_t take = std::min(k, scored->size());
  std::partial_sort(scored->begin(), scored->begin() + take, scored->end(), better);
  out->clear();
  for (size_t i = 0; i < take; ++i) out->push_back((*scored)[i].first);
}

std::vector<ItemIdx> PrefixItems(std::span<const SessionStep> prefix) {
  std::vector<ItemIdx> items;
  items.reserve(prefix.size());
  for (const SessionStep& s : prefix) items.push_back(s.item);
  return items;
}

}  // namespace

// ---- SequentialRules ----

SequentialRules::SequentialRules(SequentialRulesOptions options) : options_(options) {
  STREAMREC_CHECK(options.steps >= 1 && options.pruning >= 0) << "bad sequential rules options";
}

absl::Status SequentialRules::Fit(std::span<const EvalEvent> train, uint32_t num_users,
                                  uint32_t num_items) {
  const Sessions sessions = SplitIntoSessions(train);
  absl::flat_hash_map<uint64_t, double> weight;  // key: from << 32 | to
  for (size_t s = 0; s < sessions.size(); ++s) {
    const std::span<const uint32_t> events = sessions.of(s);
    for (size_t q = 1; q < events.size(); ++q) {
      const ItemIdx to = train[events[q]].item;
      const size_t reach = std::min<size_t>(q, options_.steps);
      for (size_t d = 1; d <= reach; ++d) {
        const ItemIdx from = train[events[q - d]].item;
        weight[(static_cast<uint64_t>(from.value) << 32) | to.value] += 1.0 / d;
      }
    }
  }
  struct Entry {
    ItemIdx from;
    Rule rule;
  };
  std::vector<Entry> entries;
  entries.reserve(weight.size());
  for (const auto& [key, w] : weight) {
    entries.push_back(
        {ItemIdx(static_cast<uint32_t>(key >> 32)), Rule{ItemIdx(static_cast<uint32_t>(key)), w}});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.from != b.from) return a.from < b.from;
    if (a.rule.weight != b.rule.weight) return a.rule.weight > b.rule.weight;
    return a.rule.target < b.rule.target;
  });
  offsets_.assign(num_items + 1, 0);
  rules_.clear();
  for (size_t i = 0; i < entries.size(); ++i) {
    const ItemIdx from = entries[i].from;
    const uint32_t kept = offsets_[from.value + 1];
    if (options_.pruning > 0 && kept >= static_cast<uint32_t>(options_.pruning)) continue;
    ++offsets_[from.value + 1];
    rules_.push_back(entries[i].rule);
  }
  for (uint32_t i = 0; i < num_items; ++i) offsets_[i + 1] += offsets_[i];
  last_item_of_user_.assign(num_users, ItemIdx());
  for (const EvalEvent& e : train) last_item_of_user_[e.user.value] = e.item;
  return absl::OkStatus();
}

std::span<const SequentialRules::Rule> SequentialRules::RulesOf(ItemIdx item) const {
  if (!item.valid() || item.value + 1 >= offsets_.size()) return {};
  return std::span<const Rule>(rules_).subspan(offsets_[item.value],
                                               offsets_[item.value + 1] - offsets_[item.value]);
}

double SequentialRules::RuleWeight(ItemIdx a, ItemIdx b) const {
  for (const Rule& r : RulesOf(a)) {
    if (r.target == b) return r.weight;
  }
  return 0;
}

void SequentialRules::Answer(ItemIdx last, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                             std::vector<ItemIdx>* out) const {
  out->clear();
  for (const Rule& r : RulesOf(last)) {  // already heaviest first
    if (out->size() == k) break;
    if (!exclude(r.target)) out->push_back(r.target);
  }
}

void SequentialRules::RecommendForUser(UserIdx user, size_t k,
                                       absl::FunctionRef<bool(ItemIdx)> exclude,
                                       std::vector<ItemIdx>* out) const {
  const ItemIdx last =
      user.value < last_item_of_user_.size() ? last_item_of_user_[user.value] : ItemIdx();
  Answer(last, k, exclude, out);
}

void SequentialRules::RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                                          std::vector<ItemIdx>* out) const {
  Answer(prefix.empty() ? ItemIdx() : prefix.back().item, k, &NeverExcluded, out);
}

// ---- VSknn ----

VSknn::VSknn(VSknnOptions options) : options_(options) {
  STREAMREC_CHECK(options.k >= 1 && options.sample_size >= 0) << "bad V-SKNN options";
}

absl::Status VSknn::Fit(std::span<const EvalEvent> train, uint32_t num_users, uint32_t num_items) {
  const Sessions sessions = SplitIntoSessions(train);
  const uint32_t n = static_cast<uint32_t>(sessions.size());
  item_offsets_.assign(1, 0);
  items_.clear();
  sequence_offsets_.assign(1, 0);
  sequence_.clear();
  std::vector<EventTime> last_time(n);
  latest_session_of_user_.assign(num_users, kNone);
  for (uint32_t s = 0; s < n; ++s) {
    const size_t first_item = items_.size();
    for (uint32_t i : sessions.of(s)) {
      sequence_.push_back(train[i].item);
      items_.push_back(train[i].item);
    }
    std::sort(items_.begin() + first_item, items_.end());
    items_.erase(std::unique(items_.begin() + first_item, items_.end()), items_.end());
    item_offsets_.push_back(items_.size());
    sequence_offsets_.push_back(sequence_.size());
    const EvalEvent& last = train[sessions.of(s).back()];
    last_time[s] = last.time;
    latest_session_of_user_[last.user.value] = s;  // sessions are numbered in time order
  }
  session_of_rank_.resize(n);
  for (uint32_t s = 0; s < n; ++s) session_of_rank_[s] = s;
  std::sort(session_of_rank_.begin(), session_of_rank_.end(), [&](uint32_t a, uint32_t b) {
    return last_time[a] != last_time[b] ? last_time[a] > last_time[b] : a > b;
  });
  rank_of_session_.resize(n);
  for (uint32_t r = 0; r < n; ++r) rank_of_session_[session_of_rank_[r]] = r;
  // Item -> session ranks, filled in rank order so each list is ascending.
  item_session_offsets_.assign(num_items + 1, 0);
  for (ItemIdx item : items_) ++item_session_offsets_[item.value + 1];
  for (uint32_t i = 0; i < num_items; ++i) item_session_offsets_[i + 1] += item_session_offsets_[i];
  item_session_ranks_.resize(items_.size());
  std::vector<uint32_t> fill(item_session_offsets_.begin(), item_session_offsets_.end() - 1);
  for (uint32_t r = 0; r < n; ++r) {
    for (ItemIdx item : ItemsOf(session_of_rank_[r])) item_session_ranks_[fill[item.value]++] = r;
  }
  return absl::OkStatus();
}

std::span<const ItemIdx> VSknn::ItemsOf(uint32_t session) const {
  return std::span<const ItemIdx>(items_).subspan(
      item_offsets_[session], item_offsets_[session + 1] - item_offsets_[session]);
}

std::vector<VSknn::PrefixItem> VSknn::WeighPrefix(std::span<const ItemIdx> prefix) {
  const size_t n = prefix.size();
  std::vector<PrefixItem> items;
  for (size_t i = 0; i < n; ++i) {
    items.push_back(PrefixItem{prefix[i], static_cast<double>(i + 1) / static_cast<double>(n),
                               static_cast<uint32_t>(n - i)});
  }
  // Per item keep the last occurrence: sort by item, then latest position first.
  std::stable_sort(items.begin(), items.end(), [](const PrefixItem& a, const PrefixItem& b) {
    return a.item != b.item ? a.item < b.item : a.step < b.step;
  });
  items.erase(
      std::unique(items.begin(), items.end(),
                  [](const PrefixItem& a, const PrefixItem& b) { return a.item == b.item; }),
      items.end());
  return items;
}

std::vector<uint32_t> VSknn::SampleByRecency(std::span<const PrefixItem> prefix,
                                             uint32_t skip_rank) const {
  // A k-way merge of the prefix items' rank lists (each ascending), without duplicates,
  // stopping at sample_size: the most recent sessions that share an item.
  struct Cursor {
    uint32_t rank;
    uint32_t at, end;
    bool operator>(const Cursor& o) const { return rank > o.rank; }
  };
  std::priority_queue<Cursor, std::vector<Cursor>, std::greater<Cursor>> heap;
  for (const PrefixItem& p : prefix) {
    if (!p.item.valid() || p.item.value + 1 >= item_session_offsets_.size()) continue;
    const uint32_t at = item_session_offsets_[p.item.value];
    const uint32_t end = item_session_offsets_[p.item.value + 1];
    if (at < end) heap.push(Cursor{item_session_ranks_[at], at, end});
  }
  std::vector<uint32_t> ranks;
  const size_t limit = options_.sample_size > 0 ? options_.sample_size : SIZE_MAX;
  while (!heap.empty() && ranks.size() < limit) {
    Cursor c = heap.top();
    heap.pop();
    if (c.rank != skip_rank && (ranks.empty() || ranks.back() != c.rank)) ranks.push_back(c.rank);
    if (++c.at < c.end) {
      c.rank = item_session_ranks_[c.at];
      heap.push(c);
    }
  }
  return ranks;
}

std::vector<VSknn::Neighbour> VSknn::FindNeighbours(std::span<const ItemIdx> prefix,
                                                    uint32_t skip_rank) const {
  const std::vector<PrefixItem> weighted = WeighPrefix(prefix);
  const std::vector<uint32_t> ranks = SampleByRecency(weighted, skip_rank);
  struct Candidate {
    Neighbour n;
    uint32_t rank;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(ranks.size());
  for (uint32_t rank : ranks) {
    const uint32_t session = session_of_rank_[rank];
    const std::span<const ItemIdx> items = ItemsOf(session);
    // Both ascending by item: intersect by merging.
    double sim = 0;
    uint32_t step = kNone;
    auto it = items.begin();
    for (const PrefixItem& p : weighted) {
      it = std::lower_bound(it, items.end(), p.item);
      if (it == items.end()) break;
      if (*it != p.item) continue;
      sim += p.weight;
      step = std::min(step, p.step);
    }
    if (sim > 0) candidates.push_back({Neighbour{session, sim, 1.0 / step}, rank});
  }
  const auto better = [](const Candidate& a, const Candidate& b) {
    return a.n.similarity != b.n.similarity ? a.n.similarity > b.n.similarity : a.rank < b.rank;
  };
  const size_t take = std::min(candidates.size(), static_cast<size_t>(options_.k));
  std::partial_sort(candidates.begin(), candidates.begin() + take, candidates.end(), better);
  std::vector<Neighbour> out;
  out.reserve(take);
  for (size_t i = 0; i < take; ++i) out.push_back(candidates[i].n);
  return out;
}

std::vector<VSknn::Neighbour> VSknn::Neighbours(std::span<const ItemIdx> prefix) const {
  return FindNeighbours(prefix, kNone);
}

void VSknn::Answer(std::span<const ItemIdx> prefix, uint32_t skip_rank, size_t k,
                   absl::FunctionRef<bool(ItemIdx)> exclude, std::vector<ItemIdx>* out) const {
  out->clear();
  if (prefix.empty() || k == 0) return;
  // Contributions in neighbour order; a stable sort by item keeps that order within an
  // item, so every sum adds in the same order.
  std::vector<std::pair<ItemIdx, double>> parts;
  for (const Neighbour& n : FindNeighbours(prefix, skip_rank)) {
    for (ItemIdx item : ItemsOf(n.session)) parts.emplace_back(item, n.similarity * n.decay);
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<ItemIdx, double>> scored;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (scored.empty() || scored.back().first != parts[i].first)
      scored.emplace_back(parts[i].first, 0.0);
    scored.back().second += parts[i].second;
  }
  TopK(&scored, k, exclude, out);
}

void VSknn::RecommendForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                             std::vector<ItemIdx>* out) const {
  out->clear();
  if (user.value >= latest_session_of_user_.size()) return;
  const uint32_t session = latest_session_of_user_[user.value];
  if (session == kNone) return;
  const std::span<const ItemIdx> prefix = std::span<const ItemIdx>(sequence_).subspan(
      sequence_offsets_[session], sequence_offsets_[session + 1] - sequence_offsets_[session]);
  Answer(prefix, rank_of_session_[session], k, exclude, out);
}

void VSknn::RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                                std::vector<ItemIdx>* out) const {
  Answer(PrefixItems(prefix), kNone, k, &NeverExcluded, out);
}

}  // namespace streamrec
