#pragma once
// The training loop, written once for any model with a flat parameter buffer: GPT today, the WFC
// model next. Each iteration draws `accumulation` seeded micro-batches, averages their gradients,
// and takes one AdamW step at the scheduled rate; every `eval_interval` iterations (and after the
// last) it measures the mean loss on fixed train and validation batches. An observer sees one
// record per iteration and may end the run there (return training_action::stop: a stop signal,
// a time limit), after the step it saw.
//
// A model is trainable when it has (T its scalar type, B its backend tag):
//   using value_type = T; using backend_type = B;
//   T forward(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences)
//       the mean loss of `sequences` rows of tokens, keeping what backward needs;
//   void backward()          gradients += ∂(that loss)/∂parameters;
//   void zero_grad();
//   tensor_view<T, 1> parameters(), gradients();   one flat buffer each, same layout;
//   const nn::parameter_layout& layout().          which tensors get weight decay.
//
// Data-parallel training: the overloads taking a process group (process_group.hpp) give each
// process its share of every batch's rows; the result does not depend on how many processes share
// them (up to the order of floating-point sums).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/data/text_dataset.hpp"
#include "wfc/train/optimizer.hpp"
#include "wfc/train/process_group.hpp"
#include "wfc/train/schedule.hpp"

namespace wfc {

// Defaults are nanoGPT's CPU run of shakespeare_char.
struct trainer_settings {
  std::int64_t iterations = 2000;
  index_t batch = 12, block = 64;     // sequences per micro-batch, tokens per sequence
  std::int64_t accumulation = 1;      // micro-batches per step: the step sees accumulation·batch sequences
  double lr = 1e-3, min_lr = 1e-4;    // cosine decay from lr to min_lr over the run,
  std::int64_t warmup = 100;          // after a linear warm-up of this many iterations
  adamw_settings adamw;               // betas 0.9/0.99, weight decay 0.1, clip 1.0
  std::int64_t eval_interval = 250;   // evaluate every this many iterations, and after the last
  std::int64_t eval_batches = 20;     // batches per split and evaluation (nanoGPT's eval_iters)
  std::uint64_t seed = 1337;          // draws every batch

  void validate() const {
    auto require = [](bool ok, const std::string& what) {
      if (!ok) throw config_error("trainer_settings: " + what);
    };
    require(iterations > 0, "iterations is " + std::to_string(iterations) + "; train for at least 1");
    require(batch > 0, "batch is " + std::to_string(batch) + "; use at least 1 sequence per batch");
    require(block > 0, "block is " + std::to_string(block) + "; use sequences of at least 1 token");
    require(accumulation > 0, "accumulation is " + std::to_string(accumulation) + "; use 1 for no gradient accumulation");
    require(lr > 0 && std::isfinite(lr), "lr is " + std::to_string(lr) + "; the learning rate must be a positive number");
    require(min_lr >= 0 && min_lr <= lr, "min_lr is " + std::to_string(min_lr) + "; it must lie in [0, lr = " + std::to_string(lr) + "]");
    require(warmup >= 0, "warmup is " + std::to_string(warmup) + "; use 0 for no warm-up");
    require(eval_interval > 0, "eval_interval is " + std::to_string(eval_interval) + "; evaluate every 1 or more iterations");
    require(eval_batches > 0, "eval_batches is " + std::to_string(eval_batches) + "; evaluate on at least 1 batch");
    require(adamw.beta1 >= 0 && adamw.beta1 < 1, "adamw.beta1 is " + std::to_string(adamw.beta1) + "; it must lie in [0, 1)");
    require(adamw.beta2 >= 0 && adamw.beta2 < 1, "adamw.beta2 is " + std::to_string(adamw.beta2) + "; it must lie in [0, 1)");
    require(adamw.eps > 0 && std::isfinite(adamw.eps), "adamw.eps is " + std::to_string(adamw.eps) + "; it must be a positive number");
    require(adamw.weight_decay >= 0 && std::isfinite(adamw.weight_decay),
            "adamw.weight_decay is " + std::to_string(adamw.weight_decay) + "; it must be a number ≥ 0 (0 for none)");
    require(adamw.clip >= 0, "adamw.clip is " + std::to_string(adamw.clip) + "; use 0 for no clipping");
  }

  // Decays over the run, as nanoGPT's lr_decay_iters = max_iters; a run no longer than its
  // warm-up never leaves it.
  cosine_schedule schedule() const { return {lr, min_lr, warmup, std::max(iterations, warmup + 1)}; }
};

// What the observer sees after each iteration.
struct training_record {
  std::int64_t iteration = 0, iterations = 0;  // 1-based: steps taken so far, of this many
  double loss = 0;                             // mean over the step's micro-batches
  double lr = 0, grad_norm = 0;                // the step's rate; gradient norm before clipping
  double ms = 0, tokens_per_s = 0;             // the step alone, evaluation excluded
  double elapsed_s = 0;                        // since training began, evaluations included
  bool evaluated = false;                      // whether the two losses below were measured
  double train_loss = std::numeric_limits<double>::quiet_NaN(), val_loss = std::numeric_limits<double>::quiet_NaN();
};

struct training_summary {
  double train_loss = 0, val_loss = 0;  // the evaluation after the last iteration
  double mean_ms = 0, seconds = 0;      // per step; the whole run, evaluations included
  std::int64_t iteration = 0;           // the last iteration taken (1-based): the end, or where the observer stopped
  bool stopped = false;                 // the observer stopped the run before the range's end
};

// What an observer may return: go on, or end the run after the step it just saw.
enum class training_action { go_on, stop };

// Where batches come from (streams of settings.seed): training micro-batch
// iteration·accumulation + m of one stream, evaluation batch k of another per split. Evaluation
// thus sees the same batches every time, and accumulation k of batch b draws the same sequences as
// one batch of k·b.
inline counter_rng training_batches(const trainer_settings& s) { return counter_rng(s.seed, 0); }
inline counter_rng evaluation_batches(const trainer_settings& s, split which) {
  return counter_rng(s.seed, which == split::train ? 1 : 2);
}

namespace detail {
template <class M>
using forward_t = decltype(std::declval<M&>().forward(std::declval<const std::vector<token_id>&>(),
                                                      std::declval<const std::vector<token_id>&>(), index_t{}));
template <class M>
using backward_t = decltype(std::declval<M&>().backward(), std::declval<M&>().zero_grad());
template <class M>
using buffers_t = decltype(std::declval<M&>().parameters(), std::declval<M&>().gradients());
template <class M>
using layout_t = decltype(static_cast<const nn::parameter_layout&>(std::declval<M&>().layout()));

template <class M>
using types_t = std::pair<typename M::value_type, typename M::backend_type>;

template <template <class> class Op, class M, class = void>
struct detects : std::false_type {};
template <template <class> class Op, class M>
struct detects<Op, M, std::void_t<Op<M>>> : std::true_type {};

template <class M>
constexpr bool check_trainable() {
  static_assert(detects<types_t, M>::value, "wfc trainer: the model needs `using value_type = T;` and `using backend_type = B;`");
  static_assert(detects<forward_t, M>::value, "wfc trainer: the model needs `forward(ids, targets, sequences)` returning the mean loss");
  static_assert(detects<backward_t, M>::value, "wfc trainer: the model needs `backward()` and `zero_grad()`");
  static_assert(detects<buffers_t, M>::value, "wfc trainer: the model needs `parameters()` and `gradients()` (flat tensor_view<T, 1>)");
  static_assert(detects<layout_t, M>::value, "wfc trainer: the model needs `layout()` returning its nn::parameter_layout");
  return true;
}

template <class M>
using model_scalar_t = typename M::value_type;
template <class M>
using model_backend_t = typename M::backend_type;

template <class M>
using first_sequence_t = decltype(std::declval<M&>().set_first_sequence(index_t{}));
template <class M>
using loss_weight_t = decltype(double(std::declval<const M&>().loss_weight()));

// The model's rows start at sequence `first` of the whole batch (for models that draw per row).
template <class Model>
void set_first_sequence(Model& model, index_t first) {
  if constexpr (detects<first_sequence_t, Model>::value) model.set_first_sequence(first);
}

// What the model's last forward was a mean over: its loss_weight(), else its rows.
template <class Model>
double loss_weight(const Model& model, index_t rows) {
  if constexpr (detects<loss_weight_t, Model>::value) return model.loss_weight();
  else return double(rows);
}

// The group's mean loss over a batch it shares, from each process's mean `loss` over its
// `weight`, and this process's share of the mean's gradient.
struct shared_loss {
  double loss = 0, weight = 1;
};

template <class Group>
shared_loss combine_losses(const Group& group, double loss, double weight) {
  if (group.size() == 1) return {loss, 1.0};
  double sums[2] = {weight > 0 ? loss * weight : (std::isnan(loss) ? loss : 0.0), weight};  // a NaN reaches every process
  group.sum(sums, 2);
  if (!(sums[1] > 0)) return {sums[0], 0.0};
  return {sums[0] / sums[1], weight / sums[1]};
}

// The model's rows start at sequence 0 again when a run over a group ends, however it ends.
template <class Model>
struct first_sequence_reset {
  Model& model;
  ~first_sequence_reset() { set_first_sequence(model, 0); }
};

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace detail

// The mean loss over settings.eval_batches fixed batches of split `which`.
template <class Model>
double evaluate(Model& model, const text_dataset& data, split which, const trainer_settings& settings) {
  static_assert(detail::check_trainable<Model>());
  settings.validate();
  std::vector<token_id> x, y;
  double total = 0;
  for (std::int64_t k = 0; k < settings.eval_batches; ++k) {
    data.sample(which, settings.batch, settings.block, evaluation_batches(settings, which), std::uint64_t(k), x, y);
    total += double(model.forward(x, y, settings.batch));
  }
  return total / double(settings.eval_batches);
}

// The same over a process group: each process evaluates its rows of every batch.
template <class Model, class Group>
double evaluate(Model& model, const text_dataset& data, split which, const trainer_settings& settings, const Group& group) {
  static_assert(detail::check_trainable<Model>() && require_process_group<Group>());
  if (group.size() == 1) {
    detail::set_first_sequence(model, 0);
    return evaluate(model, data, which, settings);
  }
  settings.validate();
  const batch_share share = share_of(settings.batch, group.rank(), group.size());
  const detail::first_sequence_reset<Model> reset{model};
  std::vector<token_id> x, y;
  double total = 0;
  for (std::int64_t k = 0; k < settings.eval_batches; ++k) {
    double loss = 0, weight = 0;
    group.together([&] {
      data.sample_rows(which, settings.batch, share.first, share.count, settings.block, evaluation_batches(settings, which), std::uint64_t(k),
                       x, y);
      detail::set_first_sequence(model, share.first);
      loss = double(model.forward(x, y, share.count));
      weight = detail::loss_weight(model, share.count);
    });
    total += detail::combine_losses(group, loss, weight).loss;
  }
  return total / double(settings.eval_batches);
}

// Sets the model's gradients to the mean of `accumulation` micro-batches' gradients for
// iteration `iteration` (0-based) and returns their mean loss.
template <class Model>
double accumulate_gradients(Model& model, const text_dataset& data, const trainer_settings& settings, std::int64_t iteration) {
  static_assert(detail::check_trainable<Model>());
  using T = detail::model_scalar_t<Model>;
  std::vector<token_id> x, y;
  double loss = 0;
  model.zero_grad();
  for (std::int64_t m = 0; m < settings.accumulation; ++m) {
    const auto draw = std::uint64_t(iteration * settings.accumulation + m);
    data.sample(split::train, settings.batch, settings.block, training_batches(settings), draw, x, y);
    loss += double(model.forward(x, y, settings.batch));
    model.backward();
  }
  if (settings.accumulation > 1) scale(detail::model_backend_t<Model>{}, model.gradients(), T(1) / T(settings.accumulation));
  return loss / double(settings.accumulation);
}

// The same over a process group, each process on its rows of every micro-batch: the gradients
// become the whole batch's on every process (each process's weighted by its share of the loss,
// then summed over the group). `total` is scratch for accumulation over micro-batches.
template <class Model, class Group>
double accumulate_gradients(Model& model, const text_dataset& data, const trainer_settings& settings, std::int64_t iteration,
                            const Group& group, tensor<detail::model_scalar_t<Model>, 1, detail::model_backend_t<Model>>& total) {
  static_assert(detail::check_trainable<Model>() && require_process_group<Group>());
  using T = detail::model_scalar_t<Model>;
  using B = detail::model_backend_t<Model>;
  if (group.size() == 1) {
    detail::set_first_sequence(model, 0);
    return accumulate_gradients(model, data, settings, iteration);
  }
  const B be{};
  const batch_share share = share_of(settings.batch, group.rank(), group.size());
  const auto grads = model.gradients();
  group.together([&] {
    if (settings.accumulation > 1 && total.size() != grads.size()) total = tensor<T, 1, B>(shape<1>{{grads.size()}});
  });
  std::vector<token_id> x, y;
  double loss = 0;
  for (std::int64_t m = 0; m < settings.accumulation; ++m) {
    const auto draw = std::uint64_t(iteration * settings.accumulation + m);
    double mine = 0, mine_weight = 0;
    group.together([&] {  // everything that could fail on one process alone
      data.sample_rows(split::train, settings.batch, share.first, share.count, settings.block, training_batches(settings), draw, x, y);
      model.zero_grad();
      detail::set_first_sequence(model, share.first);
      mine = double(model.forward(x, y, share.count));
      mine_weight = detail::loss_weight(model, share.count);
      model.backward();
    });
    const detail::shared_loss l = detail::combine_losses(group, mine, mine_weight);
    loss += l.loss;
    const T weight = T(l.weight / double(settings.accumulation));
    if (settings.accumulation == 1) {
      scale(be, grads, weight);
    } else if (m == 0) {
      fill(be, total.view(), T(0));
      axpy(be, total.view(), weight, tensor_view<const T, 1>(grads));
    } else {
      axpy(be, total.view(), weight, tensor_view<const T, 1>(grads));
    }
  }
  if (settings.accumulation > 1) copy(be, grads, total.cview());
  group.template sum<B>(grads);
  return loss / double(settings.accumulation);
}

// Trains `model` (already initialised) on `data`; observe(const training_record&) is called after
// every iteration. A non-finite loss or gradient throws value_error before the step, leaving the
// parameters as the last good step left them.
template <class Model, class Observer>
training_summary train(Model& model, const text_dataset& data, const trainer_settings& settings, Observer&& observe) {
  static_assert(detail::check_trainable<Model>());
  adamw_optimizer<detail::model_scalar_t<Model>, detail::model_backend_t<Model>> optimizer(model.layout(), settings.adamw);
  return train(model, data, settings, optimizer, 0, observe);
}

// Which iterations of a run to take: [begin, end), 0-based; end −1 runs to the last.
struct training_range {
  training_range(std::int64_t begin_ = 0, std::int64_t end_ = -1) : begin(begin_), end(end_) {}
  std::int64_t begin, end;
};

// The same for `range` of the run with `optimizer` as it stands: a run resumed from a checkpoint
// (parameters, optimiser state and range.begin restored) takes exactly the steps the
// uninterrupted run would have, since batches and rates depend on the iteration alone.
template <class Model, class Observer>
training_summary train(Model& model, const text_dataset& data, const trainer_settings& settings,
                       adamw_optimizer<detail::model_scalar_t<Model>, detail::model_backend_t<Model>>& optimizer, training_range range,
                       Observer&& observe) {
  return train(model, data, settings, optimizer, range, single_process{}, std::forward<Observer>(observe));
}

// The same over a process group (process_group.hpp): every process runs this with the same
// arguments; each takes its rows of every batch, and all take the same steps. The observer runs on
// every process (write files on rank 0 alone); an error it throws on any process, or a stop it asks
// for on any, ends the run on all.
template <class Model, class Group, class Observer>
training_summary train(Model& model, const text_dataset& data, const trainer_settings& settings,
                       adamw_optimizer<detail::model_scalar_t<Model>, detail::model_backend_t<Model>>& optimizer, training_range range,
                       const Group& group, Observer&& observe) {
  static_assert(detail::check_trainable<Model>() && require_process_group<Group>());
  settings.validate();
  share_of(settings.batch, group.rank(), group.size());  // a batch too small for the group fails now
  const detail::first_sequence_reset<Model> reset{model};
  const std::int64_t start = range.begin, stop = range.end < 0 ? settings.iterations : range.end;
  if (start < 0 || start > stop || stop > settings.iterations)
    throw config_error("train: cannot run iterations " + std::to_string(start) + " to " + std::to_string(stop) + " of a run of " +
                       std::to_string(settings.iterations) + " iterations");
  std::vector<token_id> x, y;  // a split too short for one window fails now, not at the first evaluation
  group.together([&] {
    for (split s : {split::train, split::validation}) data.sample(s, 1, settings.block, training_batches(settings), 0, x, y);
  });
  tensor<detail::model_scalar_t<Model>, 1, detail::model_backend_t<Model>> total;  // accumulation's scratch
  const cosine_schedule schedule = settings.schedule();
  const double tokens = double(settings.batch * settings.block * settings.accumulation);
  const auto start_time = std::chrono::steady_clock::now();
  training_summary summary;
  summary.iteration = start;
  for (std::int64_t it = start; it < stop; ++it) {
    training_record r;
    r.iteration = it + 1;
    r.iterations = settings.iterations;
    r.lr = schedule.at(it);
    const auto step_start = std::chrono::steady_clock::now();
    r.loss = accumulate_gradients(model, data, settings, it, group, total);
    if (!std::isfinite(r.loss))
      throw value_error("train: the loss is " + std::to_string(r.loss) + " at iteration " + std::to_string(r.iteration) +
                        " (learning rate " + std::to_string(r.lr) +
                        "); lower the learning rate or lengthen the warm-up, or check the data");
    r.grad_norm = optimizer.step(model.parameters(), model.gradients(), r.lr);
    const double step_s = detail::seconds_since(step_start);
    r.ms = 1e3 * step_s;
    r.tokens_per_s = step_s > 0 ? tokens / step_s : 0;
    summary.mean_ms += r.ms;  // a sum until the loop ends
    if (r.iteration % settings.eval_interval == 0 || r.iteration == settings.iterations) {
      r.evaluated = true;
      r.train_loss = summary.train_loss = evaluate(model, data, split::train, settings, group);
      r.val_loss = summary.val_loss = evaluate(model, data, split::validation, settings, group);
    }
    r.elapsed_s = detail::seconds_since(start_time);
    summary.iteration = r.iteration;
    bool stop_here = false;
    group.together([&] {
      if constexpr (std::is_same_v<decltype(observe(std::as_const(r))), training_action>) {
        stop_here = observe(std::as_const(r)) == training_action::stop;
      } else {
        observe(std::as_const(r));
      }
    });
    if (group.size() > 1) stop_here = any_of(group, stop_here);
    if (stop_here) {
      summary.stopped = r.iteration < stop;
      break;
    }
  }
  if (summary.iteration > start) summary.mean_ms /= double(summary.iteration - start);  // over the steps taken
  summary.seconds = detail::seconds_since(start_time);
  return summary;
}

template <class Model>
training_summary train(Model& model, const text_dataset& data, const trainer_settings& settings) {
  return train(model, data, settings, [](const training_record&) {});
}

}  // namespace wfc
