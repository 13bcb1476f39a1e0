#pragma once
// The CPU backend's third-party headers, included once and here: the compiler's intrinsics, xsimd
// and Eigen. GCC before 13 warns -Wmaybe-uninitialized / -Wuninitialized inside its own AVX-512
// intrinsics (the self-initialised `_mm512_undefined_*()` values, GCC bug 105593) wherever xsimd or
// Eigen inline them, even from system headers. The warning is silenced for these headers' code only:
// the pragma covers the text included here, so our own code keeps both warnings.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif
#include <xsimd/xsimd.hpp>
#include <Eigen/Core>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
