#pragma once
// One writer per run: a long run holds an exclusive lock on a small file beside its checkpoint
// for as long as it lives, so a second process started on the same run (a resume typed while the
// first still runs) is refused before any work, instead of the two overwriting each other's
// checkpoints. The lock is flock(2): the system drops it when the holder exits, however it exits,
// so a crash never leaves a stale lock. The file stays (removing it would race with a newcomer);
// it holds the holder's pid, for the message. POSIX only, so not in the wfc/wfc.hpp umbrella:
// a program that writes runs includes it.
#include <cerrno>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "wfc/io/atomic_file.hpp"

namespace wfc {

class run_lock {
 public:
  // Locks `path` (created if missing) or throws io_error naming `what` (the run's checkpoint, say)
  // and the pid that holds it.
  run_lock(const std::string& path, const std::string& what) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw io_error("cannot create the lock file '" + path + "' for " + what + ": " + detail::errno_text());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const bool held = errno == EWOULDBLOCK;
      const std::string reason = detail::errno_text();
      char pid[32] = {};
      const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
      ::close(fd_);
      if (!held) throw io_error("cannot lock '" + path + "' for " + what + ": " + reason);
      throw io_error(what + " is in use by another run (pid " + (n > 0 ? std::string(pid, std::size_t(n)) : std::string("unknown")) +
                     ", lock file '" + path + "'): wait for it to end, or stop it first (SIGTERM saves, then exits)");
    }
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != ssize_t(me.size())) {
      // The lock holds without the pid: only a refused newcomer's message would lack it.
    }
  }
  run_lock(const run_lock&) = delete;
  run_lock& operator=(const run_lock&) = delete;
  run_lock(run_lock&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  ~run_lock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the lock
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace wfc
