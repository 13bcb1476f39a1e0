#pragma once
// The reference backend: every kernel as a plain loop.
#include "wfc/backend/reference/adamw.hpp"
#include "wfc/backend/reference/blas.hpp"
#include "wfc/backend/reference/cross_entropy.hpp"
#include "wfc/backend/reference/elementwise.hpp"
#include "wfc/backend/reference/embedding.hpp"
#include "wfc/backend/reference/layernorm.hpp"
#include "wfc/backend/reference/random.hpp"
#include "wfc/backend/reference/reduce.hpp"
#include "wfc/backend/reference/rotary.hpp"
#include "wfc/backend/reference/softmax.hpp"
#include "wfc/kernels/generic.hpp"
