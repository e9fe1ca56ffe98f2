#pragma once
// AlsModel: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008, "HKV"),
// trained by alternating least squares with conjugate gradient (Takacs, Pilaszy & Tikk
// 2011), on an InteractionMatrix.
//
// The maths. Users u and items i get factors x_u, y_i of `factors` floats. A cell of the
// matrix with summed event weight w_ui is a positive, p_ui = 1, with confidence
// c_ui = 1 + alpha * w_ui; every other pair is a negative, p_ui = 0, with confidence 1.
// Training minimises
//   L = sum over all (u, i) of c_ui (p_ui - x_u . y_i)^2
//       + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2,
// with frequency-scaled regularisation (after Rendle et al. 2022, "Revisiting the
// performance of iALS on item recommendation benchmarks"): a row's lambda grows with the
// confidence its cells add,
//   lambda_u = regularization * (1 + alpha * sum_{i in I_u} w_ui)^nu,
// and the same for items over their users; nu = regularization_exponent. With nu = 1 a
// heavy user's factors are held back as much as its data pulls them, so one
// `regularization` fits light and heavy rows and data sets of any density; nu = 0 is
// HKV's plain lambda. Rendle et al. scale by the row's whole weight, implicit negatives
// included ((|I_u| + alpha_0 |I|)^nu); with that, the lambda dense data need swamps the
// few cells of sparse rows (DIGINETICA at alpha 4, lambda 0.01: NDCG@10 0.002, and 0.071
// with the form above; README.md "Batch models" has the measurements).
//
// Confidence is linear in the weight, as in HKV: with the event weights (view 1, click 2,
// add_to_cart 4, purchase 8) a cell of a bought item is ~15x a viewed one, and weights
// are small integers, so HKV's log scaling (for play counts in the thousands) is not
// needed.
//
// Training. Each iteration solves every user against the fixed item factors, then every
// item against the fixed user factors (see als_kernels.h for one row's normal equations
// and the CG). Y^T Y is computed once per half-iteration; rows are solved in blocks
// taken by `threads` workers. Factors start from a pseudo-random value seeded per row
// (seed, side, row), and a row's solve depends only on the other side, so the factors
// are bit-identical for any thread count.
//
// Serving. Recommend scores items by x_u . y_i: an exact scan below ann_min_items items,
// else candidates from an HNSW index (inner-product space, built on Train and Load, not
// stored) re-ranked by the exact dot product. The scan reads 4-bit codes of the item
// factors (an eighth of the floats' bytes) and computes an exact dot product only for
// an item whose bound (its code's dot product plus the quantization error's most) reaches
// the k-th score held; it visits items by decreasing norm and stops once |x_u| |y_i|
// (Cauchy-Schwarz) is below that score. Bounds carry a margin for float rounding, so the
// answer is a full exact scan's, bit for bit. FoldIn solves a user's factors from its
// interactions exactly, for users unseen or changed since training: by Woodbury's identity
// in the eigenbasis of Y^T Y when they have fewer cells than factors (an n x n solve
// for n cells), else directly (LDLT).
//
// Thread safety: immutable once built; const methods may run concurrently. Copies share
// the HNSW index (it is never modified after it is built).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stop_token>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/byte_io.h"
#include "common/huge_page_allocator.h"
#include "common/ids.h"
#include "models/interaction_matrix.h"
#include "models/model_types.h"

namespace streamrec {

struct AlsOptions {
  int factors = 64;  // 1..512
  int iterations = 15;
  // The lambda of the loss above. < 0: kDefaultAlsRegularization, tuned with
  // regularization_exponent 1 and alpha 8 (README.md "Batch models").
  float regularization = -1;
  float regularization_exponent = 1;  // nu, in [0, 1]
  float alpha = 8;                    // confidence per unit of event weight (README.md)
  int cg_steps = 3;                   // CG steps per row and half-iteration
  int threads = 0;                    // 0: all cores
  uint64_t seed = 42;
  uint32_t ann_min_items = 100000;  // catalogues at least this large use HNSW for Recommend
};

// The regularization used when AlsOptions::regularization < 0.
constexpr float kDefaultAlsRegularization = 0.1f;

// InvalidArgument naming the field: factors outside 1..512, iterations < 0,
// regularization not finite, exponent outside [0, 1], alpha <= 0 or not finite,
// cg_steps < 1, threads < 0.
absl::Status ValidateAlsOptions(const AlsOptions& options);

class AlsModel {
 public:
  using ProgressFn = std::function<void(int iteration, double seconds)>;

  // Trains on `m` (see the header comment). `progress`, if set, is called after each
  // iteration with its number (1-based) and its wall time. InvalidArgument for bad
  // options; Internal if the HNSW index cannot be built; Cancelled when `stop` is
  // requested (looked at before each iteration and before the index is built).
  static absl::StatusOr<AlsModel> Train(const InteractionMatrix& m, const AlsOptions& options,
                                        const ProgressFn& progress = {}, std::stop_token stop = {});

  int factors() const { return options_.factors; }
  uint32_t num_users() const { return num_users_; }
  uint32_t num_items() const { return num_items_; }
  // The options trained with, the regularization actually used filled in.
  const AlsOptions& options() const { return options_; }
  // The name of the kernels in use: "avx2" or "generic".
  static const char* KernelName();

  // Empty if the id is out of range.
  std::span<const float> UserFactors(UserIdx u) const;
  std::span<const float> ItemFactors(ItemIdx i) const;

  // A user's factors solved exactly (in double) against the fixed item factors,
  // from these interactions: the user's normal equations as in training, with lambda_u
  // from the same formula. Items may repeat (their weights sum); items out of range
  // are ignored. REQUIRES: weights.size() == items.size(), weights > 0.
  std::vector<float> FoldIn(std::span<const ItemIdx> items, std::span<const float> weights) const;

  // Replaces `*out` with the top `k` items by user_factors . y_i, skipping items for
  // which exclude(item) is true; best first, ties by lower id. exclude is called only
  // for items that would make the top k. A vector of another size than factors() (e.g.
  // the empty factors of an unknown user) gives an empty answer.
  void Recommend(std::span<const float> user_factors, size_t k,
                 absl::FunctionRef<bool(ItemIdx)> exclude, std::vector<ScoredItem>* out) const;
  // Sets scores[j] = user_factors . y_{items[j]}: the same float Recommend gives that item.
  // Items out of range, and every item for factors of another size, score 0.
  // REQUIRES: scores.size() == items.size().
  void Score(std::span<const float> user_factors, std::span<const ItemIdx> items,
             std::span<float> scores) const;
  // The top `k` items by cosine of item factors, the item itself left out; empty for an
  // unknown item. Items with all-zero factors score 0.
  void SimilarItems(ItemIdx item, size_t k, std::vector<ScoredItem>* out) const;

  // The options, the sizes and the factors (no checksum: the model file adds one).
  void Save(ByteWriter* w) const;
  // DataLoss on truncated or corrupt bytes; Internal if the HNSW index cannot be built.
  static absl::StatusOr<AlsModel> Load(ByteReader* r);

 private:
  struct AnnIndex;

  AlsModel() = default;
  // Derived state: Y^T Y, item norms, and the HNSW index for large catalogues.
  absl::Status Finish();
  const float* ItemRow(uint32_t i) const;
  // Starts loading every cache line of item i's row (rows are read at random).
  void PrefetchItemRow(uint32_t i) const;
  // Calls fn(ItemIdx, float dot) for every item in id order, dot = query . its factors,
  // computed a block of items per kernel call.
  template <typename Fn>
  void ForEachItemDot(const float* query, Fn&& fn) const;
  // FoldIn's eigenbasis of Y^T Y and the items in it; left empty (FoldIn then solves
  // directly) when the factors are not finite.
  void BuildFoldInBasis(int threads);
  // FoldIn for fewer cells than factors, by Woodbury's identity in that basis. `cells`:
  // distinct items with their summed weights. REQUIRES: lambda + the smallest
  // eigenvalue > 0.
  std::vector<float> FoldInFewCells(std::span<const std::pair<uint32_t, float>> cells,
                                    double lambda) const;
  // Lays out the scan: items by decreasing norm, quantized.
  void BuildScan();
  void ExactTopK(const float* query, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                 std::vector<ScoredItem>* out) const;
  // false when the index gave fewer than k eligible candidates (the caller scans).
  bool AnnTopK(const float* query, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
               std::vector<ScoredItem>* out) const;

  AlsOptions options_;
  uint32_t num_users_ = 0;
  uint32_t num_items_ = 0;
  int stride_ = 0;  // floats per row (factors rounded up; padding zero)
  // Requests read rows of the factor arrays at random: in huge pages, so that a row
  // fetched does not miss the TLB too.
  HugePageVector<float> user_factors_;  // num_users x stride
  HugePageVector<float> item_factors_;  // num_items x stride
  std::vector<float> item_gram_;        // Y^T Y, stride x stride (FoldIn)
  std::vector<float> item_norms_;       // |y_i| (SimilarItems, the scan's bounds)
  // Y^T Y = Q diag(e) Q^T with e ascending, and y'_i = Q^T y_i (FoldInFewCells).
  std::vector<double> fold_basis_;        // Q, factors x factors, column-major
  std::vector<double> fold_eigenvalues_;  // e
  HugePageVector<double> fold_items_;     // y'_i at [i * factors, (i + 1) * factors)
  // The scan (ExactTopK): the items in order of decreasing norm (ties by id), a slot
  // each, kLanes slots to a quantized panel (als_kernels.h). Item y is coded as
  // y ~ y^ = scale * code (code in [-7, 7]); padding slots are zero with id kNoItem.
  std::vector<uint8_t> scan_codes_;      // panel p at [p * stride / 2 * kLanes, ...)
  std::vector<uint32_t> scan_items_;     // per slot: the item
  std::vector<float> scan_scales_;       // per slot: scale
  std::vector<float> scan_errors_;       // per slot: |y - y^|
  std::vector<float> scan_code_norms_;   // per slot: |y| + |y - y^|, at least |y^|
  std::vector<float> scan_norms_;        // per slot: |y|
  std::shared_ptr<const AnnIndex> ann_;  // set iff num_items > 0 and >= ann_min_items
};

}  // namespace streamrec
