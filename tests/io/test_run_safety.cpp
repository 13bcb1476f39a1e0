// What keeps a long run's work: a stop signal that ends training after a whole step (a second one
// at once), a failed write (a full disk) that leaves the previous checkpoint whole, paths checked
// before the first step, one writer per run, the text's fingerprint, and a checkpoint's header read without its weights.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/checkpoint_fixtures.hpp"
#include "support/testing.hpp"
#include "wfc/data/fingerprint.hpp"
#include "wfc/io/checkpoint.hpp"
#include "wfc/io/file_checks.hpp"
#include "wfc/io/run_lock.hpp"
#include "wfc/train/stop_signals.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

const char_tokenizer& tokenizer() { return small_tokenizer(); }

text_dataset training_data() { return text_dataset(tokenizer().encode(training_text())); }

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

struct sigaction current_action(int sig) {
  struct sigaction now {};
  ::sigaction(sig, nullptr, &now);
  return now;
}

}  // namespace

TEST_CASE("a stop signal ends training after the step it arrived in; the handlers are restored after", "[train][signals]") {
  for (const int sig : {SIGTERM, SIGINT, SIGUSR1}) {
    INFO(stop_on_signals::name(sig));
    const auto before = current_action(sig).sa_handler;
    gpt<float, reference> m(small_gpt());
    m.initialise(1);
    const text_dataset data = training_data();
    training_summary s;
    std::vector<std::int64_t> seen;
    {
      const stop_on_signals signals;
      REQUIRE_FALSE(signals.requested());
      s = train(m, data, short_run(), [&](const training_record& r) {
        seen.push_back(r.iteration);
        if (r.iteration == 3) ::raise(sig);  // as if it came during step 3
        return signals.requested() ? training_action::stop : training_action::go_on;
      });
      REQUIRE(signals.signal() == sig);
      require_throws_containing<config_error>([] { stop_on_signals second; }, "another one is installed already");
    }
    CHECK(s.stopped);
    CHECK(s.iteration == 3);
    CHECK(seen == std::vector<std::int64_t>{1, 2, 3});
    CHECK(current_action(sig).sa_handler == before);
  }
}

TEST_CASE("an observer that never stops runs to the end; one that stops at the last step did not stop early", "[train][signals]") {
  gpt<float, reference> m(small_gpt());
  m.initialise(1);
  const text_dataset data = training_data();
  const training_summary all = train(m, data, short_run(), [](const training_record&) { return training_action::go_on; });
  CHECK_FALSE(all.stopped);
  CHECK(all.iteration == 8);
  const training_summary last = train(m, data, short_run(), [](const training_record& r) {
    return r.iteration == 8 ? training_action::stop : training_action::go_on;
  });
  CHECK_FALSE(last.stopped);
  CHECK(last.iteration == 8);
}

TEST_CASE("a second stop signal ends the process at once with the signal's own action", "[train][signals]") {
  for (const int sig : {SIGTERM, SIGUSR1}) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      const stop_on_signals signals;
      ::raise(sig);
      if (!signals.requested()) ::_exit(3);  // the first only asks
      ::raise(sig);                          // the second must end the process here
      ::_exit(4);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
  }
}

TEST_CASE("a save that fails for want of room leaves the previous checkpoint whole and no temporary file", "[io][checkpoint]") {
  gpt<float, reference> first(small_gpt()), second(small_gpt());
  first.initialise(1);
  second.initialise(2);
  const std::string path = temp_path("full");
  save_checkpoint(path, first, tokenizer());
  const std::string before = read_bytes(path);

  // A file-size limit makes write() fail with EFBIG beyond it, as a full disk fails with ENOSPC.
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = rlim_t(before.size() / 2);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    save_checkpoint(path, second, tokenizer());
  } catch (const io_error& e) {
    message = e.what();
  }
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  ::signal(SIGXFSZ, old_handler);

  INFO("message: " << message);
  CHECK(message.find("cannot write") != std::string::npos);
  CHECK(message.find("'" + path + "'") != std::string::npos);   // names the checkpoint
  CHECK(message.find(std::strerror(EFBIG)) != std::string::npos);  // and the system's reason
  CHECK(read_bytes(path) == before);
  CHECK_FALSE(exists(path + ".tmp." + std::to_string(::getpid())));
  const checkpoint c = checkpoint::load(path);
  gpt<float, reference> loaded(c.gpt());
  c.restore(loaded);
  CHECK(to_host<reference>(as_const(loaded.parameters())) == to_host<reference>(as_const(first.parameters())));
  std::remove(path.c_str());
}

TEST_CASE("check_writable refuses a missing folder and a folder, says why, and leaves nothing behind", "[io]") {
  require_throws_containing<io_error>([] { check_writable("/no/such/folder/m.safetensors", "--out"); },
                                      "--out '/no/such/folder/m.safetensors': cannot create a file in '/no/such/folder': " +
                                          std::string(std::strerror(ENOENT)) + " (create the folder first)");
  require_throws_containing<io_error>([] { check_writable(".", "--out"); }, "--out '.' is a folder: name a file in it");
  require_throws_containing<io_error>([] { check_writable("", "--metrics"); }, "--metrics is empty");
  const std::string path = temp_path("writable");
  check_writable(path, "--out");
  CHECK_FALSE(exists(path));
  CHECK_FALSE(exists(path + ".probe." + std::to_string(::getpid())));
  CHECK(kind_of_path(path) == path_kind::missing);
  CHECK(kind_of_path(".") == path_kind::directory);
  CHECK(free_bytes(path) > 0);
}

TEST_CASE("a run lock admits one holder at a time, names the holder's pid to a second, and is free again when released", "[io]") {
  const std::string path = temp_path("run.lock");
  {
    run_lock first(path, "the run 'm.safetensors'");
    // flock locks belong to an open file: a second open in this same process competes like another process
    require_throws_containing<io_error>([&] { run_lock second(path, "the run 'm.safetensors'"); },
                                        "the run 'm.safetensors' is in use by another run (pid " + std::to_string(::getpid()) +
                                            ", lock file '" + path + "')");
    run_lock moved(std::move(first));  // the lock goes with the object
    CHECK_THROWS_AS(run_lock(path, "the run"), io_error);
  }
  run_lock again(path, "the run");  // released by the destructor
  CHECK(again.path() == path);
  // a child process that dies holding the lock leaves it free: the system drops it at exit
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      run_lock held(path + ".child", "the run");
      ::_exit(0);
    } catch (...) {
      ::_exit(1);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  run_lock after_child(path + ".child", "the run");
  require_throws_containing<io_error>([] { run_lock(std::string("/no/such/folder/run.lock"), "--out"); },
                                      "cannot create the lock file '/no/such/folder/run.lock' for --out");
  std::remove(path.c_str());
  std::remove((path + ".child").c_str());
}

TEST_CASE("a text's fingerprint is FNV-1a 64 of its bytes, sampled beyond 64 MiB", "[data]") {
  // The FNV specification's own test vectors.
  CHECK(data_fingerprint::of("").hash == "cbf29ce484222325");
  CHECK(data_fingerprint::of("a").hash == "af63dc4c8601ec8c");
  CHECK(data_fingerprint::of("foobar").hash == "85944171f73967e8");
  const std::string text = "To be, or not to be, that is the question:\n";
  const data_fingerprint f = data_fingerprint::of(text);
  CHECK(f.size == text.size());
  CHECK(f.method == "fnv1a64");
  CHECK(f == data_fingerprint::of(std::string(text)));
  CHECK(f != data_fingerprint::of(std::string(text.rbegin(), text.rend())));  // the same characters, another text
  CHECK(data_fingerprint::from_json(f.to_json(), "test") == f);
  require_throws_containing<io_error>([] { data_fingerprint::from_json({{"size", 3}}, "x.safetensors"); },
                                      "x.safetensors: a data fingerprint needs size, method and hash");

  std::string large(std::size_t(data_fingerprint::whole_limit) + 1, 'a');
  const data_fingerprint l = data_fingerprint::of(large);
  CHECK(l.method == "fnv1a64-sampled");
  large[0] = 'b';  // inside the first sample
  CHECK(data_fingerprint::of(large) != l);
  large[0] = 'a';
  large.push_back('a');  // the size alone changes
  CHECK(data_fingerprint::of(large) != l);
}

TEST_CASE("a checkpoint's header reads without its weights, provenance included", "[io][checkpoint]") {
  gpt<float, reference> m(small_gpt());
  m.initialise(3);
  adamw_optimizer<float, reference> optimizer(m.layout(), adamw_settings{});
  const nlohmann::json provenance = {{"command", {"wfc", "train", "x.txt"}}, {"data", data_fingerprint::of("abc").to_json()}};
  const std::string path = temp_path("header");
  save_checkpoint(path, m, tokenizer(), optimizer, 5, short_run(), provenance);
  const checkpoint whole = checkpoint::load(path), header = checkpoint::load_header(path);
  CHECK(header.provenance() == provenance);
  CHECK(whole.provenance() == provenance);
  CHECK(header.iteration() == 5);
  CHECK(header.model_json() == whole.model_json());
  CHECK(header.tensors().tensors().size() == whole.tensors().tensors().size());
  gpt<float, reference> loaded(header.gpt());
  require_throws_containing<io_error>([&] { header.restore(loaded); }, "its header alone was read");

  // A file without provenance has none; a truncated header is refused as by a whole load.
  save_checkpoint(path, m, tokenizer());
  CHECK(checkpoint::load_header(path).provenance().is_null());
  const std::string bytes = read_bytes(path);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 40);
  require_throws_containing<io_error>([&] { checkpoint::load_header(path); }, "the file is truncated or not safetensors");
  std::remove(path.c_str());
}
