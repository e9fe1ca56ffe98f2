// The ALS kernels compiled with -mavx2 -mfma -ffp-contract=fast (see CMakeLists.txt):
// each Vec is one AVX register and a * b + c one FMA. Called only when
// __builtin_cpu_supports says the CPU has both (BestKernels).

#define STREAMREC_ALS_ISA avx2
#include "models/als_kernels_impl.h"

namespace streamrec::als_internal {

const KernelSet& Avx2Kernels() { return avx2::kKernels; }

}  // namespace streamrec::als_internal
