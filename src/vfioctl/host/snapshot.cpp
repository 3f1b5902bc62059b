#include "vfioctl/host/snapshot.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "vfioctl/host/root.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace fs = std::filesystem;

namespace {

// Where host facts live. Anything else a reader touched (none today) is
// left out rather than risk copying a person's files.
const char* const kAllowed[] = {
    "/sys/", "/proc/", "/dev/", "/lib/modules/", "/usr/lib/modules/", "/etc/os-release", "/etc/default/grub",
    "/etc/kernel/cmdline", "/etc/modprobe.d/", "/run/modprobe.d/", "/usr/local/lib/modprobe.d/", "/lib/modprobe.d/",
    "/usr/lib/modprobe.d/", "/etc/update-extlinux.conf", "/etc/kernel/proxmox-boot-uuids", "/run/ostree-booted",
    "/etc/libvirt/qemu.conf", "/usr/lib/os-release", "/etc/qemu/firmware/", "/var/lib/dpkg/status",
    "/etc/runlevels",  // OpenRC: only tested for existence
    "/usr/share/libvirt/cpu_map/x86_features.xml",
    // Only tested for existence: copied as empty placeholders.
    "/usr/bin/", "/usr/sbin/", "/usr/libexec/", "/usr/share/OVMF/", "/usr/share/edk2/", "/usr/share/edk2-ovmf/",
    "/usr/share/qemu/"};

// Never, whatever the area: process environments and memory, key material.
const char* const kDeniedNames[] = {"environ", "mem", "kcore", "kmem", "shadow", "gshadow", "passwd", "private_key"};
const char* const kDeniedDirs[] = {".ssh", ".gnupg", "private", "secrets"};

bool denied(const std::string& path) {
  std::string_view name = base_name(path);
  for (const char* d : kDeniedNames) {
    if (name == d) return true;
  }
  for (auto component : split(path, '/')) {
    for (const char* d : kDeniedDirs) {
      if (component == d) return true;
    }
  }
  return false;
}

void ensure_parent(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) throw Error(ExitCode::refused, "snapshot: cannot create " + p.parent_path().string() + ": " + ec.message());
}

}  // namespace

bool snapshot_allows(const std::string& path) {
  if (path.find("..") != std::string::npos) return false;
  if (denied(path)) return false;
  // /proc/<pid>/ and /proc/self/ hold process state, not host facts.
  if (starts_with(path, "/proc/")) {
    std::string_view rest = std::string_view(path).substr(6);
    if (!rest.empty() && (std::isdigit(static_cast<unsigned char>(rest[0])) || starts_with(rest, "self") ||
                          starts_with(rest, "thread-self")))
      return false;
  }
  for (const char* a : kAllowed) {
    // A directory's own path counts with its contents ("/etc/modprobe.d").
    if (path == a || starts_with(path, a) || (ends_with(a, "/") && path + "/" == a)) return true;
  }
  return false;
}

bool snapshot_masks(const std::string& path) {
  std::string name = to_lower(base_name(path));
  return name.find("serial") != std::string::npos || name == "product_uuid" || name == "uuid";
}

SnapshotReport write_snapshot(const Root& root, const std::string& dest) {
  SnapshotReport report;
  fs::path out(dest);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw Error(ExitCode::refused, "snapshot: cannot create " + dest + ": " + ec.message());
  // A copy on purpose: reading below touches more paths, which would change
  // the map under the loop.
  const std::map<std::string, Touch> touched = root.touched();  // NOLINT(performance-unnecessary-copy-initialization)
  for (const auto& [path, kind] : touched) {
    if (path.empty() || path == "/") continue;
    if (!snapshot_allows(path)) {
      report.skipped.push_back(path);
      continue;
    }
    // Place each entry under its parent's real location: a file read as
    // /sys/bus/pci/devices/X/vendor lives in /sys/devices/pci0000:00/X/,
    // and the link X leads there in the copy too.
    auto parent = root.resolve(dir_name(path));
    if (!parent) continue;
    std::string real = join_path(*parent, base_name(path));
    if (!snapshot_allows(real)) {
      report.skipped.push_back(path);
      continue;
    }
    fs::path target = out / real.substr(1);
    // Everything about the source goes through the root (links resolve
    // inside it): `real` has no link but its last component.
    auto info = root.lstat(real);
    if (info.kind == Root::FileInfo::Kind::missing) continue;  // absent then, absent now
    ensure_parent(target);
    if (info.kind == Root::FileInfo::Kind::link) {
      auto link = root.read_link(real);
      if (!link) continue;
      fs::remove(target, ec);
      fs::create_symlink(*link, target, ec);
      if (!ec) ++report.links;
      continue;
    }
    if (info.kind == Root::FileInfo::Kind::directory) {
      fs::create_directories(target, ec);
      ++report.dirs;
      // A listing is a fact too: keep the entries that are directories or
      // links so the copy lists the same things (files are kept only when
      // read, above).
      if (kind == Touch::dir) {
        for (const auto& name : root.list(real).value_or(std::vector<std::string>{})) {
          fs::path child = target / name;
          std::string host_child = join_path(real, name);
          if (!snapshot_allows(host_child) || fs::exists(fs::symlink_status(child, ec))) continue;
          auto child_info = root.lstat(host_child);
          if (child_info.kind == Root::FileInfo::Kind::link) {
            if (auto link = root.read_link(host_child)) fs::create_symlink(*link, child, ec);
          } else if (child_info.kind == Root::FileInfo::Kind::directory) {
            fs::create_directories(child, ec);
          }
        }
      }
      continue;
    }
    std::string content;
    if (kind == Touch::file && info.kind == Root::FileInfo::Kind::regular) {
      auto text = root.read(path);
      if (!text) continue;
      content = *text;
      if (snapshot_masks(path)) {
        content = "MASKED\n";
        ++report.masked;
      }
    }
    // Other kinds (device nodes, files only tested for existence) become
    // empty placeholders: their presence is the fact.
    std::ofstream f(target, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f) throw Error(ExitCode::refused, "snapshot: cannot write " + target.string());
    ++report.files;
  }
  return report;
}

SnapshotReport save_snapshot(const Root& root, const std::string& output, bool tarball) {
  std::error_code ec;
  fs::path out = fs::absolute(output);
  fs::path parent = out.parent_path();
  if (!fs::is_directory(parent, ec)) throw input_error("snapshot: directory " + parent.string() + " does not exist");
  std::string pattern = (parent / ".vfioctl-snapshot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw Error(ExitCode::refused,
                "snapshot: cannot create a temporary directory in " + parent.string() + ": " + std::strerror(errno));
  fs::path work(pattern);
  SnapshotReport report;
  try {
    fs::path tree = work / "tree";
    report = write_snapshot(root, tree.string());
    if (tarball) {
      fs::path tar = work / "snapshot.tar.gz";
      auto r = run_process({"tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", tar.string(),
                            "-C", tree.string(), "."});
      if (r.exit_code != 0) throw Error(ExitCode::refused, "snapshot: tar failed: " + std::string(trim(r.output)));
      fs::rename(tar, out);
    } else {
      if (fs::exists(fs::symlink_status(out, ec))) fs::remove_all(out);
      fs::rename(tree, out);
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(work, ec);
    throw Error(ExitCode::refused, std::string("snapshot: ") + e.what());
  } catch (...) {
    fs::remove_all(work, ec);
    throw;
  }
  fs::remove_all(work, ec);
  return report;
}

}  // namespace vfioctl
