#pragma once
// The Kokkos backend: the kernels as named functors on the tag's execution space (Serial, OpenMP,
// CUDA, HIP). Views hold memory of that space; only shape checks and error messages run on the host.
#include "wfc/backend/kokkos/tag.hpp"

#include "wfc/backend/kokkos/adamw.hpp"
#include "wfc/backend/kokkos/blas.hpp"
#include "wfc/backend/kokkos/cross_entropy.hpp"
#include "wfc/backend/kokkos/elementwise.hpp"
#include "wfc/backend/kokkos/embedding.hpp"
#include "wfc/backend/kokkos/layernorm.hpp"
#include "wfc/backend/kokkos/random.hpp"
#include "wfc/backend/kokkos/reduce.hpp"
#include "wfc/backend/kokkos/rotary.hpp"
#include "wfc/backend/kokkos/softmax.hpp"
#include "wfc/kernels/generic.hpp"
