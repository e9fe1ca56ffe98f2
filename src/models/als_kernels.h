#pragma once
// The hot loops of ALS: one half-iteration's row solves, the Gram matrix, dot products
// for scoring and the bounds of the quantized scan. They are compiled three times from
// als_kernels_impl.h: for any x86-64 (als_kernels_generic.cc), with AVX2 + FMA
// (als_kernels_avx2.cc), and with AVX-512 besides (als_kernels_avx512.cc, whose scan
// takes two panels a register); BestKernels() picks the widest the CPU has. They give
// the same answers up to rounding (FMA); the scan's integer sums are exact in all three.
//
// Layout: a factor matrix is rows of `stride` floats, row r at data[r * stride], where
// stride = Stride(factors) is a multiple of kLanes and the padding floats are zero (so
// they add nothing to any dot product and stay zero through the solves).
//
// A quantized panel holds kLanes item rows as 4-bit codes for scanning (AlsModel scales
// and bounds them): a code c in [-kCodeLimit, kCodeLimit] is stored as c + 8 in a
// nibble. For factor octet o (factors 8o..8o + 7) and item j of the panel, byte
// panel[4 * kLanes * o + 4 * j + b], b in 0..3, holds factor 8o + b in its low nibble and
// factor 8o + 4 + b in its high one: `stride` / 2 * kLanes bytes in all, and one 32-byte
// load holds an octet of every item, four adjacent factors of an item to a 32-bit lane
// (the shape of pmaddubsw and vpdpbusd).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace streamrec::als_internal {

constexpr int kLanes = 8;  // floats per SIMD vector (AVX: 256 bits)

constexpr int Stride(int factors) { return (factors + kLanes - 1) / kLanes * kLanes; }

constexpr int kCodeLimit = 7;  // item codes of the scan lie in [-7, 7]; the query's in [-127, 127]

// One half-iteration of implicit ALS (Hu, Koren & Volinsky 2008): solve each row u of one
// side against the fixed other side Y. With the row's cells (i, w_i) and confidences
// c_i = 1 + alpha * w_i, the normal equations of u's part of the loss
//   sum_i c_ui (p_ui - x_u . y_i)^2 + lambda_u |x_u|^2      (p_ui = 1 on cells, else 0)
// are A_u x_u = b_u with
//   A_u = Y^T Y + sum_i (c_i - 1) y_i y_i^T + lambda_u I,   b_u = sum_i c_i y_i.
// Y^T Y is shared by all rows; only the row's own cells add to it (the sparse
// correction). x_u takes `cg_steps` steps of conjugate gradient (Takacs, Pilaszy & Tikk
// 2011) from its current value; a row without cells gets its exact solution, 0.
struct HalfStep {
  const float* fixed = nullptr;       // Y: the other side's rows
  const float* gram = nullptr;        // Y^T Y, stride x stride, symmetric
  const uint64_t* offsets = nullptr;  // CSR of the solved side: row r is cells
  const uint32_t* indices = nullptr;  // [offsets[r], offsets[r + 1]) of indices/weights
  const float* weights = nullptr;
  const float* lambda = nullptr;  // lambda_u per row
  float alpha = 0;
  int stride = 0;
  int cg_steps = 0;
  float* solved = nullptr;  // X: the rows solved, updated in place
};

// Per-slot terms of the scan's bounds (AlsModel::ExactTopK), from the panels' first slot.
struct ScanSlots {
  const float* scales = nullptr;
  const float* errors = nullptr;
  const float* code_norms = nullptr;
};
struct BoundWeights {
  float scale = 0;
  float error = 0;
  float code_norm = 0;
};

struct KernelSet {
  const char* name;  // "avx512", "avx2" or "generic"
  // Solves rows [begin, end) of `step`. `scratch`: 3 * stride floats, the caller's.
  // Each row's result depends only on `step` and its own previous value.
  void (*solve_rows)(const HalfStep& step, uint32_t begin, uint32_t end, float* scratch);
  // gram += sum over rows r in [begin, end) of row_r row_r^T (full symmetric matrix,
  // stride x stride, float sums in row order).
  void (*add_gram)(const float* rows, uint32_t begin, uint32_t end, int stride, float* gram);
  // out[r] = rows[r] . query for r in [0, n); `query` has `stride` floats.
  void (*dots)(const float* rows, size_t n, int stride, const float* query, float* out);
  // The scan's upper bounds for `num_panels` quantized panels: for slot s = p * kLanes + j
  // (item j of panel p), with d_s its codes' exact integer dot product with the query's,
  //   out[s] = d_s * scales[s] * w.scale + w.error * errors[s] + w.code_norm * code_norms[s]
  // in float. Returns the largest. The query's int8 codes come as `stride` / 4 quads:
  // factor 4t + b in byte b (from the lowest) of query_quads[t]; query_code_sum is their
  // sum. The integer sums cannot overflow for stride <= 512.
  float (*scan_bounds)(const uint8_t* panels, size_t num_panels, int stride,
                       const uint32_t* query_quads, int32_t query_code_sum, const ScanSlots& slots,
                       BoundWeights w, float* out);
};

const KernelSet& GenericKernels();
// Every build this CPU runs (and the binary has), widest first; generic is last.
const std::vector<const KernelSet*>& SupportedKernels();
// The first of SupportedKernels().
const KernelSet& BestKernels();

}  // namespace streamrec::als_internal
