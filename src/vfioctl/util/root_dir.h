// RootDir: a directory that stands for "/", and the one way vfioctl opens a
// host path under it. A --root tree (a fixture, an unpacked snapshot someone
// sent) is untrusted input: every symbolic link in it, absolute or relative,
// and every "..", resolves as if the tree were the whole file system, so
// nothing outside it is read or written. The live root "/" opens paths
// exactly as the kernel resolves them for any program.
//
// Two resolvers do the same thing (docs/roots.md):
//   kernel  openat2(2) with RESOLVE_IN_ROOT (Linux 5.6), one system call;
//   walk    a component walk in user space (openat with O_NOFOLLOW, readlinkat),
//           for kernels without openat2; links are followed at most 40 times.
// The kernel resolver is used when the running kernel has openat2; the
// environment variable VFIOCTL_RESOLVE=walk forces the walk (the tests run
// the crafted roots through both).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

enum class Resolver { kernel, walk };

// The resolver in use (decided once per process: VFIOCTL_RESOLVE, then
// whether openat2 exists).
Resolver resolver();
// Overrides it (tests); affects every RootDir of the process.
void set_resolver(Resolver r);

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& o) noexcept : m_fd(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return m_fd; }
  int release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  explicit operator bool() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

class RootDir {
 public:
  // `dir` stands for "/"; "" and "/" are the live host.
  explicit RootDir(std::string dir);
  RootDir(RootDir&&) = default;
  RootDir& operator=(RootDir&&) = default;
  RootDir(const RootDir&) = delete;
  RootDir& operator=(const RootDir&) = delete;

  bool live() const { return m_live; }

  // open(2) of host path `path` ("/etc/default/grub") inside the root.
  // O_NOFOLLOW applies to the last component as usual; O_CREAT creates it
  // in the directory its parent resolves to. Returns an fd or -1 (errno).
  int open(std::string_view path, int flags, mode_t mode = 0) const;

  // Host path `path` with every link in it resolved inside the root, like
  // `realpath -m` run in a chroot: components that do not exist are kept as
  // they are. nullopt when links loop (more than 40). For the live root the
  // path as given.
  std::optional<std::string> resolve(std::string_view path) const;

  // The real path of host path `path` for programs and std::filesystem:
  // the root's directory joined with resolve(path), so it holds no link (at
  // the time of the call). A path that cannot resolve maps to a name that
  // does not exist under the root.
  std::string real(std::string_view path) const;

 private:
  // For resolve(): the directory holding the last component of `path`,
  // resolved inside the root (opened O_RDONLY | O_DIRECTORY), and that
  // component in `name`, not followed. The root itself gives the root's fd
  // and "." . Invalid Fd (errno) on failure.
  Fd open_parent(std::string_view path, std::string& name) const;

  // The host path of a directory fd under the root (from /proc/self/fd).
  std::optional<std::string> dir_path(int fd) const;

  std::string m_path;
  bool m_live = false;
  Fd m_fd;
  mutable std::optional<std::string> m_real;  // the root's own real path
};

}  // namespace vfioctl
