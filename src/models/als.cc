#include "models/als.h"

// hnswlib 0.6.2's SSE code prefetches the next neighbour by reading one id past the end
// of a link list (nmslib/hnswlib#107: a 4-byte over-read inside malloc's slack, harmless
// but flagged by AddressSanitizer); sanitizer builds use its plain code instead.
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>  // only here: it defines non-inline functions

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <queue>
#include <string>

#include "Eigen/Dense"
#include "common/check.h"
#include "common/parallel_for.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "models/als_kernels.h"
#include "models/als_shared.h"

namespace streamrec {

using als_internal::BestKernels;
using als_internal::HalfStep;
using als_internal::KernelSet;
using als_internal::Stride;
using batch_internal::TopK;

namespace {

constexpr int kMaxFactors = 512;
constexpr uint32_t kRowsPerTask = 256;   // rows a worker takes at a time
constexpr uint32_t kMaxGramBlocks = 32;  // partial Gram matrices (fixed, see Gram)
constexpr uint32_t kMinGramBlockRows = 1024;
constexpr size_t kScanBlock = 256;         // items scored per kernel call when scanning
constexpr size_t kScanPanels = 16;         // quantized panels scored per kernel call when scanning
constexpr uint32_t kNoItem = 0xffffffffu;  // a padding slot of the scan
// The fraction of |x| |y| that bounds how far float rounding moves a computed x . y: at
// most ~n * 2^-24 * |x| |y| for n <= 512 terms (3.1e-5 of it), and the norms and the
// scales far less.
constexpr double kBoundMargin = 1e-3;

// HNSW: links per node, the candidate list while building and the least while searching.
constexpr size_t kHnswM = 16;
constexpr size_t kHnswEfConstruction = 100;
constexpr size_t kHnswEfSearch = 64;

// A user's factors as the kernels read a query: padded with zeros to the stride.
// REQUIRES: user_factors.size() <= kMaxFactors.
std::array<float, kMaxFactors> PaddedQuery(std::span<const float> user_factors) {
  std::array<float, kMaxFactors> query{};
  std::copy(user_factors.begin(), user_factors.end(), query.begin());
  return query;
}

// SplitMix64: a 64-bit mixer; consecutive inputs give independent-looking outputs.
uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Initial factors: row r of `side` (0 users, 1 items) is a function of (seed, side, r)
// only, uniform in [-0.5, 0.5) / sqrt(factors) (so |row| ~ 0.3: the first solves start
// from a small random projection of the other side).
void InitRows(uint64_t seed, uint64_t side, uint32_t rows, int factors, int stride, float* out) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(factors));
  for (uint32_t r = 0; r < rows; ++r) {
    uint64_t state = Mix(seed ^ Mix(side << 32 | r));
    float* row = out + static_cast<size_t>(r) * stride;
    for (int f = 0; f < factors; ++f) {
      state = Mix(state);
      const float unit = static_cast<float>(state >> 40) * 0x1.0p-24f;  // [0, 1)
      row[f] = (unit - 0.5f) * scale;
    }
  }
}

// The top-left n x n block of a row-major matrix of `stride` columns, in double.
Eigen::MatrixXd TopLeftAsDouble(const std::vector<float>& m, int stride, int n) {
  Eigen::MatrixXd out(n, n);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) out(r, c) = m[static_cast<size_t>(r) * stride + c];
  }
  return out;
}

// lambda_r = regularization * (1 + alpha * sum of row r's weights)^nu: the confidence
// the row's cells add over the implicit negatives, plus 1 so that lambda_r > 0 for a
// row without cells.
float RowLambda(const AlsOptions& o, double weight_sum) {
  return static_cast<float>(o.regularization *
                            std::pow(1.0 + o.alpha * weight_sum, o.regularization_exponent));
}

std::vector<float> RowLambdas(const AlsOptions& o, const InteractionMatrix::Csr& csr) {
  std::vector<float> lambdas(csr.offsets.size() - 1);
  for (size_t r = 0; r < lambdas.size(); ++r) {
    double sum = 0;
    for (uint64_t k = csr.offsets[r]; k < csr.offsets[r + 1]; ++k) sum += csr.weights[k];
    lambdas[r] = RowLambda(o, sum);
  }
  return lambdas;
}

// Y^T Y of `n` rows. The rows are cut into a number of blocks that depends on n only;
// each block's float sum is added in block order in double, so the result does not
// depend on the thread count.
std::vector<float> Gram(const KernelSet& kernels, const float* rows, uint32_t n, int stride,
                        int threads) {
  const size_t cells = static_cast<size_t>(stride) * stride;
  const uint32_t blocks =
      std::clamp<uint32_t>((n + kMinGramBlockRows - 1) / kMinGramBlockRows, 1, kMaxGramBlocks);
  const uint32_t per_block = (n + blocks - 1) / blocks;
  std::vector<float> partial(blocks * cells, 0.0f);
  ParallelFor(threads, blocks, [&](size_t b, int) {
    const auto begin = static_cast<uint32_t>(std::min<uint64_t>(n, b * per_block));
    const uint32_t end = std::min(n, begin + per_block);
    kernels.add_gram(rows, begin, end, stride, partial.data() + b * cells);
  });
  std::vector<double> sum(cells, 0.0);
  for (uint32_t b = 0; b < blocks; ++b) {
    for (size_t c = 0; c < cells; ++c) sum[c] += partial[b * cells + c];
  }
  return std::vector<float>(sum.begin(), sum.end());
}

// One half-iteration: Y^T Y of the fixed side's `fixed_rows` rows, then every row of
// the solved side (the rows of `csr`), in tasks of kRowsPerTask rows.
void SolveSide(const KernelSet& kernels, const AlsOptions& o, int stride, int threads,
               std::span<const float> fixed, uint32_t fixed_rows, const InteractionMatrix::Csr& csr,
               const std::vector<float>& lambdas, std::span<float> solved) {
  const std::vector<float> gram = Gram(kernels, fixed.data(), fixed_rows, stride, threads);
  const HalfStep step{.fixed = fixed.data(),
                      .gram = gram.data(),
                      .offsets = csr.offsets.data(),
                      .indices = csr.indices,
                      .weights = csr.weights.data(),
                      .lambda = lambdas.data(),
                      .alpha = o.alpha,
                      .stride = stride,
                      .cg_steps = o.cg_steps,
                      .solved = solved.data()};
  const auto rows = static_cast<uint32_t>(csr.offsets.size() - 1);
  std::vector<std::vector<float>> scratch(threads, std::vector<float>(3 * stride));
  ParallelFor(threads, (rows + kRowsPerTask - 1) / kRowsPerTask, [&](size_t t, int worker) {
    const auto begin = static_cast<uint32_t>(t * kRowsPerTask);
    kernels.solve_rows(step, begin, std::min(rows, begin + kRowsPerTask), scratch[worker].data());
  });
}

}  // namespace

absl::Status ValidateAlsOptions(const AlsOptions& o) {
  if (o.factors < 1 || o.factors > kMaxFactors) {
    return absl::InvalidArgumentError(
        StrCat("ALS factors must be in 1..", kMaxFactors, ", got ", o.factors));
  }
  if (o.iterations < 0) {
    return absl::InvalidArgumentError(StrCat("ALS iterations must be >= 0, got ", o.iterations));
  }
  if (!std::isfinite(o.regularization)) {
    return absl::InvalidArgumentError("ALS regularization must be finite (< 0 for the default)");
  }
  if (!(o.regularization_exponent >= 0 && o.regularization_exponent <= 1)) {
    return absl::InvalidArgumentError(
        StrCat("ALS regularization_exponent must be in [0, 1], got ", o.regularization_exponent));
  }
  if (!(o.alpha > 0) || !std::isfinite(o.alpha)) {
    return absl::InvalidArgumentError(StrCat("ALS alpha must be > 0 and finite, got ", o.alpha));
  }
  if (o.cg_steps < 1) {
    return absl::InvalidArgumentError(StrCat("ALS cg_steps must be >= 1, got ", o.cg_steps));
  }
  if (o.threads < 0) {
    return absl::InvalidArgumentError(
        StrCat("ALS threads must be >= 0 (0: all cores), got ", o.threads));
  }
  return absl::OkStatus();
}

// The HNSW graph over the item factors (inner-product space: distance 1 - x . y).
struct AlsModel::AnnIndex {
  AnnIndex(int dim, size_t items) : space(dim), graph(&space, items, kHnswM, kHnswEfConstruction) {}
  hnswlib::InnerProductSpace space;  // outlives graph, which points to it
  hnswlib::HierarchicalNSW<float> graph;
};

const char* AlsModel::KernelName() { return BestKernels().name; }

absl::StatusOr<AlsModel> AlsModel::Train(const InteractionMatrix& m, const AlsOptions& options,
                                         const ProgressFn& progress, std::stop_token stop) {
  RETURN_IF_ERROR(ValidateAlsOptions(options));
  AlsModel model;
  model.options_ = options;
  if (options.regularization < 0) model.options_.regularization = kDefaultAlsRegularization;
  const AlsOptions& o = model.options_;
  const KernelSet& kernels = BestKernels();
  const int threads = ResolveThreads(o.threads);
  model.num_users_ = m.num_users();
  model.num_items_ = m.num_items();
  model.stride_ = Stride(o.factors);
  const int stride = model.stride_;
  model.user_factors_.assign(static_cast<size_t>(m.num_users()) * stride, 0.0f);
  model.item_factors_.assign(static_cast<size_t>(m.num_items()) * stride, 0.0f);
  InitRows(o.seed, 0, m.num_users(), o.factors, stride, model.user_factors_.data());
  InitRows(o.seed, 1, m.num_items(), o.factors, stride, model.item_factors_.data());

  const InteractionMatrix::Csr by_user = m.ByUser();
  const InteractionMatrix::Csr by_item = m.ByItem();
  const std::vector<float> user_lambda = RowLambdas(o, by_user);
  const std::vector<float> item_lambda = RowLambdas(o, by_item);

  const auto stopped = [](int iteration) {
    return absl::CancelledError(StrCat("ALS training stopped before iteration ", iteration));
  };
  for (int iteration = 1; iteration <= o.iterations; ++iteration) {
    if (stop.stop_requested()) return stopped(iteration);
    const auto start = std::chrono::steady_clock::now();
    SolveSide(kernels, o, stride, threads, model.item_factors_, m.num_items(), by_user, user_lambda,
              model.user_factors_);
    SolveSide(kernels, o, stride, threads, model.user_factors_, m.num_users(), by_item, item_lambda,
              model.item_factors_);
    if (progress) {
      progress(iteration,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  if (stop.stop_requested()) return stopped(o.iterations + 1);
  RETURN_IF_ERROR(model.Finish());
  return model;
}

absl::Status AlsModel::Finish() {
  const int threads = ResolveThreads(options_.threads);
  item_gram_ = Gram(BestKernels(), item_factors_.data(), num_items_, stride_, threads);
  item_norms_.resize(num_items_);
  for (uint32_t i = 0; i < num_items_; ++i) {
    double sum = 0;
    for (int f = 0; f < options_.factors; ++f) sum += double{ItemRow(i)[f]} * ItemRow(i)[f];
    item_norms_[i] = static_cast<float>(std::sqrt(sum));
  }
  BuildFoldInBasis(threads);
  BuildScan();
  ann_.reset();
  if (num_items_ == 0 || num_items_ < options_.ann_min_items) return absl::OkStatus();
  std::shared_ptr<AnnIndex> index;
  try {
    index = std::make_shared<AnnIndex>(options_.factors, num_items_);
  } catch (const std::exception& e) {
    return absl::InternalError(
        StrCat("ALS: cannot allocate the HNSW index of ", num_items_, " items: ", e.what()));
  }
  std::mutex error_mu;
  std::string error;  // the first failure; guarded by error_mu
  ParallelFor(threads, (num_items_ + kRowsPerTask - 1) / kRowsPerTask, [&](size_t t, int) {
    const auto begin = static_cast<uint32_t>(t * kRowsPerTask);
    const uint32_t end = std::min(num_items_, begin + kRowsPerTask);
    try {
      for (uint32_t i = begin; i < end; ++i) index->graph.addPoint(ItemRow(i), i);
    } catch (const std::exception& e) {
      std::lock_guard lock(error_mu);
      if (error.empty()) error = StrCat("item ", begin, "..", end, ": ", e.what());
    }
  });
  if (!error.empty())
    return absl::InternalError(StrCat("ALS: cannot build the HNSW index: ", error));
  index->graph.setEf(kHnswEfSearch);
  ann_ = std::move(index);
  return absl::OkStatus();
}

void AlsModel::BuildFoldInBasis(int threads) {
  fold_basis_.clear();
  fold_eigenvalues_.clear();
  fold_items_.clear();
  const int f = options_.factors;
  const Eigen::MatrixXd gram = TopLeftAsDouble(item_gram_, stride_, f);
  if (num_items_ == 0 || !gram.allFinite()) return;  // FoldIn solves directly
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(gram);
  if (eigen.info() != Eigen::Success) return;
  // Eigenvalues ascending: the first is the smallest.
  fold_eigenvalues_.assign(eigen.eigenvalues().data(), eigen.eigenvalues().data() + f);
  fold_basis_.assign(eigen.eigenvectors().data(),
                     eigen.eigenvectors().data() + static_cast<size_t>(f) * f);
  fold_items_.resize(static_cast<size_t>(num_items_) * f);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using FloatRows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  ParallelFor(threads, (num_items_ + kRowsPerTask - 1) / kRowsPerTask, [&](size_t t, int) {
    const auto begin = static_cast<uint32_t>(t * kRowsPerTask);
    const uint32_t rows = std::min(num_items_, begin + kRowsPerTask) - begin;
    const Eigen::Map<const FloatRows, 0, Eigen::OuterStride<>> y(ItemRow(begin), rows, f,
                                                                 Eigen::OuterStride<>(stride_));
    Eigen::Map<RowMajor>(fold_items_.data() + static_cast<size_t>(begin) * f, rows, f).noalias() =
        y.cast<double>() * eigen.eigenvectors();
  });
}

void AlsModel::BuildScan() {
  using als_internal::kCodeLimit;
  using als_internal::kLanes;
  // A row that is not finite (training diverged) sorts first with an infinite bound, so
  // it is always scored exactly and never stops the scan.
  const auto norm = [&](uint32_t i) {
    return std::isfinite(item_norms_[i]) ? item_norms_[i] : std::numeric_limits<float>::infinity();
  };
  std::vector<uint32_t> order(num_items_);
  for (uint32_t i = 0; i < num_items_; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return norm(a) > norm(b); });
  const size_t slots = (size_t{num_items_} + kLanes - 1) / kLanes * kLanes;
  scan_codes_.assign(slots * stride_ / 2, 0x88);  // code 0 in both nibbles
  scan_items_.assign(slots, kNoItem);
  scan_scales_.assign(slots, 0.0f);
  scan_errors_.assign(slots, 0.0f);
  scan_code_norms_.assign(slots, 0.0f);
  scan_norms_.assign(slots, 0.0f);
  for (size_t slot = 0; slot < order.size(); ++slot) {
    const uint32_t item = order[slot];
    const float* row = ItemRow(item);
    scan_items_[slot] = item;
    scan_norms_[slot] = norm(item);
    float largest = 0;
    for (int f = 0; f < stride_; ++f) largest = std::max(largest, std::abs(row[f]));
    if (!std::isfinite(norm(item)) || !std::isfinite(largest)) {  // codes stay zero
      scan_errors_[slot] = scan_code_norms_[slot] = std::numeric_limits<float>::infinity();
      continue;
    }
    const float scale = largest / kCodeLimit;
    uint8_t* panel = scan_codes_.data() + slot / kLanes * stride_ / 2 * kLanes;
    double error = 0;
    for (int f = 0; f < stride_; ++f) {
      const float code = scale > 0 ? std::clamp(std::nearbyint(row[f] / scale), float{-kCodeLimit},
                                                float{kCodeLimit})
                                   : 0;
      // Octet f / 8, lane slot % kLanes, byte f % 4; the octet's upper half goes high.
      uint8_t& byte = panel[4 * kLanes * (f / 8) + 4 * (slot % kLanes) + f % 4];
      const auto nibble = static_cast<uint8_t>(static_cast<int>(code) + 8);
      byte = f % 8 < 4 ? (byte & 0xf0) | nibble : (byte & 0x0f) | (nibble << 4);
      const double diff = double{row[f]} - double{scale} * code;
      error += diff * diff;
    }
    scan_scales_[slot] = scale;
    scan_errors_[slot] = static_cast<float>(std::sqrt(error));
    scan_code_norms_[slot] = item_norms_[item] + scan_errors_[slot];
  }
}

const float* AlsModel::ItemRow(uint32_t i) const {
  return item_factors_.data() + static_cast<size_t>(i) * stride_;
}

void AlsModel::PrefetchItemRow(uint32_t i) const {
  const char* row = reinterpret_cast<const char*>(ItemRow(i));
  for (size_t byte = 0; byte < stride_ * sizeof(float); byte += 64) __builtin_prefetch(row + byte);
}

std::span<const float> AlsModel::UserFactors(UserIdx u) const {
  if (u.value >= num_users_) return {};
  return {user_factors_.data() + static_cast<size_t>(u.value) * stride_,
          static_cast<size_t>(options_.factors)};
}

std::span<const float> AlsModel::ItemFactors(ItemIdx i) const {
  if (i.value >= num_items_) return {};
  return {ItemRow(i.value), static_cast<size_t>(options_.factors)};
}

std::vector<float> AlsModel::FoldIn(std::span<const ItemIdx> items,
                                    std::span<const float> weights) const {
  STREAMREC_CHECK(items.size() == weights.size())
      << items.size() << " items, " << weights.size() << " weights";
  // Known items in id order, repeats merged; the sums keep input order.
  std::vector<std::pair<uint32_t, float>> cells;
  for (size_t k = 0; k < items.size(); ++k) {
    if (items[k].value < num_items_) cells.emplace_back(items[k].value, weights[k]);
  }
  std::stable_sort(cells.begin(), cells.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  double weight_sum = 0;
  size_t merged = 0;
  for (size_t k = 0; k < cells.size();) {
    const uint32_t item = cells[k].first;
    float w = 0;
    for (; k < cells.size() && cells[k].first == item; ++k) w += cells[k].second;
    weight_sum += w;
    cells[merged++] = {item, w};
  }
  cells.resize(merged);
  const int f = options_.factors;
  if (cells.empty()) return std::vector<float>(f, 0.0f);  // b = 0, so x = 0
  const double lambda = RowLambda(options_, weight_sum);
  if (cells.size() < static_cast<size_t>(f) && !fold_items_.empty() &&
      lambda + fold_eigenvalues_.front() > 0) {
    return FoldInFewCells(cells, lambda);
  }
  Eigen::MatrixXd a = TopLeftAsDouble(item_gram_, stride_, f);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
  for (const auto& [item, w] : cells) {
    const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXf>(ItemRow(item), f).cast<double>();
    const double confidence = 1.0 + double{options_.alpha} * w;
    a.selfadjointView<Eigen::Lower>().rankUpdate(y, confidence - 1.0);
    b += confidence * y;
  }
  a.diagonal().array() += lambda;
  const Eigen::VectorXd x = a.selfadjointView<Eigen::Lower>().ldlt().solve(b);
  return std::vector<float>(x.data(), x.data() + f);
}

std::vector<float> AlsModel::FoldInFewCells(std::span<const std::pair<uint32_t, float>> cells,
                                            double lambda) const {
  // In the eigenbasis Q of Y^T Y (y' = Q^T y), the equations are (D + Z Z^T) x' = b' with
  // D = diag(e + lambda), column i of Z = sqrt(c_i - 1) y'_i and b' = sum c_i y'_i. With
  // W = D^-1/2 Z and v = D^-1/2 b', Woodbury's identity gives
  //   x' = D^-1/2 (v - W (I + W^T W)^-1 W^T v),
  // an n x n solve for the n cells instead of an f x f one; then x = Q x'.
  const int f = options_.factors;
  const auto n = static_cast<Eigen::Index>(cells.size());
  const Eigen::ArrayXd scale =
      (Eigen::Map<const Eigen::ArrayXd>(fold_eigenvalues_.data(), f) + lambda).rsqrt();
  Eigen::MatrixXd w(f, n);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
  for (Eigen::Index k = 0; k < n; ++k) {
    const auto [item, weight] = cells[k];
    const Eigen::Map<const Eigen::VectorXd> y(fold_items_.data() + static_cast<size_t>(item) * f,
                                              f);
    const double confidence = 1.0 + double{options_.alpha} * weight;
    b += confidence * y;
    w.col(k) = std::sqrt(confidence - 1.0) * (scale * y.array()).matrix();
  }
  const Eigen::VectorXd v = (scale * b.array()).matrix();
  Eigen::MatrixXd m = Eigen::MatrixXd::Identity(n, n);
  m.selfadjointView<Eigen::Lower>().rankUpdate(w.transpose());
  const Eigen::VectorXd s = m.selfadjointView<Eigen::Lower>().llt().solve(w.transpose() * v);
  const Eigen::VectorXd rotated = (scale * (v - w * s).array()).matrix();
  const Eigen::VectorXd x = Eigen::Map<const Eigen::MatrixXd>(fold_basis_.data(), f, f) * rotated;
  return std::vector<float>(x.data(), x.data() + f);
}

void AlsModel::Recommend(std::span<const float> user_factors, size_t k,
                         absl::FunctionRef<bool(ItemIdx)> exclude,
                         std::vector<ScoredItem>* out) const {
  out->clear();
  if (user_factors.size() != static_cast<size_t>(options_.factors) || k == 0) return;
  const std::array<float, kMaxFactors> query = PaddedQuery(user_factors);
  if (ann_ != nullptr && AnnTopK(query.data(), k, exclude, out)) return;
  ExactTopK(query.data(), k, exclude, out);
}

void AlsModel::Score(std::span<const float> user_factors, std::span<const ItemIdx> items,
                     std::span<float> scores) const {
  STREAMREC_CHECK(scores.size() == items.size())
      << items.size() << " items, " << scores.size() << " scores";
  std::fill(scores.begin(), scores.end(), 0.0f);
  if (user_factors.size() != static_cast<size_t>(options_.factors)) return;
  const std::array<float, kMaxFactors> query = PaddedQuery(user_factors);
  // Start every row before the first product.
  for (const ItemIdx item : items) {
    if (item.value < num_items_) PrefetchItemRow(item.value);
  }
  const KernelSet& kernels = BestKernels();
  for (size_t j = 0; j < items.size(); ++j) {
    if (items[j].value < num_items_) {
      kernels.dots(ItemRow(items[j].value), 1, stride_, query.data(), &scores[j]);
    }
  }
}

template <typename Fn>
void AlsModel::ForEachItemDot(const float* query, Fn&& fn) const {
  const KernelSet& kernels = BestKernels();
  std::array<float, kScanBlock> dots;
  for (uint32_t begin = 0; begin < num_items_; begin += kScanBlock) {
    const size_t n = std::min<size_t>(kScanBlock, num_items_ - begin);
    kernels.dots(ItemRow(begin), n, stride_, query, dots.data());
    for (size_t j = 0; j < n; ++j) fn(ItemIdx(static_cast<uint32_t>(begin + j)), dots[j]);
  }
}

void AlsModel::ExactTopK(const float* query, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                         std::vector<ScoredItem>* out) const {
  using als_internal::kLanes;
  const KernelSet& kernels = BestKernels();
  // The query as int8 codes q^ = query_scale * code, four to a quad.
  float largest = 0;
  bool finite = true;
  for (int f = 0; f < stride_; ++f) {
    largest = std::max(largest, std::abs(query[f]));
    finite = finite && std::isfinite(query[f]);
  }
  if (!finite) {  // no code for it: every item scored exactly
    TopK top;
    top.Reset(k);
    ForEachItemDot(query, [&](ItemIdx item, float score) {
      if (top.WouldEnter(score, item) && !exclude(item)) top.Offer(score, item);
    });
    top.Finish(out);
    return;
  }
  const float query_scale = largest / 127;
  std::array<uint32_t, kMaxFactors / 4> quads{};
  int32_t code_sum = 0;
  double query_norm = 0, query_error = 0;
  for (int f = 0; f < stride_; ++f) {
    const float code =
        query_scale > 0 ? std::clamp(std::nearbyint(query[f] / query_scale), -127.0f, 127.0f) : 0;
    quads[f / 4] |= uint32_t{static_cast<uint8_t>(static_cast<int8_t>(code))} << (8 * (f % 4));
    code_sum += static_cast<int32_t>(code);
    const double diff = double{query[f]} - double{query_scale} * code;
    query_norm += double{query[f]} * query[f];
    query_error += diff * diff;
  }
  query_norm = std::sqrt(query_norm);
  query_error = std::sqrt(query_error);
  // With y = y^ + e_y and q = q^ + e_q:
  //   q . y = q^ . y^ + q . e_y + e_q . y^ <= q^ . y^ + |q| |e_y| + |e_q| |y^|,
  // and every product computed in float lies within kBoundMargin (|q| + |e_q|) |y^| of
  // its exact value; the scan's code norm |y| + |e_y| stands for |y^|, which it bounds.
  const als_internal::BoundWeights weights{
      .scale = query_scale,
      .error = static_cast<float>(query_norm),
      .code_norm = static_cast<float>(query_error + kBoundMargin * (query_norm + query_error))};
  const double norm_bound = query_norm * (1 + kBoundMargin);

  TopK top;
  top.Reset(k);
  // The lowest score an item needs to be scored exactly: the k-th held (a float's value,
  // the scores being floats) once the top is full. It only rises.
  const auto bar = [&] {
    return top.Full() ? static_cast<float>(top.Worst()) : -std::numeric_limits<float>::infinity();
  };
  // Takes a slot that holds an item (not padding).
  const auto score_slot = [&](size_t slot) {
    const ItemIdx item(scan_items_[slot]);
    float score;
    kernels.dots(ItemRow(item.value), 1, stride_, query, &score);
    if (top.WouldEnter(score, item) && !exclude(item)) top.Offer(score, item);
  };
  const size_t panels = scan_items_.size() / kLanes;

  // The scan, kScanPanels panels at a time. Once the top is full, a chunk's bounds are
  // computed, and the rows of its slots that reach the bar fetched, one chunk ahead of
  // the exact scoring, so that those rows arrive from memory while the chunk before is
  // scored.
  struct Chunk {
    size_t first = 0;       // slot
    size_t candidates = 0;  // slots whose bound reached the bar when it was bounded
    std::array<float, kScanPanels * kLanes> bounds;
    std::array<uint16_t, kScanPanels * kLanes> candidate;  // their offsets from first
  };
  std::array<Chunk, 2> chunks;
  // Bounds the chunk starting at panel `begin`; false when there is none or the norm
  // bound ends the scan before it (slots come by decreasing norm: no score from here on
  // exceeds norm_bound * the first one's norm).
  const auto bound_chunk = [&](size_t begin, Chunk* c) {
    if (begin >= panels) return false;
    c->first = begin * kLanes;
    if (top.Full() && norm_bound * scan_norms_[c->first] < top.Worst()) return false;
    const size_t n = std::min(kScanPanels, panels - begin);
    const als_internal::ScanSlots slots{.scales = scan_scales_.data() + c->first,
                                        .errors = scan_errors_.data() + c->first,
                                        .code_norms = scan_code_norms_.data() + c->first};
    const float largest =
        kernels.scan_bounds(scan_codes_.data() + c->first * stride_ / 2, n, stride_, quads.data(),
                            code_sum, slots, weights, c->bounds.data());
    const float at_least = bar();
    c->candidates = 0;
    if (largest < at_least) return true;
    for (size_t j = 0; j < n * kLanes; ++j) {
      // A NaN bound is a candidate; padding never is.
      if (c->bounds[j] < at_least || scan_items_[c->first + j] == kNoItem) continue;
      c->candidate[c->candidates++] = static_cast<uint16_t>(j);
      PrefetchItemRow(scan_items_[c->first + j]);
    }
    return true;
  };
  bool more = bound_chunk(0, &chunks[0]);
  for (size_t which = 0; more; which ^= 1) {
    Chunk& c = chunks[which];
    const size_t next = c.first / kLanes + kScanPanels;
    // Until the top is full the bar is -inf, and a chunk bounded then would fetch every
    // row: the next chunk waits for the bar that this one leaves. Its own candidates
    // with the k highest bounds are scored first, so that the bar is high before the
    // others are tested against it. (Any order gives the same top: an item is skipped
    // only when its bound, hence its score, is below the bar, which only rises.)
    const bool ahead = top.Full();
    if (ahead) {
      more = bound_chunk(next, &chunks[which ^ 1]);
    } else if (c.candidates > k) {
      // A NaN bound (a candidate) counts as the highest, so that the order is strict.
      const auto key = [&](uint16_t j) {
        return std::isnan(c.bounds[j]) ? std::numeric_limits<float>::infinity() : c.bounds[j];
      };
      std::nth_element(c.candidate.begin(), c.candidate.begin() + k,
                       c.candidate.begin() + c.candidates,
                       [&](uint16_t a, uint16_t b) { return key(a) > key(b); });
    }
    for (size_t i = 0; i < c.candidates; ++i) {
      const uint16_t j = c.candidate[i];
      if (!(c.bounds[j] < bar())) score_slot(c.first + j);
    }
    if (!ahead) more = bound_chunk(next, &chunks[which ^ 1]);
  }
  top.Finish(out);
}

bool AlsModel::AnnTopK(const float* query, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                       std::vector<ScoredItem>* out) const {
  const KernelSet& kernels = BestKernels();
  TopK top;
  // Asks for more candidates than k, as exclusions remove some; 4x more while too few
  // are left, up to a quarter of the catalogue, where a scan is as cheap.
  for (size_t fetch = 2 * k + 16; fetch <= num_items_ / 4; fetch *= 4) {
    std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
    try {
      found = ann_->graph.searchKnn(query, fetch);
    } catch (const std::exception&) {
      return false;  // hnswlib's own consistency checks; the scan is always right
    }
    top.Reset(k);
    size_t eligible = 0;
    for (; !found.empty(); found.pop()) {
      const ItemIdx item(static_cast<uint32_t>(found.top().second));
      float score;
      kernels.dots(ItemRow(item.value), 1, stride_, query, &score);
      if (!top.WouldEnter(score, item)) continue;
      if (exclude(item)) continue;
      ++eligible;
      top.Offer(score, item);
    }
    if (eligible >= k) {
      top.Finish(out);
      return true;
    }
  }
  return false;
}

void AlsModel::SimilarItems(ItemIdx item, size_t k, std::vector<ScoredItem>* out) const {
  out->clear();
  if (item.value >= num_items_ || k == 0) return;
  const double norm = item_norms_[item.value];
  TopK top;
  top.Reset(k);
  ForEachItemDot(ItemRow(item.value), [&](ItemIdx other, float dot) {
    if (other == item) return;
    const double denominator = norm * item_norms_[other.value];
    top.Offer(denominator > 0 ? dot / denominator : 0.0, other);
  });
  top.Finish(out);
}

void AlsModel::Save(ByteWriter* w) const {
  const AlsOptions& o = options_;
  w->Put<int32_t>(o.factors);
  w->Put<int32_t>(o.iterations);
  w->Put(o.regularization);
  w->Put(o.regularization_exponent);
  w->Put(o.alpha);
  w->Put<int32_t>(o.cg_steps);
  w->Put<int32_t>(o.threads);
  w->Put(o.seed);
  w->Put(o.ann_min_items);
  w->Put(num_users_);
  w->Put(num_items_);
  const size_t row_bytes = static_cast<size_t>(o.factors) * sizeof(float);
  for (uint32_t u = 0; u < num_users_; ++u) w->PutRaw(UserFactors(UserIdx(u)).data(), row_bytes);
  for (uint32_t i = 0; i < num_items_; ++i) w->PutRaw(ItemRow(i), row_bytes);
}

namespace {

// Reads `rows` rows of `factors` floats into rows of `stride` (padding stays zero).
absl::Status GetRows(ByteReader* r, uint32_t rows, int factors, int stride, const char* side,
                     HugePageVector<float>* out) {
  out->assign(static_cast<size_t>(rows) * stride, 0.0f);
  const size_t row_bytes = static_cast<size_t>(factors) * sizeof(float);
  for (uint32_t row = 0; row < rows; ++row) {
    std::string_view bytes;
    if (!r->GetRaw(row_bytes, &bytes)) {
      return absl::DataLossError(
          StrCat("ALS model: truncated in the ", side, " factors (row ", row, " of ", rows, ")"));
    }
    float* dst = out->data() + static_cast<size_t>(row) * stride;
    std::memcpy(dst, bytes.data(), row_bytes);
    for (int f = 0; f < factors; ++f) {
      if (!std::isfinite(dst[f])) {
        return absl::DataLossError(
            StrCat("ALS model: non-finite factor in ", side, " row ", row, " of ", rows));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AlsModel> AlsModel::Load(ByteReader* r) {
  AlsModel model;
  AlsOptions& o = model.options_;
  int32_t factors = 0, iterations = 0, cg_steps = 0, threads = 0;
  r->Get(&factors);
  r->Get(&iterations);
  r->Get(&o.regularization);
  r->Get(&o.regularization_exponent);
  r->Get(&o.alpha);
  r->Get(&cg_steps);
  r->Get(&threads);
  r->Get(&o.seed);
  r->Get(&o.ann_min_items);
  r->Get(&model.num_users_);
  r->Get(&model.num_items_);
  if (!r->ok()) return absl::DataLossError("ALS model: truncated header");
  o.factors = factors;
  o.iterations = iterations;
  o.cg_steps = cg_steps;
  o.threads = threads;
  if (absl::Status s = ValidateAlsOptions(o); !s.ok() || o.regularization < 0) {
    return absl::DataLossError(StrCat("ALS model: corrupt options (", s.message(), ")"));
  }
  const uint64_t factor_bytes = (uint64_t{model.num_users_} + model.num_items_) *
                                static_cast<uint64_t>(factors) * sizeof(float);
  if (r->remaining() < factor_bytes) {
    return absl::DataLossError(StrCat("ALS model: truncated: ", model.num_users_, " users and ",
                                      model.num_items_, " items need ", factor_bytes,
                                      " bytes of factors, ", r->remaining(), " left"));
  }
  model.stride_ = Stride(o.factors);
  RETURN_IF_ERROR(
      GetRows(r, model.num_users_, o.factors, model.stride_, "user", &model.user_factors_));
  RETURN_IF_ERROR(
      GetRows(r, model.num_items_, o.factors, model.stride_, "item", &model.item_factors_));
  RETURN_IF_ERROR(model.Finish());
  return model;
}

}  // namespace streamrec
