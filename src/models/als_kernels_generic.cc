// The ALS kernels for any x86-64 (SSE2), and the run-time choice between the builds.

#define STREAMREC_ALS_ISA generic
#include "models/als_kernels_impl.h"

namespace streamrec::als_internal {

#ifdef STREAMREC_ALS_AVX2
// Defined in als_kernels_avx2.cc, compiled with -mavx2 -mfma, and in
// als_kernels_avx512.cc, compiled with AVX-512 besides.
const KernelSet& Avx2Kernels();
const KernelSet& Avx512Kernels();
#endif

const KernelSet& GenericKernels() { return generic::kKernels; }

const std::vector<const KernelSet*>& SupportedKernels() {
  static const std::vector<const KernelSet*> supported = [] {
    std::vector<const KernelSet*> builds;
#ifdef STREAMREC_ALS_AVX2
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512vnni");
    if (avx512) builds.push_back(&Avx512Kernels());
    if (avx2) builds.push_back(&Avx2Kernels());
#endif
    builds.push_back(&GenericKernels());
    return builds;
  }();
  return supported;
}

const KernelSet& BestKernels() {
  static const KernelSet& best = *SupportedKernels().front();
  return best;
}

}  // namespace streamrec::als_internal
