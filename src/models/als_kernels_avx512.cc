// The ALS kernels compiled with AVX-512 (BW, VL, VNNI) besides -mavx2 -mfma
// -ffp-contract=fast (see CMakeLists.txt). The float kernels are the AVX2 build's
// source on the same 8-float vectors; the quantized scan takes two panels a 512-bit
// register (NibbleSums). Called only when __builtin_cpu_supports says the CPU has all of
// it (BestKernels).

#define STREAMREC_ALS_ISA avx512
#include "models/als_kernels_impl.h"

namespace streamrec::als_internal {

const KernelSet& Avx512Kernels() { return avx512::kKernels; }

}  // namespace streamrec::als_internal
