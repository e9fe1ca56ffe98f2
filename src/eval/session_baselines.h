#pragma once
// The two session baselines of Ludewig et al. (2021, "Empirical analysis of
// session-based recommendation algorithms", UMUAI) as implemented in their framework
// session-rec (github.com/rn5l/session-rec: algorithms/baselines/sr.py and
// algorithms/knn/vsknn.py), with its default parameters. Training sessions are the
// train events cut by the engine's 30-minute rule (per user); event types are ignored
// (session-rec treats every event as a click). Neither learns online.
//
// SequentialRules (sr.py: steps=10, weighting='div', pruning=20). For each training
// session s_1..s_n and each pair p < q with q - p <= steps, the rule s_p -> s_q gains
// 1/(q - p) (an item repeated in a session can make a rule to itself, as in sr.py). Each
// item keeps its `pruning` heaviest rules (0: all). The answer for a prefix is the rules
// of its last item, heaviest first.
//
// VSknn, V-SKNN (vsknn.py's VMContextKNN with k=100, sample_size=500, sampling='recent',
// weighting='div', weighting_score='div', remind=True):
//   prefix weights  the prefix x_1..x_n (repeats kept) weighs item x_i by i/n, the
//                   position of its last occurrence ('div': linear, the latest = 1);
//   candidates      the training sessions containing any prefix item; the sample_size
//                   most recent of them by their last event's time;
//   similarity      sim(s) = Σ of the prefix weights of the items s contains: the dot
//                   product of the weighted prefix and s's binary item vector (vsknn.py's
//                   `vec` also divides by the number of distinct prefix items, the same
//                   factor for every neighbour, which changes no ranking);
//   neighbours      the k most similar candidates;
//   scores          score(j) = Σ over neighbours s containing j of sim(s) / d(s), where
//                   d(s) is the recency step (1 = the latest) of the most recent prefix
//                   item s contains ('div' score weighting). Prefix items stay eligible.
//   vsknn.py's final normalisation (divide by the maximum) changes no ranking; it is left out.
// Ties: candidates by recency (time, then later session first); neighbours by
// similarity, then recency; items by score, then lower id. Only items with a positive
// score are returned, so an answer can be shorter than k (session-rec would pad it with
// zero-scored items in arbitrary order).
//
// Both answer RecommendForUser with the user's latest training session as the prefix
// (V-SKNN leaves that session itself out of its neighbours), skipping excluded items.
//
// Concurrency: Fit is the writer; the const queries share nothing mutable.

#include <cstdint>
#include <span>
#include <vector>

#include "eval/eval_model.h"

namespace streamrec {

struct SequentialRulesOptions {
  int steps = 10;    // the largest distance q - p that makes a rule
  int pruning = 20;  // rules kept per item (the heaviest); 0 keeps all
};

class SequentialRules : public EvalModel {
 public:
  // REQUIRES: steps >= 1, pruning >= 0.
  explicit SequentialRules(SequentialRulesOptions options = {});

  absl::Status Fit(std::span<const EvalEvent> train, uint32_t num_users,
                   uint32_t num_items) override;
  void RecommendForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                        std::vector<ItemIdx>* out) const override;
  void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                           std::vector<ItemIdx>* out) const override;

  // The weight of rule a -> b after pruning; 0 when there is none.
  double RuleWeight(ItemIdx a, ItemIdx b) const;

 private:
  struct Rule {
    ItemIdx target;
    double weight;
  };
  std::span<const Rule> RulesOf(ItemIdx item) const;
  void Answer(ItemIdx last, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
              std::vector<ItemIdx>* out) const;

  SequentialRulesOptions options_;
  std::vector<uint32_t> offsets_;  // per item: its rules, heaviest first (ties: lower id)
  std::vector<Rule> rules_;
  std::vector<ItemIdx> last_item_of_user_;  // the user's last train item
};

struct VSknnOptions {
  int k = 100;            // neighbours
  int sample_size = 500;  // most recent candidate sessions; 0 takes them all
};

class VSknn : public EvalModel {
 public:
  // REQUIRES: k >= 1, sample_size >= 0.
  explicit VSknn(VSknnOptions options = {});

  absl::Status Fit(std::span<const EvalEvent> train, uint32_t num_users,
                   uint32_t num_items) override;
  void RecommendForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                        std::vector<ItemIdx>* out) const override;
  void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                           std::vector<ItemIdx>* out) const override;

  struct Neighbour {
    uint32_t session;  // training session, numbered by first event
    double similarity;
    double decay;  // 1 / recency step of the latest shared prefix item
  };
  // The neighbours of a prefix, best first (for tests and diagnostics).
  std::vector<Neighbour> Neighbours(std::span<const ItemIdx> prefix) const;

 private:
  struct PrefixItem {
    ItemIdx item;
    double weight;  // i/n of its last occurrence
    uint32_t step;  // n - i + 1 of its last occurrence: 1 for the latest
  };
  static std::vector<PrefixItem> WeighPrefix(std::span<const ItemIdx> prefix);
  std::vector<uint32_t> SampleByRecency(std::span<const PrefixItem> prefix,
                                        uint32_t skip_rank) const;
  std::vector<Neighbour> FindNeighbours(std::span<const ItemIdx> prefix, uint32_t skip_rank) const;
  void Answer(std::span<const ItemIdx> prefix, uint32_t skip_rank, size_t k,
              absl::FunctionRef<bool(ItemIdx)> exclude, std::vector<ItemIdx>* out) const;
  std::span<const ItemIdx> ItemsOf(uint32_t session) const;

  VSknnOptions options_;
  // Sessions by first event: distinct items ascending (CSR) and the item sequence.
  std::vector<uint32_t> item_offsets_;
  std::vector<ItemIdx> items_;
  std::vector<uint32_t> sequence_offsets_;
  std::vector<ItemIdx> sequence_;
  // Recency rank: 0 = the session with the latest last event (ties: higher session id).
  std::vector<uint32_t> rank_of_session_;
  std::vector<uint32_t> session_of_rank_;
  // Per item, the ranks of the sessions containing it, ascending (most recent first).
  std::vector<uint32_t> item_session_offsets_;
  std::vector<uint32_t> item_session_ranks_;
  std::vector<uint32_t> latest_session_of_user_;  // kNoSession if none
};

}  // namespace streamrec
