#pragma once
// The CPU backend (Eigen + xsimd + OpenMP). It falls back on the reference loops for views whose
// rows are not contiguous, so it includes the reference backend too.
#include "wfc/backend/reference.hpp"

#include "wfc/backend/cpu/adamw.hpp"
#include "wfc/backend/cpu/blas.hpp"
#include "wfc/backend/cpu/cross_entropy.hpp"
#include "wfc/backend/cpu/elementwise.hpp"
#include "wfc/backend/cpu/embedding.hpp"
#include "wfc/backend/cpu/layernorm.hpp"
#include "wfc/backend/cpu/random.hpp"
#include "wfc/backend/cpu/reduce.hpp"
#include "wfc/backend/cpu/rotary.hpp"
#include "wfc/backend/cpu/softmax.hpp"
