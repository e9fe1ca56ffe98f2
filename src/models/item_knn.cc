#include "models/item_knn.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "common/parallel_for.h"
#include "common/strings.h"
#include "models/als_shared.h"

namespace streamrec {

using batch_internal::TopK;

namespace {

constexpr uint32_t kItemsPerTask = 256;

// The neighbour lists of a block of items, and the lengths of each.
struct BlockLists {
  std::vector<uint32_t> counts;
  std::vector<uint32_t> items;
  std::vector<float> sims;
};

}  // namespace

absl::Status ValidateItemKnnOptions(const ItemKnnOptions& o) {
  if (o.neighbours < 1) {
    return absl::InvalidArgumentError(
        StrCat("item-kNN neighbours must be >= 1, got ", o.neighbours));
  }
  if (!(o.shrinkage >= 0) || !std::isfinite(o.shrinkage)) {
    return absl::InvalidArgumentError(
        StrCat("item-kNN shrinkage must be >= 0 and finite, got ", o.shrinkage));
  }
  if (o.threads < 0) {
    return absl::InvalidArgumentError(
        StrCat("item-kNN threads must be >= 0 (0: all cores), got ", o.threads));
  }
  return absl::OkStatus();
}

absl::StatusOr<ItemKnnModel> ItemKnnModel::Train(const InteractionMatrix& m,
                                                 const ItemKnnOptions& o, std::stop_token stop) {
  if (absl::Status s = ValidateItemKnnOptions(o); !s.ok()) return s;
  const uint32_t items = m.num_items();
  std::vector<double> norms(items);
  for (uint32_t i = 0; i < items; ++i) {
    double sum = 0;
    for (float w : m.ItemWeights(ItemIdx(i))) sum += double{w} * w;
    norms[i] = std::sqrt(sum);
  }

  const int workers = ResolveThreads(o.threads);
  struct Scratch {
    std::vector<double> dot;  // <c_i, c_j> by j; zero outside `touched`
    std::vector<uint32_t> touched;
    TopK top;
    std::vector<ScoredItem> list;
  };
  std::vector<Scratch> scratch(workers);
  const size_t tasks = (items + kItemsPerTask - 1) / kItemsPerTask;
  std::vector<BlockLists> blocks(tasks);
  ParallelFor(workers, tasks, [&](size_t t, int worker) {
    if (stop.stop_requested()) return;  // the blocks left are not needed
    Scratch& s = scratch[worker];
    s.dot.resize(items, 0.0);
    BlockLists& out = blocks[t];
    const auto begin = static_cast<uint32_t>(t * kItemsPerTask);
    for (uint32_t i = begin; i < std::min(items, begin + kItemsPerTask); ++i) {
      const std::span<const UserIdx> users = m.ItemUsers(ItemIdx(i));
      const std::span<const float> user_weights = m.ItemWeights(ItemIdx(i));
      for (size_t k = 0; k < users.size(); ++k) {
        const std::span<const ItemIdx> others = m.UserItems(users[k]);
        const std::span<const float> other_weights = m.UserWeights(users[k]);
        for (size_t l = 0; l < others.size(); ++l) {
          double& d = s.dot[others[l].value];
          if (d == 0) s.touched.push_back(others[l].value);
          d += double{user_weights[k]} * other_weights[l];
        }
      }
      s.top.Reset(static_cast<size_t>(o.neighbours));
      for (uint32_t j : s.touched) {
        if (j != i) s.top.Offer(s.dot[j] / (norms[i] * norms[j] + o.shrinkage), ItemIdx(j));
        s.dot[j] = 0;
      }
      s.touched.clear();
      s.top.Finish(&s.list);
      out.counts.push_back(static_cast<uint32_t>(s.list.size()));
      for (const ScoredItem& n : s.list) {
        out.items.push_back(n.item.value);
        out.sims.push_back(static_cast<float>(n.score));
      }
    }
  });
  if (stop.stop_requested()) return absl::CancelledError("item-kNN training stopped");

  ItemKnnModel model;
  model.options_ = o;
  model.num_items_ = items;
  model.offsets_.reserve(items + 1);
  for (const BlockLists& b : blocks) {
    for (uint32_t count : b.counts) model.offsets_.push_back(model.offsets_.back() + count);
    for (size_t n = 0; n < b.items.size(); ++n) {
      model.neighbours_.push_back(Neighbour{b.items[n], b.sims[n]});
    }
  }
  model.IndexHolders();
  return model;
}

void ItemKnnModel::IndexHolders() {
  holder_offsets_.assign(uint64_t{num_items_} + 1, 0);
  for (const Neighbour& n : neighbours_) ++holder_offsets_[n.item + 1];
  for (uint32_t i = 0; i < num_items_; ++i) holder_offsets_[i + 1] += holder_offsets_[i];
  holders_.resize(neighbours_.size());
  std::vector<uint64_t> next(holder_offsets_.begin(), holder_offsets_.end() - 1);
  for (uint32_t j = 0; j < num_items_; ++j) {  // ascending j: each holder list is sorted
    for (const Neighbour& n : Neighbours(j)) holders_[next[n.item]++] = Neighbour{j, n.sim};
  }
}

void ItemKnnModel::Recommend(std::span<const ItemIdx> items, std::span<const float> weights,
                             size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                             std::vector<ScoredItem>* out) const {
  STREAMREC_CHECK(items.size() == weights.size())
      << items.size() << " items, " << weights.size() << " weights";
  // Every term weight_i * sim(i, j), grouped by j; the sums keep input order.
  struct Term {
    uint32_t item;
    double score;
  };
  std::vector<Term> terms;
  for (size_t g = 0; g < items.size(); ++g) {
    if (items[g].value >= num_items_) continue;
    for (const Neighbour& n : ListsHolding(items[g].value)) {
      terms.push_back(Term{n.item, double{weights[g]} * n.sim});
    }
  }
  std::stable_sort(terms.begin(), terms.end(),
                   [](const Term& a, const Term& b) { return a.item < b.item; });
  TopK top;
  top.Reset(k);
  for (size_t t = 0; t < terms.size();) {
    const ItemIdx item(terms[t].item);
    double score = 0;
    for (; t < terms.size() && terms[t].item == item.value; ++t) score += terms[t].score;
    if (top.WouldEnter(score, item) && !exclude(item)) top.Offer(score, item);
  }
  top.Finish(out);
}

void ItemKnnModel::SimilarItems(ItemIdx item, size_t k, std::vector<ScoredItem>* out) const {
  out->clear();
  if (item.value >= num_items_) return;
  for (const Neighbour& n : Neighbours(item.value)) {
    if (out->size() == k) break;
    out->push_back(ScoredItem{ItemIdx(n.item), n.sim, Reason{}});
  }
}

void ItemKnnModel::Save(ByteWriter* w) const {
  w->Put<int32_t>(options_.neighbours);
  w->Put(options_.shrinkage);
  w->Put<int32_t>(options_.threads);
  w->Put(num_items_);
  for (uint32_t i = 0; i < num_items_; ++i) {
    const std::span<const Neighbour> list = Neighbours(i);
    w->Put(static_cast<uint32_t>(list.size()));
    for (const Neighbour& n : list) {
      w->Put(n.item);
      w->Put(n.sim);
    }
  }
}

absl::StatusOr<ItemKnnModel> ItemKnnModel::Load(ByteReader* r) {
  ItemKnnModel model;
  int32_t neighbours = 0, threads = 0;
  r->Get(&neighbours);
  r->Get(&model.options_.shrinkage);
  r->Get(&threads);
  r->Get(&model.num_items_);
  if (!r->ok()) return absl::DataLossError("item-kNN model: truncated header");
  model.options_.neighbours = neighbours;
  model.options_.threads = threads;
  if (absl::Status s = ValidateItemKnnOptions(model.options_); !s.ok()) {
    return absl::DataLossError(StrCat("item-kNN model: corrupt options (", s.message(), ")"));
  }
  // Every list takes at least its 4-byte count: a corrupt item count fails here, before
  // any allocation of its size.
  if (r->remaining() / sizeof(uint32_t) < model.num_items_) {
    return absl::DataLossError(StrCat("item-kNN model: truncated: ", model.num_items_, " items, ",
                                      r->remaining(), " bytes left"));
  }
  model.offsets_.reserve(uint64_t{model.num_items_} + 1);
  for (uint32_t i = 0; i < model.num_items_; ++i) {
    uint32_t count = 0;
    if (!r->Get(&count)) {
      return absl::DataLossError(StrCat("item-kNN model: truncated at item ", i));
    }
    if (count > static_cast<uint32_t>(neighbours) || count >= model.num_items_) {
      return absl::DataLossError(
          StrCat("item-kNN model: corrupt: item ", i, " has ", count, " neighbours"));
    }
    for (uint32_t n = 0; n < count; ++n) {
      Neighbour nb{};
      r->Get(&nb.item);
      r->Get(&nb.sim);
      if (!r->ok()) return absl::DataLossError(StrCat("item-kNN model: truncated at item ", i));
      if (nb.item >= model.num_items_ || !std::isfinite(nb.sim)) {
        return absl::DataLossError(StrCat("item-kNN model: corrupt neighbour ", n, " of item ", i));
      }
      model.neighbours_.push_back(nb);
    }
    model.offsets_.push_back(model.offsets_.back() + count);
  }
  model.IndexHolders();
  return model;
}

}  // namespace streamrec
