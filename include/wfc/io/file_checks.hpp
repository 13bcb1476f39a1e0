#pragma once
// Checks a long run makes before its first step, so that a path it cannot use costs a second, not
// the hours until its first save: can a file be written where `path` points, how much room is
// there, is something there already.
#include <cstdint>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "wfc/io/atomic_file.hpp"

namespace wfc {

enum class path_kind { missing, file, directory, other };

inline path_kind kind_of_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path_kind::missing;
  if (S_ISREG(st.st_mode)) return path_kind::file;
  if (S_ISDIR(st.st_mode)) return path_kind::directory;
  return path_kind::other;
}

// Throws io_error, naming `what` (e.g. "--out") and the system's reason, unless a file can be
// written at `path`: it is not a folder, and a temporary file can be created and removed beside it
// (as the atomic writer does, so a folder that is missing, read-only or full fails now).
inline void check_writable(const std::string& path, const std::string& what) {
  if (path.empty()) throw io_error(what + " is empty: name a file");
  if (kind_of_path(path) == path_kind::directory) throw io_error(what + " '" + path + "' is a folder: name a file in it");
  const std::string folder = detail::directory_of(path);
  const std::string probe = path + ".probe." + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const std::string reason = detail::errno_text();
    throw io_error(what + " '" + path + "': cannot create a file in '" + folder + "': " + reason +
                   (kind_of_path(folder) == path_kind::missing ? " (create the folder first)" : ""));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

// Bytes an unprivileged writer may still use on the file system that holds `path`'s folder; −1
// when the system cannot say.
inline std::int64_t free_bytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(detail::directory_of(path).c_str(), &fs) != 0) return -1;
  return std::int64_t(fs.f_bavail) * std::int64_t(fs.f_frsize);
}

}  // namespace wfc
