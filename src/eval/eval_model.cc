#include "eval/eval_model.h"

#include "common/strings.h"
#include "eval/live_model.h"
#include "eval/session_baselines.h"

namespace streamrec {
namespace {

struct LiveName {
  std::string_view name;
  ModelKind kind;
};
constexpr LiveName kLiveModels[] = {{"popular", ModelKind::kPopular},
                                    {"trending", ModelKind::kTrending},
                                    {"item", ModelKind::kItem},
                                    {"session", ModelKind::kSession},
                                    {"hybrid", ModelKind::kHybrid}};

}  // namespace

void EvalModel::ScoredForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                              std::vector<ScoredItem>* out) const {
  std::vector<ItemIdx> items;
  RecommendForUser(user, k, exclude, &items);
  out->clear();
  for (size_t i = 0; i < items.size(); ++i) {
    out->push_back(ScoredItem{items[i], static_cast<double>(k - i), Reason{}});
  }
}

void ItemIds(const std::vector<ScoredItem>& scored, std::vector<ItemIdx>* out) {
  out->clear();
  for (const ScoredItem& s : scored) out->push_back(s.item);
}

void ScoredEvalModel::RecommendForUser(UserIdx user, size_t k,
                                       absl::FunctionRef<bool(ItemIdx)> exclude,
                                       std::vector<ItemIdx>* out) const {
  std::vector<ScoredItem> scored;
  ScoredForUser(user, k, exclude, &scored);
  ItemIds(scored, out);
}

std::vector<std::string> BuiltInModelNames() {
  std::vector<std::string> names;
  for (const LiveName& m : kLiveModels) names.emplace_back(m.name);
  names.emplace_back("sr");
  names.emplace_back("vsknn");
  return names;
}

absl::StatusOr<std::unique_ptr<EvalModel>> MakeBuiltInModel(std::string_view name, uint64_t seed) {
  for (const LiveName& m : kLiveModels) {
    if (m.name == name) return MakeLiveModel(m.kind);
  }
  if (name == "sr") return std::unique_ptr<EvalModel>(std::make_unique<SequentialRules>());
  if (name == "vsknn") return std::unique_ptr<EvalModel>(std::make_unique<VSknn>());
  std::string known;
  for (const std::string& n : BuiltInModelNames()) known += (known.empty() ? "" : ", ") + n;
  return absl::InvalidArgumentError(
      StrCat("unknown model \"", name, "\"; the built-in models are: ", known));
}

}  // namespace streamrec
