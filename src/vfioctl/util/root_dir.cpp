#include "vfioctl/util/root_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define VFIOCTL_HAVE_OPENAT2_H 1
#endif

namespace vfioctl {

namespace {

// Links followed in one resolution before ELOOP, as the kernel does.
constexpr int kMaxLinks = 40;

std::atomic<int> g_resolver{-1};

bool kernel_has_openat2() {
#if defined(SYS_openat2) && defined(VFIOCTL_HAVE_OPENAT2_H)
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  long fd = ::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return true;
  }
  return false;  // ENOSYS, or a seccomp filter that refuses it
#else
  return false;
#endif
}

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string relative(std::string_view path) {
  // Most paths are already in that form after their leading slash.
  std::string_view rest = path;
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (!rest.empty() && rest.back() != '/' && rest.find("//") == std::string_view::npos) return std::string(rest);
  std::string rel;
  for (const auto& c : components(path)) rel += (rel.empty() ? "" : "/") + c;
  return rel.empty() ? std::string(".") : rel;
}

#if defined(SYS_openat2) && defined(VFIOCTL_HAVE_OPENAT2_H)
int kernel_open(int root, std::string_view path, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = relative(path);
  // EAGAIN: a rename elsewhere raced with a ".." in the walk; try again.
  for (int attempt = 0; attempt < 16; ++attempt) {
    long fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN) return -1;
  }
  return -1;
}
#endif

std::optional<std::string> read_link_at(int dir, const std::string& name) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(dir, name.c_str(), buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

// The component walk: each directory is opened with O_NOFOLLOW from the one
// before it; a link's target is read and walked in its place, from the
// root when it is absolute; ".." never goes above the root.
int walk_open(int root, std::string_view path, int flags, mode_t mode) {
  std::vector<Fd> stack;  // directories below the root, outermost first
  auto top = [&]() { return stack.empty() ? root : stack.back().get(); };
  std::deque<std::string> todo;
  for (auto& c : components(path)) todo.push_back(std::move(c));
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    const bool last = todo.empty();
    if (last && (flags & O_NOFOLLOW) != 0) return ::openat(top(), c.c_str(), flags | O_CLOEXEC, mode);
    struct stat st {};
    if (::fstatat(top(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) {
        errno = ELOOP;
        return -1;
      }
      auto target = read_link_at(top(), c);
      if (!target || target->empty()) {
        errno = ENOENT;
        return -1;
      }
      if ((*target)[0] == '/') stack.clear();
      auto parts = components(*target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
      continue;
    }
    // O_NOFOLLOW: a link put here since the fstatat is refused, never followed.
    if (last) return ::openat(top(), c.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int fd = ::openat(top(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    stack.emplace_back(fd);
  }
  // The path named a directory ("/", or ending in "." or ".." or a link to one).
  return ::openat(top(), ".", flags | O_CLOEXEC, mode);
}

}  // namespace

Resolver resolver() {
  int r = g_resolver.load();
  if (r < 0) {
    const char* env = std::getenv("VFIOCTL_RESOLVE");
    bool walk = (env != nullptr && std::strcmp(env, "walk") == 0) || !kernel_has_openat2();
    r = static_cast<int>(walk ? Resolver::walk : Resolver::kernel);
    g_resolver.store(r);
  }
  return static_cast<Resolver>(r);
}

void set_resolver(Resolver r) {
  if (r == Resolver::kernel && !kernel_has_openat2()) r = Resolver::walk;
  g_resolver.store(static_cast<int>(r));
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (m_fd >= 0) ::close(m_fd);
}

RootDir::RootDir(std::string dir) : m_path(std::move(dir)) {
  while (m_path.size() > 1 && m_path.back() == '/') m_path.pop_back();
  m_live = m_path.empty() || m_path == "/";
  if (m_live) m_path = "/";
  m_fd = Fd(::open(m_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

int RootDir::open(std::string_view path, int flags, mode_t mode) const {
  if (m_live) return ::open(std::string(path).c_str(), flags | O_CLOEXEC, mode);
  if (!m_fd) {
    errno = ENOENT;
    return -1;
  }
#if defined(SYS_openat2) && defined(VFIOCTL_HAVE_OPENAT2_H)
  if (resolver() == Resolver::kernel) return kernel_open(m_fd.get(), path, flags, mode);
#endif
  return walk_open(m_fd.get(), path, flags, mode);
}

Fd RootDir::open_parent(std::string_view path, std::string& name) const {
  auto parts = components(path);
  if (parts.empty()) {
    name = ".";
    return Fd(open("/", O_RDONLY | O_DIRECTORY));
  }
  name = parts.back();
  if (name == "." || name == "..") {
    errno = EINVAL;
    return Fd();
  }
  std::string parent;
  for (size_t i = 0; i + 1 < parts.size(); ++i) parent += "/" + parts[i];
  if (parent.empty()) parent = "/";
  return Fd(open(parent, O_RDONLY | O_DIRECTORY));
}

std::optional<std::string> RootDir::resolve(std::string_view path) const {
  if (m_live) return std::string(path);
  // The longest prefix that exists is resolved by the kernel or the walk;
  // its real location comes back from /proc/self/fd. A last component that
  // is a link is read and resolved again (at most 40 times); components
  // that do not exist are kept as they are (they cannot be links).
  std::string rest;  // missing components, to append
  std::string want(path);
  int links = 0;
  for (;;) {
    std::string name;
    Fd dir = open_parent(want, name);
    if (!dir) {
      if (errno != ENOENT && errno != ENOTDIR) return std::nullopt;
      auto parts = components(want);
      if (parts.empty()) return std::nullopt;
      rest = "/" + parts.back() + rest;
      parts.pop_back();
      want.clear();
      for (const auto& p : parts) want += "/" + p;
      if (want.empty()) want = "/";
      continue;
    }
    struct stat st {};
    if (name != "." && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) return std::nullopt;
      auto target = read_link_at(dir.get(), name);
      if (!target) return std::nullopt;
      auto parent = dir_path(dir.get());
      if (!parent) return std::nullopt;
      want = (*target)[0] == '/' ? *target : *parent + "/" + *target;
      continue;
    }
    auto parent = dir_path(dir.get());
    if (!parent) return std::nullopt;
    std::string out = *parent;
    if (name != ".") out += (out == "/" ? "" : "/") + name;
    out += rest;
    // Normalise "." and ".." left in the missing part (they never leave the root).
    std::vector<std::string> norm;
    for (auto& c : components(out)) {
      if (c == ".") continue;
      if (c == "..") {
        if (!norm.empty()) norm.pop_back();
        continue;
      }
      norm.push_back(std::move(c));
    }
    std::string result;
    for (const auto& c : norm) result += "/" + c;
    return result.empty() ? std::string("/") : result;
  }
}

std::optional<std::string> RootDir::dir_path(int fd) const {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char buf[PATH_MAX];
  ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  std::string real(buf, static_cast<size_t>(n));
  if (!m_real) {
    n = ::readlink((std::string("/proc/self/fd/") + std::to_string(m_fd.get())).c_str(), buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    m_real = std::string(buf, static_cast<size_t>(n));
  }
  const std::string& top = *m_real;
  if (real == top) return std::string("/");
  if (top == "/") return real;
  if (real.size() > top.size() && real.compare(0, top.size(), top) == 0 && real[top.size()] == '/')
    return real.substr(top.size());
  return std::nullopt;  // outside the root: never (the resolution keeps inside), but never trusted either
}

std::string RootDir::real(std::string_view path) const {
  if (m_live) return std::string(path);
  std::string out = m_path == "/" ? "" : m_path;
  auto resolved = resolve(path);
  // Unresolvable (a link loop): a path that cannot exist, so any use fails.
  out += resolved ? *resolved : std::string("/.vfioctl-unresolvable");
  return out;
}

}  // namespace vfioctl
