// The kernels of als_kernels.h, written once with GCC vector extensions and compiled
// once per instruction set: a .cc defines STREAMREC_ALS_ISA (the namespace that keeps
// the two copies apart, so the linker never mixes them) and includes this file.
// Everything here is inline and private to the including file.
//
// No pragma once: each including .cc is its own copy.

#include <algorithm>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "models/als_kernels.h"

#ifndef STREAMREC_ALS_ISA
#error "define STREAMREC_ALS_ISA before including als_kernels_impl.h"
#endif

namespace streamrec::als_internal::STREAMREC_ALS_ISA {

// kLanes floats; one AVX register, or two SSE registers in the generic build.
using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));

#define STREAMREC_INLINE inline __attribute__((always_inline))

STREAMREC_INLINE Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
STREAMREC_INLINE void Store(float* p, Vec v) { std::memcpy(p, &v, sizeof(v)); }
STREAMREC_INLINE Vec Splat(float x) { return Vec{} + x; }
STREAMREC_INLINE float Sum(Vec v) {
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

// a . b over `n` floats (n a multiple of kLanes); two accumulators hide FMA latency.
STREAMREC_INLINE float Dot(const float* a, const float* b, int n) {
  Vec s0{}, s1{};
  int c = 0;
  for (; c + 2 * kLanes <= n; c += 2 * kLanes) {
    s0 += Load(a + c) * Load(b + c);
    s1 += Load(a + c + kLanes) * Load(b + c + kLanes);
  }
  if (c < n) s0 += Load(a + c) * Load(b + c);
  return Sum(s0 + s1);
}

// y += s * x over `n` floats.
STREAMREC_INLINE void Axpy(float s, const float* x, float* y, int n) {
  const Vec sv = Splat(s);
  for (int c = 0; c < n; c += kLanes) Store(y + c, Load(y + c) + sv * Load(x + c));
}

// out[c, c + kVecs * kLanes) = (G p)[...], G symmetric: sum over k of p[k] * G[k, c...]
// with kVecs accumulators in registers.
template <int kVecs>
STREAMREC_INLINE void GramTimesColumns(const float* g, const float* p, int stride, int c,
                                       float* out) {
  Vec acc[kVecs] = {};
  for (int k = 0; k < stride; ++k) {
    const Vec pk = Splat(p[k]);
    const float* row = g + static_cast<size_t>(k) * stride + c;
    for (int v = 0; v < kVecs; ++v) acc[v] += pk * Load(row + v * kLanes);
  }
  for (int v = 0; v < kVecs; ++v) Store(out + c + v * kLanes, acc[v]);
}

// out = G p.
STREAMREC_INLINE void GramTimes(const float* g, const float* p, int stride, float* out) {
  int c = 0;
  for (; c + 8 * kLanes <= stride; c += 8 * kLanes) GramTimesColumns<8>(g, p, stride, c, out);
  for (; c + 4 * kLanes <= stride; c += 4 * kLanes) GramTimesColumns<4>(g, p, stride, c, out);
  for (; c < stride; c += kLanes) GramTimesColumns<1>(g, p, stride, c, out);
}

// Brings row `index` of Y towards the cache ahead of use.
STREAMREC_INLINE void PrefetchRow(const float* fixed, uint32_t index, int stride) {
  const char* row = reinterpret_cast<const char*>(fixed + static_cast<size_t>(index) * stride);
  for (size_t b = 0; b < stride * sizeof(float); b += 64) __builtin_prefetch(row + b);
}

constexpr int kPrefetchAhead = 4;  // rows of Y

// ap = A_u p = G p + lambda p + sum_i alpha w_i (y_i . p) y_i.
STREAMREC_INLINE void TimesA(const HalfStep& h, uint64_t begin, uint64_t end, float lambda,
                             const float* p, float* ap) {
  const int n = h.stride;
  GramTimes(h.gram, p, n, ap);
  Axpy(lambda, p, ap, n);
  for (uint64_t k = begin; k < end; ++k) {
    if (k + kPrefetchAhead < end) PrefetchRow(h.fixed, h.indices[k + kPrefetchAhead], n);
    const float* y = h.fixed + static_cast<size_t>(h.indices[k]) * n;
    Axpy(h.alpha * h.weights[k] * Dot(y, p, n), y, ap, n);
  }
}

// Conjugate gradient on A_u x = b_u from the row's current x (see HalfStep).
// scratch: r (residual), p (direction), ap (A p).
STREAMREC_INLINE void SolveRow(const HalfStep& h, uint32_t row, float* scratch) {
  const int n = h.stride;
  float* x = h.solved + static_cast<size_t>(row) * n;
  const uint64_t begin = h.offsets[row], end = h.offsets[row + 1];
  if (begin == end) {
    std::memset(x, 0, n * sizeof(float));
    return;
  }
  float* r = scratch;
  float* p = scratch + n;
  float* ap = scratch + 2 * n;
  const float lambda = h.lambda[row];

  // r = b - A x = -(G x + lambda x) + sum_i (c_i - (c_i - 1)(y_i . x)) y_i.
  GramTimes(h.gram, x, n, r);
  const Vec minus_lambda = Splat(-lambda);
  for (int c = 0; c < n; c += kLanes) {
    Store(r + c, minus_lambda * Load(x + c) - Load(r + c));
  }
  for (uint64_t k = begin; k < end; ++k) {
    if (k + kPrefetchAhead < end) PrefetchRow(h.fixed, h.indices[k + kPrefetchAhead], n);
    const float* y = h.fixed + static_cast<size_t>(h.indices[k]) * n;
    const float confidence_minus_1 = h.alpha * h.weights[k];
    Axpy(1 + confidence_minus_1 - confidence_minus_1 * Dot(y, x, n), y, r, n);
  }

  std::memcpy(p, r, n * sizeof(float));
  float rs = Dot(r, r, n);
  // Stops early once the residual is negligible (also guards p . Ap = 0).
  constexpr float kTinyResidual = 1e-20f;
  for (int step = 0; step < h.cg_steps && rs > kTinyResidual; ++step) {
    TimesA(h, begin, end, lambda, p, ap);
    const float a = rs / Dot(p, ap, n);
    const Vec av = Splat(a);
    for (int c = 0; c < n; c += kLanes) {
      Store(x + c, Load(x + c) + av * Load(p + c));
      Store(r + c, Load(r + c) - av * Load(ap + c));
    }
    const float rs_next = Dot(r, r, n);
    const Vec beta = Splat(rs_next / rs);
    for (int c = 0; c < n; c += kLanes) Store(p + c, Load(r + c) + beta * Load(p + c));
    rs = rs_next;
  }
}

inline void SolveRows(const HalfStep& step, uint32_t begin, uint32_t end, float* scratch) {
  for (uint32_t row = begin; row < end; ++row) SolveRow(step, row, scratch);
}

// gram += sum of row_r row_r^T, four rows per pass over the matrix (a quarter of the
// loads and stores of one row at a time); the float sums keep row order.
inline void AddGram(const float* rows, uint32_t begin, uint32_t end, int stride, float* gram) {
  uint32_t r = begin;
  for (; r + 4 <= end; r += 4) {
    const float* y0 = rows + static_cast<size_t>(r) * stride;
    const float* y1 = y0 + stride;
    const float* y2 = y1 + stride;
    const float* y3 = y2 + stride;
    for (int k = 0; k < stride; ++k) {
      float* g = gram + static_cast<size_t>(k) * stride;
      const Vec s0 = Splat(y0[k]), s1 = Splat(y1[k]), s2 = Splat(y2[k]), s3 = Splat(y3[k]);
      for (int c = 0; c < stride; c += kLanes) {
        Vec acc = Load(g + c);
        acc += s0 * Load(y0 + c);
        acc += s1 * Load(y1 + c);
        acc += s2 * Load(y2 + c);
        acc += s3 * Load(y3 + c);
        Store(g + c, acc);
      }
    }
  }
  for (; r < end; ++r) {
    const float* y = rows + static_cast<size_t>(r) * stride;
    for (int k = 0; k < stride; ++k) Axpy(y[k], y, gram + static_cast<size_t>(k) * stride, stride);
  }
}

// The dot product of scoring (one accumulator: cheap and the same wherever it is used).
STREAMREC_INLINE float ScoreDot(const float* a, const float* b, int n) {
  Vec s{};
  for (int c = 0; c < n; c += kLanes) s += Load(a + c) * Load(b + c);
  return Sum(s);
}

inline void Dots(const float* rows, size_t n, int stride, const float* query, float* out) {
  for (size_t r = 0; r < n; ++r) out[r] = ScoreDot(rows + r * stride, query, stride);
}

using IntVec = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));

// The integer dot products of kPanels quantized panels' stored nibbles (c + 8) with the
// query's codes (als_kernels.h), into sums[0, kPanels); ScanBounds takes the offset off.
template <int kPanels>
STREAMREC_INLINE void NibbleSums(const uint8_t* panels, int stride, const uint32_t* query_quads,
                                 IntVec* sums) {
  const int octets = stride / 8;
  const size_t panel_bytes = static_cast<size_t>(stride) / 2 * kLanes;
  constexpr int kOctetBytes = 4 * kLanes;
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
  if constexpr (kPanels % 2 == 0) {
    // Two panels to a register: per octet, panel 2q's 32 bytes in the low half and panel
    // 2q + 1's in the high half. vpdpbusd multiplies each lane's four unsigned nibbles by
    // the query's four signed codes and adds the four products to the lane's sum.
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    __m512i acc[kPanels / 2];
    for (int q = 0; q < kPanels / 2; ++q) acc[q] = _mm512_setzero_si512();
    for (int o = 0; o < octets; ++o) {
      const __m512i low_query = _mm512_set1_epi32(static_cast<int32_t>(query_quads[2 * o]));
      const __m512i high_query = _mm512_set1_epi32(static_cast<int32_t>(query_quads[2 * o + 1]));
      for (int q = 0; q < kPanels / 2; ++q) {
        const uint8_t* first = panels + 2 * q * panel_bytes + kOctetBytes * o;
        // The high half by a masked load: its 4 qwords from first + panel_bytes.
        const __m512i codes = _mm512_mask_loadu_epi64(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(first))),
            0xf0, first + panel_bytes - 32);
        acc[q] = _mm512_dpbusd_epi32(acc[q], _mm512_and_si512(codes, nibble), low_query);
        acc[q] = _mm512_dpbusd_epi32(acc[q], _mm512_and_si512(_mm512_srli_epi16(codes, 4), nibble),
                                     high_query);
      }
    }
    // The low half holds panel 2q's 8 sums, the high half panel 2q + 1's.
    for (int q = 0; q < kPanels / 2; ++q) _mm512_storeu_si512(&sums[2 * q], acc[q]);
    return;
  }
#endif
#if defined(__AVX2__)
  // Per octet and panel: pmaddubsw multiplies the unsigned nibbles by the query's signed
  // codes and adds pairs (at most 2 * 15 * 127 in magnitude, so no saturation); the low
  // and high nibbles' pairs are added, and pmaddwd adds each item's two pairs of pairs.
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[kPanels];
  for (int p = 0; p < kPanels; ++p) acc[p] = _mm256_setzero_si256();
  for (int o = 0; o < octets; ++o) {
    const __m256i low_query = _mm256_set1_epi32(static_cast<int32_t>(query_quads[2 * o]));
    const __m256i high_query = _mm256_set1_epi32(static_cast<int32_t>(query_quads[2 * o + 1]));
    for (int p = 0; p < kPanels; ++p) {
      const __m256i codes = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(panels + p * panel_bytes + kOctetBytes * o));
      const __m256i pairs = _mm256_add_epi16(
          _mm256_maddubs_epi16(_mm256_and_si256(codes, nibble), low_query),
          _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(codes, 4), nibble), high_query));
      acc[p] = _mm256_add_epi32(acc[p], _mm256_madd_epi16(pairs, ones));
    }
  }
  std::memcpy(sums, acc, sizeof(acc));
#else
  for (int p = 0; p < kPanels; ++p) {
    const uint8_t* panel = panels + p * panel_bytes;
    for (int j = 0; j < kLanes; ++j) {
      int32_t sum = 0;
      for (int o = 0; o < octets; ++o) {
        for (int b = 0; b < 4; ++b) {
          const uint8_t code = panel[kOctetBytes * o + 4 * j + b];
          sum += (code & 0x0f) * static_cast<int8_t>(query_quads[2 * o] >> (8 * b)) +
                 (code >> 4) * static_cast<int8_t>(query_quads[2 * o + 1] >> (8 * b));
        }
      }
      sums[p][j] = sum;
    }
  }
#endif
}

// The integer sums are exact, so every build bounds from the same numbers.
inline float ScanBounds(const uint8_t* panels, size_t num_panels, int stride,
                        const uint32_t* query_quads, int32_t query_code_sum, const ScanSlots& slots,
                        BoundWeights w, float* out) {
  // The stored nibbles are c + 8: each item's sum is 8 * (the query's code sum) too much.
  const IntVec offset = IntVec{} + 8 * query_code_sum;
  constexpr int kGroup = 4;  // panels per pass over the query
  const size_t panel_bytes = static_cast<size_t>(stride) / 2 * kLanes;
  Vec largest = Splat(-__builtin_inff());
  for (size_t p = 0; p < num_panels;) {
    IntVec sums[kGroup];
    const int group = num_panels - p >= kGroup ? kGroup : 1;
    const uint8_t* first_panel = panels + p * panel_bytes;
    if (group == kGroup) {
      NibbleSums<kGroup>(first_panel, stride, query_quads, sums);
    } else {
      NibbleSums<1>(first_panel, stride, query_quads, sums);
    }
    for (int g = 0; g < group; ++g, ++p) {
      const size_t first = p * kLanes;
      const Vec bound = __builtin_convertvector(sums[g] - offset, Vec) *
                            Load(slots.scales + first) * Splat(w.scale) +
                        Splat(w.error) * Load(slots.errors + first) +
                        Splat(w.code_norm) * Load(slots.code_norms + first);
      Store(out + first, bound);
      largest = largest > bound ? largest : bound;
    }
  }
  float max = -__builtin_inff();
  for (int l = 0; l < kLanes; ++l) max = std::max(max, largest[l]);
  return max;
}

#undef STREAMREC_INLINE

// This build's kernels, named after its namespace, for the including .cc to hand out.
#define STREAMREC_ALS_NAME_OF(isa) #isa
#define STREAMREC_ALS_NAME(isa) STREAMREC_ALS_NAME_OF(isa)
inline constexpr KernelSet kKernels{STREAMREC_ALS_NAME(STREAMREC_ALS_ISA), &SolveRows, &AddGram,
                                    &Dots, &ScanBounds};
#undef STREAMREC_ALS_NAME
#undef STREAMREC_ALS_NAME_OF

}  // namespace streamrec::als_internal::STREAMREC_ALS_ISA
