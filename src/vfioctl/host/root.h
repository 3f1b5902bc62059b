// Root: the only way vfioctl reads host files. Paths are host paths
// ("/sys/bus/pci/devices"); a Root resolves them under its directory, so a
// snapshot or a test fixture reads exactly like the live host ("/").
// Every path touched is recorded, so `snapshot` can copy exactly what was read.
// A root other than "/" is untrusted: every link and ".." in it resolves
// inside it (util/root_dir.h), so nothing outside it is ever read.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/host/notes.h"
#include "vfioctl/util/root_dir.h"

namespace vfioctl {

// What a reader did with a path; the snapshot recreates each kind.
enum class Touch { file, link, dir, exists };

// Whether a Root remembers the paths it touched (snapshot needs it; every
// other command saves the cost).
enum class Recording { off, on };

class Root {
 public:
  // `dir` is the directory that stands for "/". No checks: see open().
  explicit Root(std::filesystem::path dir);

  // Opens a root given on the command line: it must exist and look like a
  // host tree (have /sys or /proc). Throws Error (exit 2) naming it otherwise.
  static Root open(const std::string& dir);

  Root(const Root&) = delete;
  Root& operator=(const Root&) = delete;
  Root(Root&&) = default;
  ~Root() = default;

  // Whole content of a regular file, or nullopt when missing or unreadable.
  // A device node, FIFO or socket, or a file over limits::kHostFileBytes, is
  // not read: nullopt, and a note in refused().
  std::optional<std::string> read(std::string_view path) const;

  // Files read() would not read, with the reason: shown as notes beside what
  // the readers made of the host (read_host adds them to Host::notes).
  const Notes& refused() const { return m_refused; }

  // Target of a symbolic link as stored, or nullopt when not a link.
  std::optional<std::string> read_link(std::string_view path) const;

  // Last path component of a link's target ("../../drivers/nouveau" ->
  // "nouveau"), or nullopt when not a link.
  std::optional<std::string> link_name(std::string_view path) const;

  // Names in a directory, sorted; nullopt when it is not a readable directory.
  std::optional<std::vector<std::string>> list(std::string_view path) const;

  // Whether anything (file, directory, device node, link) exists at path.
  bool exists(std::string_view path) const;

  // What is at a path, links followed: its kind and, for a regular file, its
  // size in bytes. For files people name in a guest spec (images, ISOs).
  struct FileInfo {
    enum class Kind { missing, regular, block, directory, link, other } kind = Kind::missing;
    unsigned long long size = 0;
    unsigned mode = 0;  // permission bits (07777)
    unsigned uid = 0, gid = 0;
  };
  FileInfo stat(std::string_view path) const;
  // The same without following a last component that is a link (kind link).
  FileInfo lstat(std::string_view path) const;

  // The first `n` bytes of a file (fewer when it is shorter), or nullopt
  // when it cannot be read: image headers, without reading the image.
  std::optional<std::string> read_head(std::string_view path, size_t n) const;

  // Host path with every symbolic link resolved inside this root (absolute
  // links restart at the root, never at the real "/"); nullopt when a
  // component is missing or links loop.
  std::optional<std::string> resolve(std::string_view path) const;

  // The directory standing for "/", and whether it is the live host.
  const std::filesystem::path& dir() const { return m_dir; }
  bool is_live() const { return m_live; }
  // The same directory as a resolver: writers (setup, bind, the hook) map
  // host paths to real ones through it.
  const RootDir& root_dir() const { return m_root; }

  void set_recording(Recording r) { m_recording = r == Recording::on; }
  bool recording() const { return m_recording; }

  // Host path -> what was done with it since recording was switched on.
  const std::map<std::string, Touch>& touched() const { return m_touched; }

 private:
  std::string real_path(std::string_view path) const;
  void touch(std::string_view path, Touch kind) const;
  void refuse(std::string_view path, const std::string& why) const;

  // Readers ask for many names in one directory in a row (a device's
  // attributes), then move to a sibling directory (the next device). The
  // last directory and its parent stay open, so a name costs one lookup
  // instead of a walk of the whole path.
  class DirCache {
   public:
    DirCache() = default;
    DirCache(DirCache&& o) noexcept;
    DirCache& operator=(DirCache&&) = delete;
    DirCache(const DirCache&) = delete;
    ~DirCache();
    // Live root: (fd, relative name) for real path `real`; (AT_FDCWD, real)
    // when no directory on the way can be held open.
    std::pair<int, std::string> at(const std::string& real);
    // Any other root: (fd of the directory resolved inside `root`, last
    // component) for host path `path`; (kNoDir, name) when that directory
    // does not exist. The name is one component, never followed by the callers
    // unless it is not a link.
    // `link`: a host path just read as a link (Root::read_link), so a
    // directory by that name is resolved from the root without first trying
    // it as a plain directory.
    std::pair<int, std::string> at_in(const RootDir& root, std::string_view path, std::string_view link = {});
    // The held parent directory when `path` lies below it, and the rest of
    // the path from there; -1 otherwise.
    int below_parent(std::string_view path, std::string& rest) const;

   private:
    struct Slot {
      int fd = -1;
      std::string path;
    };
    static void reset(Slot& s);
    int open_leaf(std::string_view dir);
    int open_leaf_in(const RootDir& root, std::string_view dir, std::string_view link);
    Slot m_leaf, m_parent;
  };
  // No directory holds the path (not AT_FDCWD, which the live root hands out).
  static constexpr int kNoDir = -1;
  // (fd, name) to hand to an *at() call for host path `path`; kNoDir when
  // its directory does not exist.
  std::pair<int, std::string> at(std::string_view path) const;
  int open_below(int dfd, const std::string& rest, int flags) const;
  // A last component that is a link, opened inside the root.
  int open_in(std::string_view path, int flags) const;
  // openat(dfd, name) that follows a last link only inside the root.
  int open_at(int dfd, const std::string& name, std::string_view path, int flags) const;

  std::filesystem::path m_dir;
  RootDir m_root;
  std::string m_prefix;  // m_dir without a trailing slash; "" for "/"
  bool m_live;
  bool m_recording = false;
  mutable std::map<std::string, Touch> m_touched;
  mutable Notes m_refused;
  mutable DirCache m_cache;
  mutable std::string m_link;  // the last path read as a link (not on the live root)
};

// Joins a host directory and a name: join_path("/sys", "bus") == "/sys/bus".
std::string join_path(std::string_view dir, std::string_view name);

// Last component of a path ("/a/b/c" -> "c").
std::string_view base_name(std::string_view path);

// Parent of a host path ("/a/b/c" -> "/a/b"; "/a" -> "/").
std::string_view dir_name(std::string_view path);

}  // namespace vfioctl
