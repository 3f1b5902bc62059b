// Scratch roots for the setup tests: a host fixture (tests/hosts) with a
// distribution's default boot configuration (tests/setup/distros) and, for
// hosts with a passthrough setup begun by hand, real published files
// (tests/setup/existing) laid over it. Shared by cli_setup_test and
// cli_setup_merge_test.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "run.h"

namespace vfioctl::test {

namespace fs = std::filesystem;

inline const fs::path kSource = VFIOCTL_SOURCE_DIR;

struct Case {
  const char* name;    // golden directory
  const char* host;    // tests/hosts/NAME
  const char* distro;  // tests/setup/distros/NAME
  std::vector<std::string> args;
  std::vector<std::string> adds;      // the vfio-pci ids the request adds to the host's list
  std::vector<std::string> overlays;  // tests/setup/existing/NAME laid over the distribution, in order
};

// Test names and failure messages show the case's name, not its bytes.
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

inline const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"debian-12_z370",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0", "--windows", "--hugepages", "8G"},
       {"10de:1d01", "10de:0fb8"},
       {}},
      {"ubuntu-24.04_identical-gpus", "two-identical-gpus", "ubuntu-24.04", {"--device", "24:00.0"}, {}, {}},
      {"arch-grub_3900x",
       "amd-ryzen9-3900x",
       "arch-grub",
       {"--device", "0b:00.0", "--isolate", "6-11,18-23"},
       {"10de:1b06", "10de:10ef"},
       {}},
      {"arch-systemd-boot_5800h",
       "amd-laptop-5800h",
       "arch-systemd-boot",
       {"--device", "gpu", "--hugepages", "8G", "--hugepage-size", "2M"},
       {"10de:2560", "10de:228e"},
       {}},
      {"fedora-41_13700k",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0", "--hugepages", "16G"},
       {"10de:27e0", "10de:22bc"},
       {}},
      // Hosts that already carry part of a passthrough setup: real files
      // people published (tests/setup/existing/README.md) laid over the
      // distribution's defaults. For each boot chain and initramfs system:
      // ids in modprobe.d, ids on the command line, modules listed and
      // arguments present, and (where GRUB reads them) grub.d drop-ins.
      {"debian-12_ids-modprobe",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0"},
       {"10de:1d01", "10de:0fb8"},
       {"1-3xx0-softdep-nouveau"}},
      {"debian-12_ids-cmdline",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0"},
       {"10de:1d01", "10de:0fb8"},
       {"2-relm-ubuntu-nvidia"}},
      {"debian-12_listed",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0"},
       {"10de:1d01", "10de:0fb8"},
       {"6-mikeramos58-nvidia", "3-spongeyperson-proxmox"}},
      {"debian-12_grubd",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0"},
       {"10de:1d01", "10de:0fb8"},
       {"8-matsuu-ubuntu-cloud"}},
      {"debian-12_six-ids-lines",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0"},
       {"10de:1d01", "10de:0fb8"},
       {"1-iroger-proxmox-multi"}},
      {"ubuntu-24.04_ids-modprobe",
       "two-identical-gpus",
       "ubuntu-24.04",
       {"--device", "24:00.0"},
       {},
       {"1-smartperson-typo-diable-vga"}},
      {"ubuntu-24.04_ids-cmdline",
       "two-identical-gpus",
       "ubuntu-24.04",
       {"--device", "24:00.0"},
       {},
       {"2-smartperson-ubuntu-amd"}},
      {"ubuntu-24.04_ids-both",
       "two-identical-gpus",
       "ubuntu-24.04",
       {"--device", "24:00.0"},
       {},
       {"2-smartperson-ubuntu-amd", "1-smartperson-typo-diable-vga"}},
      {"ubuntu-24.04_listed",
       "two-identical-gpus",
       "ubuntu-24.04",
       {"--device", "24:00.0"},
       {},
       {"6-relm-ubuntu", "3-joonaha-elementary"}},
      {"ubuntu-24.04_grubd",
       "two-identical-gpus",
       "ubuntu-24.04",
       {"--device", "24:00.0"},
       {},
       {"8-jwwilson-digitalocean"}},
      {"arch-grub_ids-modprobe",
       "amd-ryzen9-3900x",
       "arch-grub",
       {"--device", "0b:00.0"},
       {"10de:1b06", "10de:10ef"},
       {"1-the-ashh-softdep-amdgpu"}},
      {"arch-grub_ids-cmdline",
       "amd-ryzen9-3900x",
       "arch-grub",
       {"--device", "0b:00.0"},
       {"10de:1b06", "10de:10ef"},
       {"2-breakingspell-arch"}},
      {"arch-grub_listed",
       "amd-ryzen9-3900x",
       "arch-grub",
       {"--device", "0b:00.0"},
       {"10de:1b06", "10de:10ef"},
       {"5-breakingspell-amdgpu-first", "3-alkeryn-arch"}},
      {"arch-grub_manjaro",
       "amd-ryzen9-3900x",
       "arch-grub",
       {"--device", "0b:00.0"},
       {"10de:1b06", "10de:10ef"},
       {"2-madhavpcm-manjaro", "5-madhavpcm-string-form"}},
      {"arch-systemd-boot_ids-modprobe",
       "amd-laptop-5800h",
       "arch-systemd-boot",
       {"--device", "gpu"},
       {"10de:2560", "10de:228e"},
       {"1-sondrehusevold-softdep-drm"}},
      {"arch-systemd-boot_ids-cmdline",
       "amd-laptop-5800h",
       "arch-systemd-boot",
       {"--device", "gpu"},
       {"10de:2560", "10de:228e"},
       {"4-akissu-tabs-tb3"}},
      {"arch-systemd-boot_listed",
       "amd-laptop-5800h",
       "arch-systemd-boot",
       {"--device", "gpu"},
       {"10de:2560", "10de:228e"},
       {"5-sondrehusevold-i915", "4-breakingspell-arch"}},
      {"arch-systemd-boot_archinstall",
       "amd-laptop-5800h",
       "arch-systemd-boot",
       {"--device", "gpu"},
       {"10de:2560", "10de:228e"},
       {"4-the-ashh-archinstall", "5-the-ashh-vendor-reset"}},
      {"fedora-41_ids-modprobe",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0"},
       {"10de:27e0", "10de:22bc"},
       {"1-rmbl-disable-vga"}},
      {"fedora-41_ids-cmdline",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0"},
       {"10de:27e0", "10de:22bc"},
       {"2-neg-serg-arch"}},
      {"fedora-41_listed",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0"},
       {"10de:27e0", "10de:22bc"},
       {"3-p7cq-fedora-sysconfig", "7-raro28-force-drivers"}},
      {"fedora-41_add-drivers",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0"},
       {"10de:27e0", "10de:22bc"},
       {"x-craigcabrey-fedora-blscfg-baseline", "7-marcaurelecoste-fedora"}},
      {"debian-12_commented-ids",
       "intel-desktop-z370",
       "debian-12",
       {"--device", "01:00.0"},
       {"10de:1d01", "10de:0fb8"},
       {"1-relm-softdeps-commented-ids", "6-skeen-minimal"}},
      {"ubuntu-24.04_aws", "two-identical-gpus", "ubuntu-24.04", {"--device", "24:00.0"}, {}, {"8-yukikamome316-aws"}},
      {"arch-grub_stock-comments",
       "amd-ryzen9-3900x",
       "arch-grub",
       {"--device", "0b:00.0"},
       {"10de:1b06", "10de:10ef"},
       {"5-akissu-stock-comments", "1-leplatin-blacklist"}},
      {"arch-systemd-boot_own-override",
       "amd-laptop-5800h",
       "arch-systemd-boot",
       {"--device", "gpu"},
       {"10de:2560", "10de:228e"},
       {"5-chloecdn-systemd-hooks"}},
      {"fedora-41_oneline",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0"},
       {"10de:27e0", "10de:22bc"},
       {"3-dstait-oneline", "7-madhavpcm-10-vfio"}},
      {"fedora-41_fragment",
       "intel-hybrid-13700k",
       "fedora-41",
       {"--device", "01:00.0"},
       {"10de:27e0", "10de:22bc"},
       {"3-marcaurelecoste-fedora-fragment", "7-p7cq-fedora"}},
  };
  return c;
}

// A shell command's standard output.
inline std::string sh(const std::string& script) {
  std::string out;
  FILE* p = ::popen(script.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

inline const Case& find_case(const std::string& name) {
  for (const auto& c : cases()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no case " + name);
}

// Regular files (content) and links (target) under a tree, except the
// journal, which keeps the history on purpose.
inline std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    if (rel.rfind("var/lib/vfioctl", 0) == 0 || rel == "var" || rel == "var/lib") continue;
    if (it->is_symlink())
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file())
      out[rel] = slurp(it->path());
    else if (it->is_directory())
      out[rel + "/"] = "";
  }
  return out;
}

// The paths whose content differs between two trees, one per line.
inline std::string differences(const std::map<std::string, std::string>& a,
                               const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [path, content] : a) {
    auto it = b.find(path);
    if (it == b.end())
      out += "only before: " + path + "\n";
    else if (it->second != content)
      out += "changed: " + path + "\n";
  }
  for (const auto& [path, content] : b) {
    if (!a.count(path)) out += "only after: " + path + "\n";
  }
  return out;
}

class Scratch {
 public:
  explicit Scratch(const Case& c) {
    m_dir = fs::temp_directory_path() / ("vfioctl-setup-" + std::string(c.name) + "-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    auto opts = fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing;
    fs::copy(kSource / "tests/hosts" / c.host, m_dir, opts);
    fs::copy(kSource / "tests/setup/distros" / c.distro, m_dir, opts);
    for (const auto& o : c.overlays) fs::copy(kSource / "tests/setup/existing" / o, m_dir, opts);
    m_log = m_dir.string() + ".commands";
    fs::remove(m_log);
  }
  ~Scratch() {
    std::system(("chattr -R -i " + m_dir.string() + " 2>/dev/null").c_str());
    fs::remove_all(m_dir);
    fs::remove(m_log);
  }
  const fs::path& dir() const { return m_dir; }
  const std::string& log() const { return m_log; }
  Result run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", m_dir.string()});
    ::setenv("VFIOCTL_COMMAND_LOG", m_log.c_str(), 1);
    Result r = vfioctl(args);
    ::unsetenv("VFIOCTL_COMMAND_LOG");
    return r;
  }

 private:
  fs::path m_dir;
  std::string m_log;
};

// Files from tests/setup/chains (published, sources in its README) laid over a scratch root.
inline void lay(const Scratch& s, const std::string& chain) {
  fs::copy(kSource / "tests/setup/chains" / chain, s.dir(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

inline std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
  a.insert(a.begin(), "setup");
  a.insert(a.end(), more);
  return a;
}

inline bool update_golden() {
  const char* v = std::getenv("VFIOCTL_UPDATE_GOLDEN");
  return v && *v && std::string(v) != "0";
}

}  // namespace vfioctl::test
