#pragma once
// Everything wfc offers. The backends present are the ones the wfc::wfc CMake target was
// configured with (WFC_HAVE_CPU, WFC_HAVE_KOKKOS); the reference backend is always there.
#include "wfc/version.hpp"

#include "wfc/core/error.hpp"
#include "wfc/core/rng.hpp"
#include "wfc/core/tensor.hpp"
#include "wfc/core/tensor_view.hpp"

#include "wfc/backend/reference.hpp"
#if defined(WFC_HAVE_CPU)
#include "wfc/backend/cpu.hpp"
#endif
#if defined(WFC_HAVE_KOKKOS)
#include "wfc/backend/kokkos.hpp"
#endif

#include "wfc/collapse/policies.hpp"
#include "wfc/data.hpp"
#include "wfc/io/checkpoint.hpp"
#include "wfc/io/file_checks.hpp"
#include "wfc/model/generate.hpp"
#include "wfc/model/generator.hpp"
#include "wfc/model/gpt.hpp"
#include "wfc/model/wfc_evaluation.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/nn.hpp"
#include "wfc/sampling/sampler.hpp"
#include "wfc/train/optimizer.hpp"
#include "wfc/train/schedule.hpp"
#include "wfc/train/stop_signals.hpp"
#include "wfc/train/trainer.hpp"
