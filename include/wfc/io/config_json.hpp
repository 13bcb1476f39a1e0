#pragma once
// Configurations as JSON (checkpoint metadata, the command line's config files) and back. Reading
// is strict: a missing field, a field of the wrong type or an unknown field is an io_error that
// names it, so a hand-edited or corrupt file never turns into a silently different model.
#include <cstdint>
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "wfc/core/error.hpp"
#include "wfc/model/gpt.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/train/trainer.hpp"

namespace wfc {

// Reads the fields of one JSON object; `where` names it in messages ("model.config").
class json_fields {
 public:
  json_fields(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) throw io_error(where_ + " must be a JSON object, not " + std::string(object_.type_name()));
  }

  // Every field must be one of `known`.
  void only(std::initializer_list<const char*> known) const {
    for (const auto& [key, value] : object_.items()) {
      (void)value;
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      if (!ok) throw io_error(where_ + " has an unknown field \"" + key + "\"");
    }
  }

  const nlohmann::json& at(const char* key) const {
    if (!object_.contains(key)) throw io_error(where_ + " lacks the field \"" + key + "\"");
    return object_[key];
  }

  template <class V>
  void read(const char* key, V& out) const {
    const nlohmann::json& v = at(key);
    const std::string field = where_ + "." + key;
    if constexpr (std::is_same_v<V, bool>) {
      if (!v.is_boolean()) throw io_error(field + " must be true or false, not " + v.dump());
      out = v.get<bool>();
    } else if constexpr (std::is_integral_v<V>) {
      if (!v.is_number_integer()) throw io_error(field + " must be an integer, not " + v.dump());
      if (std::is_unsigned_v<V> && !v.is_number_unsigned()) throw io_error(field + " must be a non-negative integer, not " + v.dump());
      out = v.get<V>();
    } else if constexpr (std::is_floating_point_v<V>) {
      if (!v.is_number()) throw io_error(field + " must be a number, not " + v.dump());
      out = v.get<V>();
    } else {
      if (!v.is_string()) throw io_error(field + " must be a string, not " + v.dump());
      out = v.get<std::string>();
    }
  }

  template <class V>
  void read_if_present(const char* key, V& out) const {
    if (object_.contains(key)) read(key, out);
  }

 private:
  const nlohmann::json& object_;
  std::string where_;
};

inline nlohmann::json to_json(const gpt_config& c) {
  return {{"vocab", c.vocab}, {"block", c.block}, {"width", c.width}, {"heads", c.heads}, {"layers", c.layers}, {"bias", c.bias}};
}
inline gpt_config gpt_config_from_json(const nlohmann::json& j, const std::string& where) {
  const json_fields f(j, where);
  f.only({"vocab", "block", "width", "heads", "layers", "bias"});
  gpt_config c;
  f.read("vocab", c.vocab), f.read("block", c.block), f.read("width", c.width);
  f.read("heads", c.heads), f.read("layers", c.layers), f.read("bias", c.bias);
  return c;
}

inline nlohmann::json to_json(const wfc_config& c) {
  return {{"vocab", c.vocab}, {"width", c.width},   {"heads", c.heads}, {"layers", c.layers},
          {"future", c.future}, {"window", c.window}, {"bias", c.bias}};
}
inline wfc_config wfc_config_from_json(const nlohmann::json& j, const std::string& where) {
  const json_fields f(j, where);
  f.only({"vocab", "width", "heads", "layers", "future", "window", "bias"});
  wfc_config c;
  f.read("vocab", c.vocab), f.read("width", c.width), f.read("heads", c.heads), f.read("layers", c.layers);
  f.read("future", c.future), f.read("window", c.window), f.read("bias", c.bias);
  return c;
}

inline nlohmann::json to_json(const wfc_objective& o) {
  return {{"steps", o.steps},
          {"random_steps", o.random_steps},
          {"reveal", o.reveal},
          {"any_order", o.any_order},
          {"bound_weight", o.bound_weight},
          {"partial", o.partial},
          {"deep_supervision", o.deep_supervision},
          {"velocity_penalty", o.velocity_penalty},
          {"clean_loss", o.clean_loss},
          {"mean_steps", o.mean_steps},
          {"backprop_steps", o.backprop_steps},
          {"carry", o.carry},
          {"carry_slides", o.carry_slides},
          {"carry_beliefs", o.carry_beliefs},
          {"seed", o.seed}};
}
inline wfc_objective wfc_objective_from_json(const nlohmann::json& j, const std::string& where) {
  const json_fields f(j, where);
  f.only({"steps", "random_steps", "reveal", "any_order", "bound_weight", "partial", "deep_supervision", "velocity_penalty", "mean_steps", "backprop_steps", "carry",
          "carry_slides", "carry_beliefs", "clean_loss", "seed"});
  wfc_objective o;
  f.read("steps", o.steps), f.read("random_steps", o.random_steps), f.read("reveal", o.reveal), f.read("partial", o.partial);
  f.read("deep_supervision", o.deep_supervision), f.read("velocity_penalty", o.velocity_penalty), f.read("seed", o.seed);
  // Added with rolling training: checkpoints written before it lack them (and trained without them).
  f.read_if_present("mean_steps", o.mean_steps), f.read_if_present("backprop_steps", o.backprop_steps);
  f.read_if_present("carry", o.carry), f.read_if_present("carry_slides", o.carry_slides);
  f.read_if_present("carry_beliefs", o.carry_beliefs);
  // Added with any-order training.
  f.read_if_present("any_order", o.any_order), f.read_if_present("bound_weight", o.bound_weight);
  f.read_if_present("clean_loss", o.clean_loss);  // added with the clean stream's next-token loss
  return o;
}

inline nlohmann::json to_json(const trainer_settings& s) {
  return {{"iterations", s.iterations},
          {"batch", s.batch},
          {"block", s.block},
          {"accumulation", s.accumulation},
          {"lr", s.lr},
          {"min_lr", s.min_lr},
          {"warmup", s.warmup},
          {"beta1", s.adamw.beta1},
          {"beta2", s.adamw.beta2},
          {"eps", s.adamw.eps},
          {"weight_decay", s.adamw.weight_decay},
          {"clip", s.adamw.clip},
          {"eval_interval", s.eval_interval},
          {"eval_batches", s.eval_batches},
          {"seed", s.seed}};
}
inline trainer_settings trainer_settings_from_json(const nlohmann::json& j, const std::string& where) {
  const json_fields f(j, where);
  f.only({"iterations", "batch", "block", "accumulation", "lr", "min_lr", "warmup", "beta1", "beta2", "eps", "weight_decay", "clip",
          "eval_interval", "eval_batches", "seed"});
  trainer_settings s;
  f.read("iterations", s.iterations), f.read("batch", s.batch), f.read("block", s.block), f.read("accumulation", s.accumulation);
  f.read("lr", s.lr), f.read("min_lr", s.min_lr), f.read("warmup", s.warmup);
  f.read("beta1", s.adamw.beta1), f.read("beta2", s.adamw.beta2), f.read("eps", s.adamw.eps);
  f.read("weight_decay", s.adamw.weight_decay), f.read("clip", s.adamw.clip);
  f.read("eval_interval", s.eval_interval), f.read("eval_batches", s.eval_batches), f.read("seed", s.seed);
  return s;
}

}  // namespace wfc
