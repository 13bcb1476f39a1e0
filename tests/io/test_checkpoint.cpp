// Checkpoints: bit-exact round trips on every backend, a resumed run that retraces the
// uninterrupted one, every kind of bad file refused with a message that says what is wrong, and a
// writer killed mid-save that leaves the previous checkpoint readable.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/checkpoint_fixtures.hpp"
#include "support/testing.hpp"
#include "wfc/io/checkpoint.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

#if defined(WFC_HAVE_CPU)
using host_backend = cpu;
#else
using host_backend = reference;
#endif

const char_tokenizer& tokenizer() { return small_tokenizer(); }

wfc_config small_wfc() {
  wfc_config c;
  c.vocab = tokenizer().vocab_size();
  c.width = 16, c.heads = 2, c.layers = 1, c.future = 4, c.window = 16;
  return c;
}

template <class T, class B>
std::vector<T> parameters_of(gpt<T, B>& m) {
  return to_host<B>(as_const(m.parameters()));
}

// The header of a safetensors file as JSON, and the file rebuilt from an edited header.
nlohmann::json header_of(const std::string& bytes) {
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return nlohmann::json::parse(bytes.substr(8, std::size_t(n)));
}
std::string with_header(const std::string& bytes, const nlohmann::json& header) {
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const std::string text = header.dump();
  std::string out(8, '\0');
  const std::uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  return out + text + bytes.substr(8 + std::size_t(n));
}
std::string with_metadata(const std::string& bytes, const std::string& key, const std::string& value) {
  nlohmann::json h = header_of(bytes);
  h["__metadata__"][key] = value;
  return with_header(bytes, h);
}

// A saved small GPT's bytes.
std::string good_gpt_bytes() {
  gpt<float, reference> m(small_gpt());
  m.initialise(5);
  const std::string path = temp_path("good");
  save_checkpoint(path, m, tokenizer());
  std::string bytes = read_bytes(path);
  std::remove(path.c_str());
  return bytes;
}

// Loading `bytes` into a float GPT of the small configuration must throw a wfc::error with `text`.
void require_refused(const std::string& bytes, const std::string& text) {
  require_throws_containing<error>(
      [&] {
        const checkpoint c = checkpoint::parse(bytes, "bad.safetensors");
        gpt<float, reference> m(c.gpt());  // as a program would: the model from the file, then its weights
        c.restore(m);
      },
      text);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a checkpoint round-trips a GPT's parameters bit for bit on every backend", "[io][checkpoint]", backend_configs) {
  using T = typename TestType::value_type;
  using B = typename TestType::backend;
  gpt<T, B> saved(small_gpt());
  saved.initialise(11);
  const std::string path = temp_path("roundtrip");
  save_checkpoint(path, saved, tokenizer());
  const checkpoint c = checkpoint::load(path);
  std::remove(path.c_str());
  REQUIRE(c.kind() == "gpt");
  REQUIRE(c.tokenizer().vocabulary() == tokenizer().vocabulary());
  REQUIRE_FALSE(c.has_training());
  gpt<T, B> loaded(c.gpt());
  c.restore(loaded);
  const auto a = parameters_of(saved), b = parameters_of(loaded);
  REQUIRE(a.size() == b.size());
  REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
  // The same logits, as a consequence.
  const std::vector<token_id> ids{1, 2, 3, 4, 5};
  const auto la = to_host<B>(saved.logits(ids, 1)), lb = to_host<B>(loaded.logits(ids, 1));
  REQUIRE(la == lb);
}

TEMPLATE_LIST_TEST_CASE("a checkpoint round-trips a WFC model (rotary, drifting) with its policies", "[io][checkpoint]", backend_configs) {
  using T = typename TestType::value_type;
  using B = typename TestType::backend;
  wfc_objective objective;
  objective.steps = 3, objective.reveal = 0.25, objective.seed = 9;
  using model_t = wfc_model<T, B, past::drifting, masks::bidirectional, rotary_positions>;
  model_t saved(small_wfc(), objective, solvers::fixed_steps{3, 0.5});
  saved.initialise(4);
  const std::string path = temp_path("roundtrip_wfc");
  save_checkpoint(path, saved, tokenizer());
  const checkpoint c = checkpoint::load(path);
  std::remove(path.c_str());
  REQUIRE(c.kind() == "wfc");
  REQUIRE(c.policy("past") == "drifting");
  REQUIRE(c.policy("positions") == "rotary");
  REQUIRE(c.policy("future_mask") == "bidirectional");
  REQUIRE(c.objective().reveal == 0.25);
  REQUIRE(c.objective().steps == 3);
  REQUIRE(c.damping() == 0.5);
  model_t loaded(c.wfc(), c.objective(), solvers::fixed_steps{c.objective().steps, c.damping()});
  c.restore(loaded);
  const auto a = to_host<B>(as_const(saved.parameters())), b = to_host<B>(as_const(loaded.parameters()));
  REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
  // A model with another policy is refused, naming the difference.
  wfc_model<T, B, past::pinned, masks::bidirectional, rotary_positions> pinned(c.wfc());
  require_throws_containing<config_error>([&] { c.restore(pinned); }, "model.past is \"drifting\" in the checkpoint but \"pinned\"");
}

namespace {
// Losses of every iteration of a run (and the evaluations), to compare a resumed run with one that
// was not interrupted.
struct loss_log {
  std::vector<double> losses, val;
  void operator()(const training_record& r) {
    losses.push_back(r.loss);
    if (r.evaluated) val.push_back(r.val_loss);
  }
};

template <class Model, class MakeModel>
void check_resume(MakeModel make) {
  using T = typename Model::value_type;
  using B = typename Model::backend_type;
  const text_dataset data(tokenizer().encode(training_text()));
  const trainer_settings settings = short_run();
  const std::string path = temp_path("resume");
  // The uninterrupted run saves a checkpoint after iteration 3 on its way.
  Model whole = make();
  whole.initialise(settings.seed);
  adamw_optimizer<T, B> optimizer(whole.layout(), settings.adamw);
  loss_log straight;
  train(whole, data, settings, optimizer, 0, [&](const training_record& r) {
    straight(r);
    if (r.iteration == 3) save_checkpoint(path, whole, tokenizer(), optimizer, r.iteration, settings);
  });
  // A fresh process would do this: the model from the file, its state restored, the rest trained.
  const checkpoint c = checkpoint::load(path);
  std::remove(path.c_str());
  REQUIRE(c.has_training());
  REQUIRE(c.iteration() == 3);
  const trainer_settings resumed_settings = c.settings();
  REQUIRE(to_json(resumed_settings) == to_json(settings));
  Model resumed = make();
  resumed.initialise(999);  // overwritten by the checkpoint
  adamw_optimizer<T, B> resumed_optimizer(resumed.layout(), resumed_settings.adamw);
  const std::int64_t start = c.restore_training(resumed, resumed_optimizer);
  REQUIRE(start == 3);
  REQUIRE(resumed_optimizer.steps() == 3);
  loss_log rest;
  train(resumed, data, resumed_settings, resumed_optimizer, start, rest);
  REQUIRE(rest.losses.size() == 5);
  for (std::size_t i = 0; i < rest.losses.size(); ++i) {
    INFO("iteration " << i + 4);
    REQUIRE(rest.losses[i] == straight.losses[i + 3]);  // bit for bit: the same batches, rates and moments
  }
  REQUIRE(rest.val == straight.val);  // evaluations at iterations 4 and 8, both after the resume point
  const auto a = to_host<B>(as_const(whole.parameters())), b = to_host<B>(as_const(resumed.parameters()));
  REQUIRE(a == b);
}
}  // namespace

TEST_CASE("a resumed GPT run retraces the uninterrupted run's loss curve exactly", "[io][checkpoint][train]") {
  check_resume<gpt<float, host_backend>>([] { return gpt<float, host_backend>(small_gpt()); });
}

TEST_CASE("a resumed WFC run retraces the uninterrupted one, corruption draws included", "[io][checkpoint][train]") {
  wfc_objective objective;
  objective.steps = 2, objective.reveal = 0.2, objective.partial = 0.3, objective.random_steps = true;
  using model_t = wfc_model<float, host_backend>;
  check_resume<model_t>([&] { return model_t(small_wfc(), objective, solvers::fixed_steps{2, 1.0}); });
}

TEST_CASE("checkpoint loading refuses every kind of bad file with a message that says what is wrong", "[io][checkpoint]") {
  const std::string good = good_gpt_bytes();
  {  // the good file loads
    const checkpoint c = checkpoint::parse(good, "good.safetensors");
    gpt<float, reference> m(c.gpt());
    REQUIRE_NOTHROW(c.restore(m));
  }

  SECTION("a missing file") {
    require_throws_containing<io_error>([] { checkpoint::load("no/such/file.safetensors"); }, "cannot open 'no/such/file.safetensors'");
  }
  SECTION("too short to hold the header length") { require_refused(good.substr(0, 5), "the file is 5 bytes long, too short"); }
  SECTION("a header length larger than the file") {
    std::string bad = good;
    const std::uint64_t n = 1u << 30;
    std::memcpy(bad.data(), &n, 8);
    require_refused(bad, "the header length says 1073741824 bytes but");
  }
  SECTION("truncated data") { require_refused(good.substr(0, good.size() - 100), "outside the"); }
  SECTION("truncated inside the header") { require_refused(good.substr(0, 100), "the file is truncated or not safetensors"); }
  SECTION("malformed header JSON") {
    std::string bad = good;
    bad[8] = '#';  // the header's opening brace
    require_refused(bad, "the header is not valid JSON");
  }
  SECTION("a header that is not an object") { require_refused(with_header(good, nlohmann::json::array()), "must be a JSON object"); }
  SECTION("offsets out of range") {
    nlohmann::json h = header_of(good);
    h["ln_f.weight"]["data_offsets"] = {0, 1u << 20};
    require_refused(with_header(good, h), "tensor 'ln_f.weight' has data_offsets [0, 1048576) outside the");
  }
  SECTION("overlapping tensors") {
    nlohmann::json h = header_of(good);
    const auto begin = h["wpe.weight"]["data_offsets"][0].get<std::uint64_t>();
    h["ln_f.weight"]["data_offsets"] = {begin, begin + 64};
    require_refused(with_header(good, h), "overlap");
  }
  SECTION("a hole in the data") {
    nlohmann::json h = header_of(good);
    h.erase("ln_f.weight");
    require_refused(with_header(good, h), "belong to no tensor");
  }
  SECTION("a shape that does not match its bytes") {
    nlohmann::json h = header_of(good);
    h["ln_f.weight"]["shape"] = {17};
    require_refused(with_header(good, h), "tensor 'ln_f.weight' has shape [17] of F32 (68 bytes) but data_offsets span 64 bytes");
  }
  SECTION("a shape that does not match the configuration") {
    nlohmann::json h = header_of(good);
    h["h.0.attn.c_proj.weight"]["shape"] = {8, 32};
    require_refused(with_header(good, h), "tensor 'h.0.attn.c_proj.weight' has shape [8,32] but the model needs [16,16]");
  }
  SECTION("a dtype that does not match the model") {
    gpt<double, reference> m(small_gpt());
    const checkpoint c = checkpoint::parse(good, "bad.safetensors");
    require_throws_containing<io_error>([&] { c.restore(m); }, "holds F32 but the model computes in F64");
  }
  SECTION("an unknown dtype") {
    nlohmann::json h = header_of(good);
    h["ln_f.weight"]["dtype"] = "BF16";
    require_refused(with_header(good, h), "tensor 'ln_f.weight' has dtype \"BF16\"; wfc reads");
  }
  SECTION("NaN and Inf weights") {
    const nlohmann::json h = header_of(good);
    std::uint64_t n = 0;
    std::memcpy(&n, good.data(), 8);
    for (float bad_value : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      std::string bad = good;
      const auto at = 8 + n + h["h.1.mlp.c_fc.weight"]["data_offsets"][0].get<std::uint64_t>() + 4 * 7;
      std::memcpy(bad.data() + at, &bad_value, 4);
      require_refused(bad, "tensor 'h.1.mlp.c_fc.weight' holds " + std::string(std::isnan(bad_value) ? "nan" : "inf") + " at element 7");
    }
  }
  SECTION("an unknown model kind") {
    require_refused(with_metadata(good, "model", R"({"kind":"lstm","config":{"vocab":10}})"), "unknown model kind 'lstm'");
  }
  SECTION("a saved configuration that cannot work") {
    require_refused(with_metadata(good, "model", R"({"kind":"gpt","positions":"learned","config":{"vocab":10,"block":16,"width":16,"heads":3,"layers":2,"bias":false}})"),
                    "bad.safetensors: gpt_config: 3 heads do not divide the width 16");
  }
  SECTION("a configuration larger than the tensors the file holds (checked before any allocation)") {
    require_refused(with_metadata(good, "model", R"({"kind":"gpt","positions":"learned","config":{"vocab":10,"block":16,"width":1099511627776,"heads":1,"layers":2,"bias":false}})"),
                    "model.config asks for tensor 'wte.weight' of shape [10,1099511627776] but the file's is [10,16]");
    require_refused(with_metadata(good, "model", R"({"kind":"gpt","positions":"learned","config":{"vocab":10,"block":16,"width":16,"heads":2,"layers":3000000,"bias":false}})"),
                    "model.config.layers is 3000000 but the file's blocks h.N say otherwise");
    require_refused(with_metadata(good, "model", R"({"kind":"gpt","positions":"rotary","config":{"vocab":10,"block":10000000,"width":16,"heads":2,"layers":2,"bias":false}})"),
                    "model.config.block is 10000000; wfc loads rotary windows of at most 65536 positions");
  }
  SECTION("JSON nested beyond any real file's depth") {
    require_refused(with_metadata(good, "model", std::string(10000, '[') + std::string(10000, ']')),
                    "the metadata \"model\" nests deeper than 64 levels");
  }
  SECTION("a model of another configuration") {
    gpt_config wider = small_gpt();
    wider.width = 32;
    gpt<float, reference> m(wider);
    const checkpoint c = checkpoint::parse(good, "bad.safetensors");
    require_throws_containing<config_error>([&] { c.restore(m); }, "model.config.width is 16 in the checkpoint but 32");
  }
  SECTION("a GPT checkpoint loaded as a WFC model") {
    wfc_model<float, reference> m(small_wfc());
    const checkpoint c = checkpoint::parse(good, "bad.safetensors");
    require_throws_containing<config_error>([&] { c.restore(m); }, "holds a gpt model; it cannot be loaded into a wfc model");
    require_throws_containing<config_error>([&] { (void)c.wfc(); }, "holds a gpt model, not a wfc model");
  }
  SECTION("a missing tensor") {
    nlohmann::json h = header_of(good);
    h["ln_f.gain"] = h["ln_f.weight"];
    h.erase("ln_f.weight");
    require_refused(with_header(good, h), "the tensor 'ln_f.weight' is missing");
  }
  SECTION("a plain safetensors file without wfc metadata") {
    nlohmann::json h = header_of(good);
    h.erase("__metadata__");
    require_refused(with_header(good, h), "not a wfc checkpoint");
  }
  SECTION("corrupt metadata JSON and fields") {
    require_refused(with_metadata(good, "model", "{\"kind\": \"gpt\", "), "the metadata \"model\" is not valid JSON");
    require_refused(with_metadata(good, "model", R"({"kind":"gpt","positions":"learned","config":{"vocab":10,"block":"16"}})"),
                    "model.config.block must be an integer, not \"16\"");
    require_refused(with_metadata(good, "tokenizer", R"({"kind":"char","vocabulary":[98,97]})"), "must be sorted");
    require_refused(with_metadata(good, "tokenizer", R"({"kind":"char","vocabulary":[97,98]})"),
                    "the model's vocabulary has 10 tokens but the tokenizer 2");
    require_refused(with_metadata(good, "format_version", "7"), "checkpoint format version 7");
  }
  SECTION("resuming from a checkpoint without training state") {
    const checkpoint c = checkpoint::parse(good, "bad.safetensors");
    gpt<float, reference> m(small_gpt());
    adamw_optimizer<float, reference> opt(m.layout(), {});
    require_throws_containing<io_error>([&] { c.restore_training(m, opt); }, "holds no training state");
  }
}

TEST_CASE("save_checkpoint refuses NaN weights instead of overwriting a good checkpoint", "[io][checkpoint]") {
  gpt<float, reference> m(small_gpt());
  m.initialise(1);
  const std::string path = temp_path("nan");
  save_checkpoint(path, m, tokenizer());
  const std::string before = read_bytes(path);
  const std::vector<float> nan(1, std::numeric_limits<float>::quiet_NaN());
  backend_memory<reference>::from_host(m.parameters().data() + 3, nan.data(), 1);
  require_throws_containing<value_error>([&] { save_checkpoint(path, m, tokenizer()); }, "parameter 'wte.weight' holds nan at element 3");
  REQUIRE(read_bytes(path) == before);
  std::remove(path.c_str());
}

TEST_CASE("a writer killed while saving leaves the previous checkpoint readable", "[io][checkpoint]") {
  // A larger model makes each save take a while, so kills land mid-write.
  gpt_config big = small_gpt();
  big.width = 128, big.heads = 4, big.layers = 4;
  gpt<float, reference> first(big), second(big);
  first.initialise(1);
  second.initialise(2);
  const std::string path = temp_path("kill");
  save_checkpoint(path, first, tokenizer());
  int killed_mid_write = 0;
  int attempts = 0;
  for (; attempts < 40 && killed_mid_write < 3; ++attempts) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // saves the second model over and over until killed
      char go = 1;
      (void)::write(ready[1], &go, 1);
      for (;;) save_checkpoint(path, second, tokenizer());
    }
    char go = 0;
    REQUIRE(::read(ready[0], &go, 1) == 1);
    const std::string stray = path + ".tmp." + std::to_string(child);
    if (attempts % 2 == 0) {
      ::usleep(useconds_t(1000 + 1300 * (attempts % 11)));  // any instant: between saves, mid-write, at the rename
    } else {  // once a write is under way: a loaded machine may not run the child within a timed wait
      for (int wait = 0; wait < 4000 && ::access(stray.c_str(), F_OK) != 0; ++wait) ::usleep(500);
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    REQUIRE(WIFSIGNALED(status));
    // Whatever instant the kill hit, the file is one whole checkpoint: the first or the second.
    const checkpoint c = checkpoint::load(path);
    gpt<float, reference> loaded(c.gpt());
    c.restore(loaded);
    const auto got = parameters_of(loaded);
    REQUIRE((got == parameters_of(first) || got == parameters_of(second)));
    killed_mid_write += std::remove(stray.c_str()) == 0;  // its temporary file was left: the kill hit a write
  }
  std::remove(path.c_str());
  INFO("kills that interrupted a write: " << killed_mid_write << " of " << attempts);
  REQUIRE(killed_mid_write > 0);  // the case under test did happen
}
