#pragma once
// Writing a file so that a reader sees the old contents or the new, never a mix: the bytes go to
// a temporary file in the same directory, are flushed to the disk, and the temporary is renamed
// over the target (rename is atomic within one file system). A process killed midway leaves the
// previous file as it was, plus at most a stray temporary.
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "wfc/core/error.hpp"

namespace wfc {

namespace detail {
inline std::string errno_text() { return std::strerror(errno); }

inline std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace detail

inline void write_file_atomically(const std::string& path, std::string_view bytes) {
  if (path.empty()) throw io_error("write_file_atomically: the path is empty");
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw io_error("cannot create '" + temporary + "' to write '" + path + "': " + detail::errno_text());
  auto fail = [&](const std::string& what) {
    const std::string reason = detail::errno_text();
    ::close(fd);
    ::unlink(temporary.c_str());
    throw io_error(what + " '" + temporary + "' (for '" + path + "'): " + reason);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0) fail("cannot flush");
  if (::close(fd) != 0) {
    const std::string reason = detail::errno_text();
    ::unlink(temporary.c_str());
    throw io_error("cannot close '" + temporary + "' (for '" + path + "'): " + reason);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = detail::errno_text();
    ::unlink(temporary.c_str());
    throw io_error("cannot rename '" + temporary + "' to '" + path + "': " + reason);
  }
  // The rename itself is durable once the directory is flushed; a failure here loses nothing.
  const int dir = ::open(detail::directory_of(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
}

}  // namespace wfc
