#include "vfioctl/host/root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define VFIOCTL_HAVE_OPENAT2_H 1
#endif

#include <algorithm>
#include <cerrno>
#include <climits>

#include <fmt/format.h>

#include "vfioctl/util/error.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace fs = std::filesystem;

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string_view base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view dir_name(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Root::Root(fs::path dir) : m_dir(std::move(dir)), m_root(m_dir.string()) {
  m_prefix = m_dir.string();
  while (!m_prefix.empty() && m_prefix.back() == '/') m_prefix.pop_back();
  m_live = m_prefix.empty();
}

Root Root::open(const std::string& dir) {
  std::error_code ec;
  if (dir.empty()) throw input_error("--root: empty path; give a directory such as tests/hosts/NAME");
  if (!fs::is_directory(dir, ec)) {
    throw input_error(
        "--root " + dir +
        ": no such directory; give a host tree (a directory with sys/ and proc/) or an unpacked snapshot");
  }
  if (!fs::is_directory(fs::path(dir) / "sys", ec) && !fs::is_directory(fs::path(dir) / "proc", ec)) {
    throw input_error("--root " + dir +
                      ": not a host tree (it has neither sys/ nor proc/); unpack a snapshot with 'tar xzf' and give "
                      "the directory that holds sys/");
  }
  return Root(fs::absolute(dir, ec).lexically_normal());
}

std::string Root::real_path(std::string_view path) const {
  std::string out = m_prefix;
  if (path.empty() || path.front() != '/') out += '/';
  out += path;
  return out;
}

Root::DirCache::DirCache(DirCache&& o) noexcept : m_leaf(std::move(o.m_leaf)), m_parent(std::move(o.m_parent)) {
  o.m_leaf.fd = -1;
  o.m_parent.fd = -1;
}

Root::DirCache::~DirCache() {
  reset(m_leaf);
  reset(m_parent);
}

void Root::DirCache::reset(Slot& s) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.path.clear();
}

int Root::DirCache::open_leaf(std::string_view dir) {
  reset(m_leaf);
  std::string_view parent = dir_name(dir);
  std::string_view base = base_name(dir);
  if (parent.size() > 1 && (m_parent.fd < 0 || parent != m_parent.path)) {
    reset(m_parent);
    m_parent.fd = ::open(std::string(parent).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (m_parent.fd >= 0) m_parent.path.assign(parent);
  }
  if (m_parent.fd >= 0 && parent == m_parent.path) {
    m_leaf.fd = ::openat(m_parent.fd, std::string(base).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  } else {
    m_leaf.fd = ::open(std::string(dir).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (m_leaf.fd >= 0) m_leaf.path.assign(dir);
  return m_leaf.fd;
}

std::pair<int, std::string> Root::DirCache::at(const std::string& real) {
  size_t slash = real.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == real.size()) return {AT_FDCWD, real};
  std::string_view dir = std::string_view(real).substr(0, slash);
  if (m_leaf.fd >= 0 && dir == m_leaf.path) return {m_leaf.fd, real.substr(slash + 1)};
  if (m_parent.fd >= 0 && dir == m_parent.path) return {m_parent.fd, real.substr(slash + 1)};
  // Below the open directory: walk only the rest.
  if (m_leaf.fd >= 0 && real.size() > m_leaf.path.size() + 1 && real.compare(0, m_leaf.path.size(), m_leaf.path) == 0 &&
      real[m_leaf.path.size()] == '/') {
    return {m_leaf.fd, real.substr(m_leaf.path.size() + 1)};
  }
  int fd = open_leaf(dir);
  if (fd < 0) return {AT_FDCWD, real};
  return {fd, real.substr(slash + 1)};
}

int Root::DirCache::open_leaf_in(const RootDir& root, std::string_view dir, std::string_view link) {
  reset(m_leaf);
  std::string_view parent = dir_name(dir);
  std::string_view base = base_name(dir);
  int fd = -1;
  if (dir != "/" && base != "." && base != "..") {
    if (m_parent.fd < 0 || parent != m_parent.path) {
      reset(m_parent);
      m_parent.fd = root.open(parent, O_PATH | O_DIRECTORY);
      if (m_parent.fd < 0) return -1;  // no parent, no child
      m_parent.path.assign(parent);
    }
    // One step from the held parent; a link there is resolved from the root
    // (at once when the caller has just read it as one: a device's link).
    if (dir == link) {
      fd = root.open(dir, O_PATH | O_DIRECTORY);
    } else {
      fd = ::openat(m_parent.fd, std::string(base).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) fd = root.open(dir, O_PATH | O_DIRECTORY);
    }
  } else {
    fd = root.open(dir, O_PATH | O_DIRECTORY);
  }
  m_leaf.fd = fd;
  if (fd >= 0) m_leaf.path.assign(dir);
  return fd;
}

std::pair<int, std::string> Root::DirCache::at_in(const RootDir& root, std::string_view path, std::string_view link) {
  std::string_view dir = dir_name(path);
  std::string name(base_name(path));
  if (path.empty() || path == "/" || name == "." || name == "..") {
    // The directory itself: resolve it whole and hand out ".".
    int fd = open_leaf_in(root, path.empty() ? "/" : path, link);
    return {fd, "."};
  }
  if (m_leaf.fd >= 0 && dir == m_leaf.path) return {m_leaf.fd, name};
  if (m_parent.fd >= 0 && dir == m_parent.path) return {m_parent.fd, name};
  return {open_leaf_in(root, dir, link), name};
}

int Root::DirCache::below_parent(std::string_view path, std::string& rest) const {
  if (m_parent.fd < 0 || m_parent.path.empty()) return -1;
  size_t n = m_parent.path.size();
  if (m_parent.path == "/") n = 0;
  if (path.size() <= n + 1 || path.compare(0, n, m_parent.path, 0, n) != 0 || path[n] != '/') return -1;
  rest.assign(path.substr(n + 1));
  return m_parent.fd;
}

std::pair<int, std::string> Root::at(std::string_view path) const {
  if (m_live) return m_cache.at(real_path(path));
  return m_cache.at_in(m_root, path, m_link);
}

int Root::open_in(std::string_view path, int flags) const { return m_root.open(path, flags); }

int Root::open_at(int dfd, const std::string& name, std::string_view path, int flags) const {
  if (dfd == kNoDir) return -1;
  if (m_live) return ::openat(dfd, name.c_str(), flags | O_CLOEXEC);
  int fd = ::openat(dfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  // A link (ELOOP; ENOTDIR with O_DIRECTORY) resolves from the root.
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) return open_in(path, flags);
  return fd;
}

void Root::touch(std::string_view path, Touch kind) const {
  if (!m_recording) return;
  auto [it, inserted] = m_touched.emplace(std::string(path), kind);
  // A path read as a file or link says more than "exists"; keep the stronger.
  if (!inserted && it->second == Touch::exists) it->second = kind;
}

std::optional<std::string> Root::read(std::string_view path) const {
  touch(path, Touch::file);
  auto [dfd, name] = at(path);
  int fd = open_at(dfd, name, path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  // A sysfs attribute is produced whole by one read(); everything else
  // (procfs, files in a snapshot) is read to the end, up to the limit.
  bool single_shot = starts_with(path, "/sys/");
  size_t limit = single_shot ? limits::kSysfsFileBytes : limits::kHostFileBytes;
  // Host facts are regular files (procfs files are too). A device node, FIFO
  // or socket in a tree is not a fact and may never end (a link to
  // /dev/zero): it is not read. Under /sys, where a listing reads thousands
  // of attributes, the size limit alone stops such a file, without a stat
  // per read (O_NONBLOCK: a FIFO without a writer reads as empty).
  if (!single_shot) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      if (!S_ISDIR(st.st_mode)) refuse(path, "not a regular file (a device node, FIFO or socket): not read");
      return std::nullopt;
    }
  }
  std::string content;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > limit) {
      ::close(fd);
      refuse(path, single_shot
                       ? fmt::format("larger than {} KiB, more than a sysfs attribute holds: not read", limit >> 10)
                       : fmt::format("larger than {} MiB, more than any host fact: not read", limit >> 20));
      return std::nullopt;
    }
    if (n == 0 || (single_shot && static_cast<size_t>(n) < sizeof buf)) break;
  }
  ::close(fd);
  return content;
}

void Root::refuse(std::string_view path, const std::string& why) const {
  for (const auto& n : m_refused) {
    if (n.path == path) return;
  }
  m_refused.push_back(Note{std::string(path), why});
}

std::optional<std::string> Root::read_link(std::string_view path) const {
  touch(path, Touch::link);
  char buf[PATH_MAX];
  auto [dfd, name] = at(path);
  if (dfd == kNoDir) return std::nullopt;
  ssize_t n = ::readlinkat(dfd, name.c_str(), buf, sizeof buf);
  if (n < 0) return std::nullopt;
  if (!m_live) m_link.assign(path);
  return std::string(buf, static_cast<size_t>(n));
}

std::optional<std::string> Root::link_name(std::string_view path) const {
  auto target = read_link(path);
  if (!target) return std::nullopt;
  return std::string(base_name(*target));
}

// A directory below the one `dfd` holds, opened in one call when no link is
// on the way (a link, or no openat2 on this kernel: -1, and the caller walks
// as usual). On the live root links are followed as everywhere there.
int Root::open_below(int dfd, const std::string& rest, int flags) const {
  if (m_live) return ::openat(dfd, rest.c_str(), flags | O_CLOEXEC);
#if defined(SYS_openat2) && defined(VFIOCTL_HAVE_OPENAT2_H)
  if (resolver() != Resolver::kernel) return -1;
  struct open_how how {};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dfd, rest.c_str(), &how, sizeof how);
  return fd < 0 ? -1 : static_cast<int>(fd);
#else
  (void)dfd;
  (void)rest;
  (void)flags;
  return -1;
#endif
}

std::optional<std::vector<std::string>> Root::list(std::string_view path) const {
  touch(path, Touch::dir);
  // A directory further below the held parent (each IOMMU group's devices/
  // after the one before): one open, the cached directories left as they are.
  int fd = -1;
  std::string rest;
  std::string real = m_live ? real_path(path) : std::string();
  if (int pfd = m_cache.below_parent(m_live ? std::string_view(real) : path, rest);
      pfd >= 0 && rest.find('/') != std::string::npos)
    fd = open_below(pfd, rest, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    auto [dfd, name] = at(path);
    fd = open_at(dfd, name, path, O_RDONLY | O_DIRECTORY);
  }
  if (fd < 0) return std::nullopt;
  // getdents64 directly: opendir() would add an fstat and an fcntl per
  // directory, which a host with a thousand IOMMU groups notices.
  std::vector<std::string> names;
  alignas(dirent64) char buf[16384];
  while (true) {
    ssize_t n = ::getdents64(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const dirent64*>(buf + off);
      std::string_view entry = e->d_name;
      if (entry != "." && entry != "..") names.emplace_back(entry);
      off += e->d_reclen;
    }
  }
  ::close(fd);
  std::sort(names.begin(), names.end());
  return names;
}

bool Root::exists(std::string_view path) const {
  touch(path, Touch::exists);
  struct stat st {};
  auto [dfd, name] = at(path);
  if (dfd == kNoDir) return false;
  return ::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

namespace {

Root::FileInfo info_of(const struct stat& st) {
  Root::FileInfo info;
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  using Kind = Root::FileInfo::Kind;
  if (S_ISREG(st.st_mode)) {
    info.kind = Kind::regular;
    info.size = static_cast<unsigned long long>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    info.kind = Kind::block;
  } else if (S_ISDIR(st.st_mode)) {
    info.kind = Kind::directory;
  } else if (S_ISLNK(st.st_mode)) {
    info.kind = Kind::link;
  } else {
    info.kind = Kind::other;
  }
  return info;
}

}  // namespace

Root::FileInfo Root::stat(std::string_view path) const {
  touch(path, Touch::exists);
  struct stat st {};
  auto [dfd, name] = at(path);
  if (m_live) {
    if (::fstatat(dfd, name.c_str(), &st, 0) != 0) return {};
    return info_of(st);
  }
  if (dfd == kNoDir || ::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISLNK(st.st_mode)) {
    Fd fd(open_in(path, O_PATH));
    if (!fd || ::fstat(fd.get(), &st) != 0) return {};
  }
  return info_of(st);
}

Root::FileInfo Root::lstat(std::string_view path) const {
  touch(path, Touch::exists);
  struct stat st {};
  auto [dfd, name] = at(path);
  if (dfd == kNoDir || ::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  return info_of(st);
}

std::optional<std::string> Root::read_head(std::string_view path, size_t n) const {
  touch(path, Touch::file);
  auto [dfd, name] = at(path);
  int fd = open_at(dfd, name, path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  std::string content(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, content.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  content.resize(got);
  return content;
}

std::optional<std::string> Root::resolve(std::string_view path) const {
  // Walk component by component so that links resolve inside the root.
  std::vector<std::string> done;  // resolved components
  std::vector<std::string> todo;  // components still to walk, reversed
  auto push_todo = [&todo](std::string_view p) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      if (j > i) parts.emplace_back(p.substr(i, j - i));
      i = j + 1;
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  };
  push_todo(path);
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string current;
    for (const auto& c : done) current += "/" + c;
    current += "/" + part;
    struct stat st {};
    auto [dfd, name] = at(current);
    if (dfd == kNoDir || ::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
    if (!S_ISLNK(st.st_mode)) {
      done.push_back(std::move(part));
      continue;
    }
    if (++hops > 40) return std::nullopt;
    auto target = read_link(current);
    if (!target) return std::nullopt;
    if (!target->empty() && target->front() == '/') done.clear();
    push_todo(*target);
  }
  std::string out;
  for (const auto& c : done) out += "/" + c;
  return out.empty() ? std::string("/") : out;
}

}  // namespace vfioctl
