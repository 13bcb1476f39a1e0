#pragma once
// Checkpoints: a safetensors file with every parameter tensor under its layout name (the linear
// weights stored [in, out]), and metadata strings:
//   format       "wfc-checkpoint", format_version "1", wfc_version
//   model        JSON: kind ("gpt" | "wfc"), config, the compile-time policies by name (positions;
//                for WFC also past, future_mask), and for WFC the objective and solver damping
//   tokenizer    JSON: {"kind": "char", "vocabulary": [code points]}
//   training     JSON, when saved from a run: iteration, trainer settings, optimiser steps, the
//                model's draw counter; the AdamW moments are the tensors optimizer.exp_avg and
//                optimizer.exp_avg_sq (flat, in parameter-buffer order)
//   provenance   JSON, when the saver gives it: where the weights came from (the wfc program
//                records its version, command line, the data's path and fingerprint, wall time
//                and iterations); free-form to the library
// Training resumes exactly from these: batches, rates and corruption draws depend on the
// iteration and seeds alone. Loading checks everything first and throws io_error (or config_error
// for a model that does not match) saying what is wrong; nothing is half-loaded.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wfc/data/char_tokenizer.hpp"
#include "wfc/io/config_json.hpp"
#include "wfc/io/safetensors.hpp"
#include "wfc/version.hpp"

namespace wfc {

inline constexpr const char* checkpoint_format = "wfc-checkpoint";
inline constexpr const char* checkpoint_format_version = "1";
inline constexpr index_t max_rotary_window = index_t(1) << 16;  // a loaded rotary model's largest window

// The name a mask policy is saved under ("custom" for one the library does not ship).
template <class Mask>
std::string mask_name() {
  if constexpr (std::is_same_v<Mask, masks::bidirectional>) return "bidirectional";
  else if constexpr (std::is_same_v<Mask, masks::causal>) return "causal";
  else if constexpr (std::is_same_v<Mask, masks::window<1>>) return "window1";
  else if constexpr (std::is_same_v<Mask, masks::window<2>>) return "window2";
  else if constexpr (std::is_same_v<Mask, masks::window<4>>) return "window4";
  else return "custom";
}

// What identifies a model's architecture in a checkpoint: kind, configuration and policies.
template <class T, class B, class P>
nlohmann::json describe_model(const gpt<T, B, P>& m) {
  return {{"kind", "gpt"}, {"config", to_json(m.config())}, {"positions", P::rotary ? "rotary" : "learned"}};
}
template <class T, class B, class Past, class Mask, class P, class S>
nlohmann::json describe_model(const wfc_model<T, B, Past, Mask, P, S>& m) {
  return {{"kind", "wfc"},
          {"config", to_json(m.config())},
          {"positions", P::rotary ? "rotary" : "learned"},
          {"past", Past::cached ? "pinned" : "drifting"},
          {"future_mask", mask_name<Mask>()},
          {"objective", to_json(m.objective())},
          {"damping", m.solver().damping}};
}

namespace detail {
template <class M, class = void>
struct has_draws : std::false_type {};
template <class M>
struct has_draws<M, std::void_t<decltype(std::declval<M&>().set_draws(std::declval<M&>().draws()))>> : std::true_type {};

inline nlohmann::json parse_metadata_json(const safetensors::archive& a, const std::string& key) {
  try {
    const std::string& text = a.metadata(key);
    return safetensors::parse_json(text.begin(), text.end(), a.source() + ": the metadata \"" + key + "\"");
  } catch (const nlohmann::json::exception& e) {
    throw io_error(a.source() + ": the metadata \"" + key + "\" is not valid JSON (" + e.what() + ")");
  }
}
}  // namespace detail

// A loaded and checked checkpoint: its model description, tokenizer and (when saved from a run)
// training state, and the tensors. Build a model from model_json(), then restore() into it.
class checkpoint {
 public:
  static checkpoint load(const std::string& path) { return checkpoint(safetensors::archive::load(path)); }
  // The metadata and tensor shapes alone, without reading the weights (restore() refuses).
  static checkpoint load_header(const std::string& path) { return checkpoint(safetensors::archive::load_header(path)); }
  static checkpoint parse(std::string bytes, const std::string& source) {
    return checkpoint(safetensors::archive::parse(std::move(bytes), source));
  }

  const std::string& source() const { return archive_.source(); }
  const safetensors::archive& tensors() const { return archive_; }
  const std::string& kind() const { return kind_; }
  const nlohmann::json& model_json() const { return model_; }
  const std::string& wfc_version() const { return archive_.metadata("wfc_version"); }
  const char_tokenizer& tokenizer() const { return *tokenizer_; }

  // The policies and settings a model was saved with (strictly read; see config_json.hpp).
  std::string policy(const char* name) const {
    std::string value;
    json_fields(model_, source() + ": model").read(name, value);
    return value;
  }
  gpt_config gpt() const {
    const gpt_config c = checked(gpt_config_from_json(model_field("gpt", "config"), source() + ": model.config"));
    check_sizes(c.vocab, c.width, c.layers, "block", c.block);
    return c;
  }
  wfc_config wfc() const {
    const wfc_config c = checked(wfc_config_from_json(model_field("wfc", "config"), source() + ": model.config"));
    check_sizes(c.vocab, c.width, c.layers, "window", c.window);
    return c;
  }
  wfc_objective objective() const {
    return checked(wfc_objective_from_json(model_field("wfc", "objective"), source() + ": model.objective"));
  }
  double damping() const {
    double d = 1;
    json_fields(require_kind("wfc"), source() + ": model").read("damping", d);
    return d;
  }

  bool has_training() const { return training_.has_value(); }
  // The provenance the saver recorded (null when none).
  nlohmann::json provenance() const {
    return archive_.has_metadata("provenance") ? detail::parse_metadata_json(archive_, "provenance") : nlohmann::json();
  }
  std::int64_t iteration() const { return training_field<std::int64_t>("iteration"); }
  trainer_settings settings() const {
    return checked(trainer_settings_from_json(json_fields(training_json(), source() + ": training").at("settings"),
                                              source() + ": training.settings"));
  }

  // Copies the parameters into `model`, after checking that its architecture is the saved one,
  // that every tensor it needs is there with its shape and dtype, and that every value is finite.
  template <class Model>
  void restore(Model& model) const {
    check_architecture(describe_model(model));
    using T = typename Model::value_type;
    const auto& layout = model.layout();
    std::vector<T> flat(std::size_t(layout.size()));
    for (const auto& spec : layout.specs()) {
      const auto& entry = archive_.find(spec.name);
      if (!entry) throw io_error(source() + ": the tensor '" + spec.name + "' is missing");
      check_dtype<T>(*entry);
      std::vector<std::int64_t> shape(spec.extents.begin(), spec.extents.end());
      if (entry->shape != shape)
        throw io_error(source() + ": tensor '" + spec.name + "' has shape " + nlohmann::json(entry->shape).dump() + " but the model needs " +
                       nlohmann::json(shape).dump());
      const std::vector<T> values = finite_values<T>(spec.name);
      std::copy(values.begin(), values.end(), flat.begin() + spec.offset);
    }
    for (const auto& entry : archive_.tensors()) {
      bool known = entry.name == "optimizer.exp_avg" || entry.name == "optimizer.exp_avg_sq";
      for (const auto& spec : layout.specs()) known = known || spec.name == entry.name;
      if (!known) throw io_error(source() + ": tensor '" + entry.name + "' belongs to no parameter of this model");
    }
    backend_memory<typename Model::backend_type>::from_host(model.parameters().data(), flat.data(), layout.size());
  }

  // Restores a run: the parameters (as restore()), the optimiser's moments and step count, and
  // the model's draw counter. Returns the iteration to continue from.
  template <class Model, class Optimizer>
  std::int64_t restore_training(Model& model, Optimizer& optimizer) const {
    using T = typename Model::value_type;
    if (!has_training())
      throw io_error(source() + ": it holds no training state (saved without an optimiser); start a new run from it instead of resuming");
    const std::int64_t it = iteration(), steps = training_field<std::int64_t>("optimizer_steps");
    if (it < 0 || steps < 0) throw io_error(source() + ": negative training.iteration or training.optimizer_steps");
    restore(model);
    const auto n = std::uint64_t(model.layout().size());
    for (const char* name : {"optimizer.exp_avg", "optimizer.exp_avg_sq"}) {
      const auto& e = archive_.at(name);
      if (e.shape != std::vector<std::int64_t>{std::int64_t(n)})
        throw io_error(source() + ": tensor '" + name + "' has shape " + nlohmann::json(e.shape).dump() + " but the model has " +
                       std::to_string(n) + " parameters");
    }
    optimizer.restore(finite_values<T>("optimizer.exp_avg"), finite_values<T>("optimizer.exp_avg_sq"), steps);
    if constexpr (detail::has_draws<Model>::value) model.set_draws(training_field<std::uint64_t>("draws"));
    return it;
  }

 private:
  explicit checkpoint(safetensors::archive a) : archive_(std::move(a)) {
    const std::string format = archive_.has_metadata("format") ? archive_.metadata("format") : "";
    if (format != checkpoint_format)
      throw io_error(source() + ": not a wfc checkpoint (its metadata has no \"format\": \"" + std::string(checkpoint_format) +
                     "\"; a plain safetensors file lacks the model's configuration)");
    const std::string& version = archive_.metadata("format_version");
    if (version != checkpoint_format_version)
      throw io_error(source() + ": checkpoint format version " + version + "; this wfc (" + version_string + ") reads version " +
                     checkpoint_format_version);
    (void)wfc_version();
    model_ = detail::parse_metadata_json(archive_, "model");
    json_fields(model_, source() + ": model").read("kind", kind_);
    if (kind_ != "gpt" && kind_ != "wfc")
      throw io_error(source() + ": unknown model kind '" + kind_ + "' (this wfc knows gpt and wfc)");
    const nlohmann::json tok = detail::parse_metadata_json(archive_, "tokenizer");
    const json_fields t(tok, source() + ": tokenizer");
    t.only({"kind", "vocabulary"});
    std::string tok_kind;
    t.read("kind", tok_kind);
    if (tok_kind != "char") throw io_error(source() + ": unknown tokenizer kind '" + tok_kind + "' (this wfc knows char)");
    std::vector<char32_t> vocabulary;
    const auto& list = t.at("vocabulary");
    if (!list.is_array()) throw io_error(source() + ": tokenizer.vocabulary must be an array of code points");
    for (const auto& c : list) {
      if (!c.is_number_unsigned() || c.get<std::uint64_t>() > 0x10FFFF || (c.get<std::uint64_t>() >= 0xD800 && c.get<std::uint64_t>() <= 0xDFFF))
        throw io_error(source() + ": tokenizer.vocabulary holds " + c.dump() + ", not a Unicode code point");
      vocabulary.push_back(char32_t(c.get<std::uint64_t>()));
    }
    try {
      tokenizer_.emplace(std::move(vocabulary));
    } catch (const error& e) {
      throw io_error(source() + ": tokenizer: " + e.what());
    }
    const json_fields config(json_fields(model_, source() + ": model").at("config"), source() + ": model.config");
    index_t vocab = 0;
    config.read("vocab", vocab);
    if (vocab != tokenizer_->vocab_size())
      throw io_error(source() + ": the model's vocabulary has " + std::to_string(vocab) + " tokens but the tokenizer " +
                     std::to_string(tokenizer_->vocab_size()));
    if (archive_.has_metadata("training")) training_ = detail::parse_metadata_json(archive_, "training");
  }

  // A saved configuration that cannot work is the file's fault: say which file.
  template <class Config>
  Config checked(Config c) const {
    try {
      c.validate();
    } catch (const error& e) {
      throw io_error(source() + ": " + e.what());
    }
    return c;
  }

  const nlohmann::json& require_kind(const char* kind) const {
    if (kind_ != kind) throw config_error(source() + " holds a " + kind_ + " model, not a " + kind + " model");
    return model_;
  }

  // The configuration must agree with the tensors the file holds before a model of it is built, so
  // a corrupt configuration cannot ask for gigabytes: the embedding is [vocab, width], blocks
  // h.0 … h.(layers − 1) exist and no more, learned positions are [positions, width]; rotary
  // positions have no table, so their window is capped.
  void check_sizes(index_t vocab, index_t width, index_t layers, const char* window_name, index_t window) const {
    const auto shape_of = [&](const std::string& name) {
      const auto* e = archive_.find(name);
      return e ? nlohmann::json(e->shape).dump() : std::string("missing");
    };
    const auto expect = [&](const std::string& name, std::vector<std::int64_t> shape) {
      const auto* e = archive_.find(name);
      if (!e || e->shape != shape)
        throw io_error(source() + ": model.config asks for tensor '" + name + "' of shape " + nlohmann::json(shape).dump() +
                       " but the file's is " + shape_of(name));
    };
    expect("wte.weight", {vocab, width});
    if (!archive_.find("h." + std::to_string(layers - 1) + ".ln_1.weight") || archive_.find("h." + std::to_string(layers) + ".ln_1.weight"))
      throw io_error(source() + ": model.config.layers is " + std::to_string(layers) + " but the file's blocks h.N say otherwise");
    if (policy("positions") == "learned") {
      expect("wpe.weight", {window, width});
    } else if (window > max_rotary_window) {
      throw io_error(source() + ": model.config." + window_name + " is " + std::to_string(window) + "; wfc loads rotary windows of at most " +
                     std::to_string(max_rotary_window) + " positions");
    }
  }

  // A field of a model of this kind; io_error (not nlohmann's out_of_range) when it is missing.
  const nlohmann::json& model_field(const char* kind, const char* key) const {
    return json_fields(require_kind(kind), source() + ": model").at(key);
  }

  const nlohmann::json& training_json() const {
    if (!training_) throw io_error(source() + ": it holds no training state");
    return *training_;
  }
  template <class V>
  V training_field(const char* name) const {
    V v{};
    json_fields(training_json(), source() + ": training").read(name, v);
    return v;
  }

  // The saved architecture must be the model's: kind first, then each field, named.
  void check_architecture(const nlohmann::json& mine) const {
    const std::string want = mine["kind"];
    if (kind_ != want) throw config_error(source() + " holds a " + kind_ + " model; it cannot be loaded into a " + want + " model");
    for (const auto& [key, value] : mine.items()) {
      if (key == "objective" || key == "damping") continue;  // training settings, not the architecture
      if (!model_.contains(key)) throw io_error(source() + ": model." + key + " is missing");
      if (value.is_object()) {
        for (const auto& [field, v] : value.items())
          if (!model_[key].contains(field) || model_[key][field] != v)
            throw config_error(source() + ": model." + key + "." + field + " is " +
                               (model_[key].contains(field) ? model_[key][field].dump() : std::string("missing")) +
                               " in the checkpoint but " + v.dump() + " in the model it is loaded into");
      } else if (model_[key] != value) {
        throw config_error(source() + ": model." + key + " is " + model_[key].dump() + " in the checkpoint but " + value.dump() +
                           " in the model it is loaded into");
      }
    }
  }

  template <class T>
  void check_dtype(const safetensors::tensor_entry& e) const {
    if (e.type != safetensors::dtype_of<T>())
      throw io_error(source() + ": tensor '" + e.name + "' holds " + safetensors::name_of(e.type) + " but the model computes in " +
                     safetensors::name_of(safetensors::dtype_of<T>()) + " (load it into a model of that type)");
  }

  template <class T>
  std::vector<T> finite_values(const std::string& name) const {
    check_dtype<T>(archive_.at(name));
    std::vector<T> v = archive_.values<T>(name);
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        throw io_error(source() + ": tensor '" + name + "' holds " + std::to_string(v[i]) + " at element " + std::to_string(i) +
                       "; the weights are corrupt (a diverged run?)");
    return v;
  }

  safetensors::archive archive_;
  nlohmann::json model_;
  std::string kind_;
  std::optional<char_tokenizer> tokenizer_;
  std::optional<nlohmann::json> training_;
};

namespace detail {
template <class Model>
safetensors::builder checkpoint_builder(Model& model, const char_tokenizer& tokenizer) {
  using T = typename Model::value_type;
  using B = typename Model::backend_type;
  if (tokenizer.vocab_size() != model.config().vocab)
    throw config_error("save_checkpoint: the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " tokens but the model's vocabulary " +
                       std::to_string(model.config().vocab));
  safetensors::builder b;
  b.set_metadata("format", checkpoint_format);
  b.set_metadata("format_version", checkpoint_format_version);
  b.set_metadata("wfc_version", version_string);
  b.set_metadata("model", describe_model(model).dump());
  std::vector<std::uint32_t> points(tokenizer.vocabulary().begin(), tokenizer.vocabulary().end());
  b.set_metadata("tokenizer", nlohmann::json{{"kind", "char"}, {"vocabulary", points}}.dump());
  const std::vector<T> flat = to_host<B>(as_const(model.parameters()));
  for (const auto& spec : model.layout().specs()) {
    for (index_t i = 0; i < spec.size; ++i)
      if (!std::isfinite(flat[std::size_t(spec.offset + i)]))
        throw value_error("save_checkpoint: parameter '" + spec.name + "' holds " + std::to_string(flat[std::size_t(spec.offset + i)]) +
                          " at element " + std::to_string(i) + "; refusing to overwrite a checkpoint with corrupt weights");
    b.add(spec.name, std::vector<std::int64_t>(spec.extents.begin(), spec.extents.end()), flat.data() + spec.offset);
  }
  return b;
}
}  // namespace detail

// Saves the model's parameters, architecture and tokenizer (atomically: a reader sees the old
// file or the new one).
template <class Model>
void save_checkpoint(const std::string& path, Model& model, const char_tokenizer& tokenizer) {
  detail::checkpoint_builder(model, tokenizer).save(path);
}

// Saves a run after `iteration` steps: the above plus the optimiser state, the settings and the
// model's draw counter, everything resume needs, and `provenance` when it is not null.
template <class Model, class Optimizer>
void save_checkpoint(const std::string& path, Model& model, const char_tokenizer& tokenizer, const Optimizer& optimizer,
                     std::int64_t iteration, const trainer_settings& settings, const nlohmann::json& provenance = nullptr) {
  safetensors::builder b = detail::checkpoint_builder(model, tokenizer);
  if (!provenance.is_null()) b.set_metadata("provenance", provenance.dump());
  nlohmann::json training = {{"iteration", iteration}, {"settings", to_json(settings)}, {"optimizer_steps", optimizer.steps()}};
  if constexpr (detail::has_draws<Model>::value) training["draws"] = model.draws();
  b.set_metadata("training", training.dump());
  using B = typename Model::backend_type;
  const auto n = std::int64_t(model.layout().size());
  b.add("optimizer.exp_avg", {n}, to_host<B>(optimizer.first_moment()).data());
  b.add("optimizer.exp_avg_sq", {n}, to_host<B>(optimizer.second_moment()).data());
  b.save(path);
}

}  // namespace wfc
