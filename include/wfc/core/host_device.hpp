#pragma once
// Functions that run on the host and inside device kernels (CUDA/HIP through Kokkos).
// The core headers must not include Kokkos, so they use their own spelling of the annotation.
#if defined(__CUDACC__) || defined(__HIPCC__)
#define WFC_HOST_DEVICE __host__ __device__ inline
#else
#define WFC_HOST_DEVICE inline
#endif
