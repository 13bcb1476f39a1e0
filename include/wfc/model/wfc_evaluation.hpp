#pragma once
// Evaluation of a WFC model on held-out text (DESIGN.md §2), comparable with a GPT's validation
// loss: every target is predicted once at every slot offset (the batches run once per block
// offset 0…F−1), from a cold start, with the model's training step count.
#include <cmath>
#include <vector>

#include "wfc/data/text_dataset.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/train/trainer.hpp"

namespace wfc {

struct offset_nll_report {
  double first_slot = 0;            // NLL of a block's first slot: next-token prediction from a cold start
  std::vector<double> per_offset;   // NLL by slot offset 0…F−1 (how uncertainty grows with distance)
  double mean = 0;                  // over every slot
};

// Over settings.eval_batches fixed batches of split `which` (the trainer's evaluation batches).
template <class Model>
offset_nll_report evaluate_offsets(Model& model, const text_dataset& data, split which, const trainer_settings& settings) {
  settings.validate();
  const index_t F = model.config().future;
  std::vector<double> sum(std::size_t(F), 0.0);
  std::vector<token_id> x, y;
  for (std::int64_t k = 0; k < settings.eval_batches; ++k) {
    data.sample(which, settings.batch, settings.block, evaluation_batches(settings, which), std::uint64_t(k), x, y);
    for (index_t offset = 0; offset < F; ++offset) {
      wfc_draw d;
      d.offset = offset;
      d.steps = model.objective().steps;
      model.forward(x, y, settings.batch, d);
      const auto nll = model.offset_nll();
      for (index_t o = 0; o < F; ++o)
        if (!std::isnan(nll[std::size_t(o)])) sum[std::size_t(o)] += nll[std::size_t(o)];
    }
  }
  offset_nll_report r;
  double total = 0;
  for (index_t o = 0; o < F; ++o) {
    r.per_offset.push_back(sum[std::size_t(o)] / double(settings.eval_batches * F));
    total += r.per_offset.back();
  }
  r.first_slot = r.per_offset[0];
  r.mean = total / double(F);
  return r;
}

}  // namespace wfc
