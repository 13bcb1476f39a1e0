#pragma once
// Part 3 of the study: infilling. At evenly spaced places in the validation text, a prefix, a gap
// of g characters, then p characters pinned in the future slots after the gap. Each gap character
// is predicted from the prefix and the gap's true characters before it (teacher-forced): its NLL,
// and whether the most likely character is the right one. The WFC model sees the pinned span (the
// slots after the gap hold its one-hot embeddings, pinned through the solve); the same WFC model
// without the pin and the GPT (which cannot see the future) predict the gap from the past alone.
#include "study/common.hpp"

namespace study {

struct infill_settings {
  index_t windows = 256, prefix = 48;
  index_t batch = 64;  // windows per solve
};

struct infill_task {
  index_t gap, pinned;
};

// The validation text's window starts: `count` places evenly spaced.
inline std::vector<const token_id*> infill_windows(const wfc::text_dataset& data, index_t count, index_t length) {
  std::vector<const token_id*> at;
  const index_t span = data.size(wfc::split::validation) - length;
  for (index_t i = 0; i < count; ++i) at.push_back(data.begin(wfc::split::validation) + span * i / count);
  return at;
}

inline json infill_row(const std::string& model, const infill_task& task, double nll, double correct, double positions) {
  return {{"model", model}, {"gap", task.gap}, {"pinned", task.pinned}, {"accuracy", correct / positions}, {"nll", nll / positions},
          {"positions", positions}};
}

// The WFC model, with the span pinned or not.
template <class M>
json infill_wfc(M& model, const wfc::text_dataset& data, const infill_settings& s, const infill_task& task, bool pin,
                const std::string& name) {
  const index_t V = model.config().vocab, F = model.config().future, P = s.prefix;
  if (task.gap + task.pinned > F)
    throw wfc::config_error("study: a gap of " + std::to_string(task.gap) + " and " + std::to_string(task.pinned) +
                            " pinned characters need F ≥ " + std::to_string(task.gap + task.pinned) + ", the model has " + std::to_string(F));
  const auto starts = infill_windows(data, s.windows, P + task.gap + task.pinned);
  const wfc::solvers::fixed_steps solver{model.objective().steps, 1.0};
  double nll = 0, correct = 0, positions = 0;
  for (index_t first = 0; first < s.windows; first += s.batch) {
    const index_t S = std::min(s.batch, s.windows - first);
    std::vector<token_id> prefix;
    for (index_t w = 0; w < S; ++w) prefix.insert(prefix.end(), starts[std::size_t(first + w)], starts[std::size_t(first + w)] + P);
    model.reset(S);
    model.append_past(prefix);
    std::vector<token_id> column(static_cast<std::size_t>(S));
    std::vector<float> onehots(static_cast<std::size_t>(S * V));
    for (index_t j = 0; j < task.gap; ++j) {
      model.reset_future();
      for (index_t k = 0; pin && k < task.pinned; ++k) {  // the span sits task.gap − j slots ahead
        std::fill(onehots.begin(), onehots.end(), 0.0f);
        for (index_t w = 0; w < S; ++w) onehots[std::size_t(w * V + starts[std::size_t(first + w)][P + task.gap + k])] = 1.0f;
        model.embed_slot(task.gap - j + k, onehots, true);
      }
      model.converge(solver);
      const index_t f = model.slots();
      const auto logits = wfc::to_host<backend>(model.future_logits());
      for (index_t w = 0; w < S; ++w) {
        const float* row = logits.data() + w * f * V;
        const token_id truth = starts[std::size_t(first + w)][P + j];
        nll += row_nll(row, V, truth);
        correct += row_argmax(row, V) == truth;
        column[std::size_t(w)] = truth;
      }
      positions += double(S);
      if (j + 1 < task.gap) model.append_past(column);
    }
  }
  return infill_row(name, task, nll, correct, positions);
}

// The GPT: the gap from the prefix alone.
template <class Gpt>
json infill_gpt(Gpt& gpt, const wfc::text_dataset& data, const infill_settings& s, const infill_task& task, const std::string& name) {
  const index_t V = gpt.config().vocab, P = s.prefix, T = P + task.gap - 1;
  const auto starts = infill_windows(data, s.windows, P + task.gap + task.pinned);
  double nll = 0, correct = 0, positions = 0;
  for (index_t first = 0; first < s.windows; first += s.batch) {
    const index_t S = std::min(s.batch, s.windows - first);
    std::vector<token_id> ids;
    for (index_t w = 0; w < S; ++w) ids.insert(ids.end(), starts[std::size_t(first + w)], starts[std::size_t(first + w)] + T);
    const auto logits = wfc::to_host<backend>(gpt.logits(ids, S));
    for (index_t w = 0; w < S; ++w)
      for (index_t j = 0; j < task.gap; ++j) {
        const float* row = logits.data() + (w * T + P - 1 + j) * V;
        const token_id truth = starts[std::size_t(first + w)][P + j];
        nll += row_nll(row, V, truth);
        correct += row_argmax(row, V) == truth;
        positions += 1;
      }
  }
  return infill_row(name, task, nll, correct, positions);
}

}  // namespace study
