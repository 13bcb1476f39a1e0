#pragma once
// Stopping a run cleanly on a signal: SIGTERM (what Slurm sends before preempting or timing out a
// job, and `docker stop`), SIGINT (Ctrl-C) and SIGUSR1 (Slurm's `--signal=USR1@60`) ask the run to
// stop; the training loop finishes its step, saves and returns. A second signal, while the first is
// being honoured, ends the process at once with the signal's default action.
//
// The handler only records the signal in a lock-free atomic: nothing unsafe runs inside it. One
// `stop_on_signals` may exist at a time; it restores the previous handlers when it goes.
#include <atomic>
#include <csignal>
#include <string>

#include <signal.h>

#include "wfc/core/error.hpp"

namespace wfc {

namespace detail {
inline std::atomic<int>& stop_signal_received() {
  static std::atomic<int> received{0};  // 0: none yet
  return received;
}
inline std::atomic<bool>& stop_signals_installed() {
  static std::atomic<bool> installed{false};
  return installed;
}

inline void on_stop_signal(int sig) {
  static_assert(std::atomic<int>::is_always_lock_free, "a signal handler may only touch lock-free atomics");
  int none = 0;
  if (stop_signal_received().compare_exchange_strong(none, sig)) return;
  // The second: the default action now (sigaction and raise are async-signal-safe).
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(sig, &fallback, nullptr);
  ::raise(sig);
}
}  // namespace detail

class stop_on_signals {
 public:
  static constexpr int signals[] = {SIGTERM, SIGINT, SIGUSR1};

  stop_on_signals() {
    if (detail::stop_signals_installed().exchange(true))
      throw config_error("stop_on_signals: another one is installed already; keep one for the whole run");
    detail::stop_signal_received().store(0);
    struct sigaction handler {};
    handler.sa_handler = detail::on_stop_signal;
    sigemptyset(&handler.sa_mask);
    handler.sa_flags = SA_RESTART;  // a read or write the signal interrupts goes on
    for (std::size_t i = 0; i < std::size(signals); ++i) ::sigaction(signals[i], &handler, &previous_[i]);
  }
  ~stop_on_signals() {
    for (std::size_t i = 0; i < std::size(signals); ++i) ::sigaction(signals[i], &previous_[i], nullptr);
    detail::stop_signals_installed().store(false);
  }
  stop_on_signals(const stop_on_signals&) = delete;
  stop_on_signals& operator=(const stop_on_signals&) = delete;

  bool requested() const { return detail::stop_signal_received().load() != 0; }
  int signal() const { return detail::stop_signal_received().load(); }  // 0 when none came

  // "SIGTERM", "SIGINT", "SIGUSR1" (or the number) for messages.
  static std::string name(int sig) {
    switch (sig) {
      case SIGTERM: return "SIGTERM";
      case SIGINT: return "SIGINT";
      case SIGUSR1: return "SIGUSR1";
      default: return "signal " + std::to_string(sig);
    }
  }

 private:
  struct sigaction previous_[std::size(signals)] {};
};

}  // namespace wfc
