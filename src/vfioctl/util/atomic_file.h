// Writing host files so that a crash leaves either the old or the new
// content, never a mix: a temporary file in the same directory, fsync,
// rename over the target, fsync of the directory. Setup, undo and bind write
// through the FileSystem interface so tests can inject a failure at any write.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace vfioctl {

// Mode and owner a file gets; a rewrite keeps the old file's.
struct FileMode {
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Mode and owner of an existing file, or nullopt when it does not exist.
std::optional<FileMode> file_mode(const std::string& path);

// Mode and owner of a file this process creates: 0666 less the umask, the
// effective user and group (what open(2) would give it).
FileMode new_file_mode();

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Replaces (or creates) `path` with `content`, atomically; creates missing
  // parent directories (0755). Throws Error(refused) naming the path.
  virtual void write(const std::string& path, const std::string& content, const FileMode& mode) = 0;
  // Removes a file; nothing when it is already absent. Throws Error(refused).
  virtual void remove(const std::string& path) = 0;
  // Writes `value` to an existing kernel attribute file (sysfs) in one
  // write(2), without truncating or renaming. Throws Error(refused).
  virtual void write_attribute(const std::string& path, const std::string& value) = 0;
};

// The real file system.
FileSystem& real_fs();

// Reads a whole file; nullopt when it does not exist or cannot be read.
std::optional<std::string> read_file(const std::string& path);

}  // namespace vfioctl
