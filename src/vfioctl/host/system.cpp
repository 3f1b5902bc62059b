#include "vfioctl/host/system.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

#include "vfioctl/host/kernel.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// Packages doctor names, across Debian-family releases.
const char* const kWatchedPackages[] = {
    "qemu-system-x86", "qemu-kvm",    "libvirt-daemon", "libvirt-daemon-system", "libvirt-clients", "ovmf",
    "swtpm",           "swtpm-tools", "virt-manager",
};

struct ToolPath {
  const char* tool;
  const char* path;
};
// First existing path wins.
const ToolPath kTools[] = {
    {"qemu", "/usr/bin/qemu-system-x86_64"}, {"qemu", "/usr/libexec/qemu-kvm"}, {"libvirtd", "/usr/sbin/libvirtd"},
    {"libvirtd", "/usr/sbin/virtqemud"},     {"virsh", "/usr/bin/virsh"},       {"swtpm", "/usr/bin/swtpm"},
};

void read_packages(const Root& root, System& s) {
  auto text = root.read("/var/lib/dpkg/status");
  if (!text) return;
  s.package_db = true;
  std::set<std::string> wanted(std::begin(kWatchedPackages), std::end(kWatchedPackages));
  std::string name, version;
  bool installed = false;
  auto flush = [&]() {
    if (!name.empty() && installed && wanted.count(name)) s.packages[name] = version;
    name.clear();
    version.clear();
    installed = false;
  };
  // dpkg's status runs to megabytes, mostly descriptions: lines are taken in
  // place, and only a line that starts blank is trimmed.
  std::string_view all = *text;
  for (size_t pos = 0; pos <= all.size();) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    std::string_view line = all.substr(pos, nl - pos);
    pos = nl + 1;
    char first = line.empty() ? ' ' : line.front();
    if (first != 'P' && first != 'V' && first != 'S') {
      if (trim(line.substr(0, 1)).empty() && trim(line).empty()) flush();
      continue;
    }
    if (starts_with(line, "Package:"))
      name = std::string(trim(line.substr(8)));
    else if (starts_with(line, "Version:"))
      version = std::string(trim(line.substr(8)));
    else if (starts_with(line, "Status:"))
      installed = ends_with(trim(line), " installed");
  }
  flush();
}

void read_module_files(const Root& root, const std::optional<std::string>& release, System& s) {
  if (!release) return;
  auto text = root.read("/lib/modules/" + *release + "/modules.dep");
  if (!text) return;
  s.module_files_known = true;
  for (auto line : split(*text, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view base = base_name(line.substr(0, colon));
    if (size_t dot = base.find(".ko"); dot != std::string_view::npos) base = base.substr(0, dot);
    s.module_files.insert(module_name(std::string(base)));
  }
}

void read_module_aliases(const Root& root, const std::optional<std::string>& release, System& s) {
  if (!release) return;
  auto text = root.read("/lib/modules/" + *release + "/modules.alias");
  if (!text) return;
  s.aliases_known = true;
  for (auto line : split(*text, '\n')) {
    auto f = split_ws(line);
    if (f.size() != 3 || f[0] != "alias" || !starts_with(f[1], "pci:")) continue;
    s.pci_aliases.emplace_back(std::string(f[1]), module_name(std::string(f[2])));
  }
}

void read_interrupt_remapping(const Root& root, System& s) {
  if (auto text = root.read("/proc/interrupts")) {
    int n = 0;
    for (auto line : split(*text, '\n')) {
      if (line.find("IR-") != std::string_view::npos) ++n;
    }
    s.remapped_irq_lines = n;
  }
  if (auto units = root.list("/sys/class/iommu")) {
    for (const auto& u : *units) {
      if (!starts_with(u, "dmar")) continue;
      if (auto ecap = root.read("/sys/class/iommu/" + u + "/intel-iommu/ecap")) {
        if (auto v = parse_hex(trim(*ecap))) s.dmar_ir_capable[u] = (*v >> 3) & 1;
      }
    }
  }
}

void read_governors(const Root& root, System& s) {
  auto cpus = root.list("/sys/devices/system/cpu");
  if (!cpus) return;
  for (const auto& c : *cpus) {
    if (!starts_with(c, "cpu") || c.size() < 4 || !parse_int(std::string_view(c).substr(3))) continue;
    if (auto g = root.read("/sys/devices/system/cpu/" + c + "/cpufreq/scaling_governor")) {
      std::string gov(trim(*g));
      if (!gov.empty()) s.governors[gov]++;
    }
  }
}

// PCI functions on a resolved sysfs device path
// (/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/...): the last one
// is the device itself.
std::optional<PciAddress> last_pci_in(const std::string& path) {
  std::optional<PciAddress> last;
  for (auto part : split(path, '/')) {
    if (part.size() == 12 && part[4] == ':' && part[7] == ':' && part[10] == '.') {
      if (auto a = PciAddress::parse(part)) last = a;
    }
  }
  return last;
}

// Adds the PCI controllers under block device `name` ("nvme0n1p2", "dm-0"),
// following device-mapper and md slaves.
void block_devices(const Root& root, const std::string& name, std::set<PciAddress>& out, int depth) {
  if (depth > 8) return;
  std::string link = "/sys/class/block/" + name;
  auto real = root.resolve(link);
  if (!real) return;
  if (auto a = last_pci_in(*real)) out.insert(*a);
  if (auto slaves = root.list(*real + "/slaves")) {
    for (const auto& s : *slaves) block_devices(root, s, out, depth + 1);
  }
}

void read_root_fs(const Root& root, System& s, Notes& notes) {
  auto text = root.read("/proc/mounts");
  if (!text) return;
  std::optional<std::string> source;
  for (auto line : split(*text, '\n')) {
    auto f = split_ws(line);
    if (f.size() >= 3 && f[1] == "/" && f[0] != "rootfs") source = std::string(f[0]);
  }
  if (!source) return;
  s.root_source = source;
  if (!starts_with(*source, "/dev/")) return;  // overlay, zfs pool, nfs: no PCI device to name
  auto dev = root.resolve(*source);
  if (!dev) {
    notes.push_back({*source, "root filesystem source not found under /dev; its controller is unknown"});
    return;
  }
  block_devices(root, std::string(base_name(*dev)), s.root_devices, 0);
}

void read_net(const Root& root, System& s) {
  std::set<std::string> default_ifaces;
  if (auto text = root.read("/proc/net/route")) {
    bool first = true;
    for (auto line : split(*text, '\n')) {
      if (first) {
        first = false;
        continue;
      }
      auto f = split_ws(line);
      if (f.size() >= 2 && f[1] == "00000000") default_ifaces.emplace(f[0]);
    }
  }
  auto names = root.list("/sys/class/net");
  if (!names) return;
  for (const auto& n : *names) {
    if (n == "lo") continue;
    NetInterface i;
    i.name = n;
    std::string dir = "/sys/class/net/" + n;
    if (auto real = root.resolve(dir + "/device")) i.pci = last_pci_in(*real);
    i.wireless = root.exists(dir + "/wireless") || root.exists(dir + "/phy80211");
    i.default_route = default_ifaces.count(n) > 0;
    s.net.push_back(std::move(i));
  }
}

// The last `KEY=` assignment of a shell file: its line (1-based) and value.
void last_assignment(const std::optional<std::string>& text, std::string_view key, std::optional<int>& line,
                     std::string& value) {
  if (!text) return;
  int n = 0;
  for (auto l : split(*text, '\n')) {
    ++n;
    std::string_view t = trim(l);
    if (!starts_with(t, key) || t.size() <= key.size() || t[key.size()] != '=') continue;
    line = n;
    value = unquote(t.substr(key.size() + 1));
  }
}

void read_boot(const Root& root, System& s) {
  last_assignment(root.read("/etc/default/grub"), "GRUB_CMDLINE_LINUX_DEFAULT", s.boot.grub_line, s.boot.grub_value);
  if (auto text = root.read("/etc/kernel/cmdline")) s.boot.kernel_cmdline = std::string(trim(*text));
  last_assignment(root.read("/etc/update-extlinux.conf"), "default_kernel_opts", s.boot.extlinux_line,
                  s.boot.extlinux_value);
  s.boot.ostree = root.exists("/run/ostree-booted");
  s.boot.proxmox = root.exists("/etc/kernel/proxmox-boot-uuids");
}

}  // namespace

std::string Distro::family() const {
  auto is = [&](const std::string& f) {
    return (id && *id == f) || std::find(id_like.begin(), id_like.end(), f) != id_like.end();
  };
  if (is("debian") || is("ubuntu")) return "debian";
  if (is("fedora") || is("rhel") || is("centos")) return "fedora";
  if (is("arch")) return "arch";
  if (is("suse") || is("opensuse")) return "suse";
  if (is("alpine")) return "alpine";
  return "";
}

namespace {

std::string package_of(const std::string& family, const std::string& what) {
  if (what == "ovmf") {
    if (family == "fedora" || family == "arch") return "edk2-ovmf";
    if (family == "suse") return "qemu-ovmf-x86_64";
    return "ovmf";
  }
  if (what == "swtpm") return family == "debian" ? "swtpm swtpm-tools" : "swtpm";
  if (what == "qemu") {
    if (family == "debian") return "qemu-system-x86";
    if (family == "fedora") return "qemu-kvm";
    if (family == "arch") return "qemu-full";
    if (family == "alpine") return "qemu-system-x86_64";
    return "qemu";
  }
  if (what == "libvirt") {
    if (family == "debian") return "libvirt-daemon-system";
    if (family == "alpine") return "libvirt-daemon";
    return "libvirt";
  }
  if (what == "qemu-img") {
    if (family == "debian" || family == "alpine") return "qemu-utils";
    if (family == "arch") return "qemu-img";
    if (family == "suse") return "qemu-tools";
    return "qemu-img";
  }
  if (what == "libvirt-dev") {
    if (family == "debian") return "libvirt-dev";
    if (family == "fedora" || family == "suse") return "libvirt-devel";
    if (family == "alpine") return "libvirt-dev";
    return "libvirt";
  }
  return what;
}

}  // namespace

std::string Distro::package(const std::string& what) const { return package_of(family(), what); }

std::string Distro::install(const std::string& what) const {
  std::string f = family();
  std::string p = package_of(f, what);
  if (f == "debian") return "apt install " + p;
  if (f == "fedora") return "dnf install " + p;
  if (f == "arch") return "pacman -S " + p;
  if (f == "suse") return "zypper install " + p;
  if (f == "alpine") return "apk add " + p;
  return fmt::format("install {} (Debian: {}, Fedora: {}, Arch: {}, Alpine: {})", what, package_of("debian", what),
                     package_of("fedora", what), package_of("arch", what), package_of("alpine", what));
}

Distro parse_os_release(const std::string& text) {
  Distro d;
  for (auto line : split(text, '\n')) {
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || starts_with(trim(line), "#")) continue;
    std::string_view key = trim(line.substr(0, eq));
    std::string value = unquote(line.substr(eq + 1));
    if (key == "ID")
      d.id = to_lower(value);
    else if (key == "ID_LIKE") {
      for (auto w : split_ws(value)) d.id_like.push_back(to_lower(w));
    } else if (key == "VERSION_ID")
      d.version_id = value;
    else if (key == "PRETTY_NAME")
      d.pretty_name = value;
  }
  return d;
}

std::vector<std::string> modules_for_alias(const System& system, const std::string& modalias) {
  std::vector<std::string> out;
  for (const auto& [pattern, module] : system.pci_aliases) {
    if (std::find(out.begin(), out.end(), module) != out.end()) continue;
    if (::fnmatch(pattern.c_str(), modalias.c_str(), 0) == 0) out.push_back(module);
  }
  return out;
}

bool boots_openrc(const Root& root) { return root.exists("/etc/runlevels"); }

System read_system(const Root& root, const std::optional<std::string>& kernel_release, Notes& notes) {
  System s;
  auto os = root.read("/etc/os-release");
  if (!os) os = root.read("/usr/lib/os-release");
  if (os) s.distro = parse_os_release(*os);
  read_packages(root, s);
  read_boot(root, s);
  for (const auto& t : kTools) {
    if (!s.tools.count(t.tool) && root.exists(t.path)) s.tools[t.tool] = t.path;
  }
  s.firmware = read_firmware(root, notes);
  s.openrc = boots_openrc(root);
  read_module_files(root, kernel_release, s);
  read_module_aliases(root, kernel_release, s);
  s.modprobe = read_modprobe(root);
  read_interrupt_remapping(root, s);
  read_governors(root, s);
  read_root_fs(root, s, notes);
  read_net(root, s);
  return s;
}

}  // namespace vfioctl
