#pragma once
// Transformer modules written once against the kernel interface: each keeps the offsets of its
// parameters in the model's flat buffers and has forward and (accumulating) backward passes.
#include "wfc/nn/attention.hpp"
#include "wfc/nn/block.hpp"
#include "wfc/nn/embedding.hpp"
#include "wfc/nn/layer_norm.hpp"
#include "wfc/nn/linear.hpp"
#include "wfc/nn/masks.hpp"
#include "wfc/nn/mlp.hpp"
#include "wfc/nn/parameters.hpp"
#include "wfc/nn/positions.hpp"
