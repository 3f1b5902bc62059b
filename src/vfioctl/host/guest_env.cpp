#include "vfioctl/host/guest_env.h"

#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

std::optional<PciAddress> last_pci(const std::string& path) {
  std::optional<PciAddress> last;
  for (auto part : split(path, '/')) {
    if (part.size() == 12 && part[4] == ':' && part[7] == ':' && part[10] == '.') {
      if (auto a = PciAddress::parse(part)) last = a;
    }
  }
  return last;
}

// Big-endian 64-bit integer at `at`.
unsigned long long be64(const std::string& s, size_t at) {
  unsigned long long v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

const std::vector<std::string>& virtio_win_candidates() {
  static const std::vector<std::string> paths = {
      "/usr/share/virtio-win/virtio-win.iso",    // Fedora, RHEL (virtio-win package)
      "/usr/share/virtio/virtio-win.iso",        // Arch (AUR virtio-win)
      "/var/lib/libvirt/images/virtio-win.iso",  // where the guides download it
      "/var/lib/libvirt/boot/virtio-win.iso",
  };
  return paths;
}

FileFact read_file_fact(const Root& root, const std::string& path) {
  FileFact f;
  Root::FileInfo info = root.stat(path);
  f.kind = info.kind;
  f.size = info.size;
  if (info.kind == Root::FileInfo::Kind::regular) {
    // qcow2: "QFI\xfb", version, backing file offset and length, cluster
    // bits, then the virtual size at byte 24.
    auto head = root.read_head(path, 32);
    if (head && head->size() == 32 && head->compare(0, 4, "QFI\xfb") == 0) f.qcow2_size = be64(*head, 24);
  }
  if (!f.exists())
    f.dangling_link = root.lstat(path).kind == Root::FileInfo::Kind::link;
  else
    f.resolved = root.resolve(path);
  std::string parent(dir_name(path));
  f.parent_is_dir = root.stat(parent).kind == Root::FileInfo::Kind::directory;
  if (!f.exists() && f.parent_is_dir) {
    std::string_view base = base_name(path);
    size_t dot = base.rfind('.');
    std::string ext = dot == std::string_view::npos ? "" : to_lower(base.substr(dot));
    if (auto names = root.list(parent)) {
      for (const auto& n : *names) {
        if (!ext.empty() && ends_with(to_lower(n), ext)) f.siblings.push_back(join_path(parent, n));
      }
    }
  }
  return f;
}

std::string pulse_socket(int uid) { return "/run/user/" + std::to_string(uid) + "/pulse/native"; }

GuestEnv read_guest_env(const Root& root, const EnvRequest& req, Notes& notes) {
  GuestEnv env;
  env.known = true;
  env.snapshot = !root.is_live();
  env.user_uid = req.user_uid;
  auto fact = [&](const std::string& path) {
    if (!env.files.count(path)) env.files[path] = read_file_fact(root, path);
  };
  for (const auto& f : req.files) fact(f);
  if (req.virtio_win) {
    for (const auto& c : virtio_win_candidates()) {
      fact(c);
      if (!env.virtio_win && env.files[c].kind == Root::FileInfo::Kind::regular) env.virtio_win = c;
    }
  }
  if (req.usb) env.usb = read_usb_devices(root, notes);
  if (req.dmi) env.dmi = read_dmi(root, notes);
  if (auto names = root.list("/sys/class/net")) {
    for (const auto& n : *names) {
      if (n == "lo") continue;
      std::string dir = "/sys/class/net/" + n;
      NetFact f;
      f.name = n;
      f.bridge = root.exists(dir + "/bridge");
      f.wireless = root.exists(dir + "/wireless") || root.exists(dir + "/phy80211");
      if (f.bridge) {
        if (auto ports = root.list(dir + "/brif")) f.ports = *ports;
      }
      if (auto real = root.resolve(dir + "/device")) f.pci = last_pci(*real);
      env.net[n] = f;
    }
  }
  env.libvirt_config = root.exists("/etc/libvirt/qemu");
  if (auto names = root.list("/etc/libvirt/qemu/networks")) {
    for (const auto& n : *names) {
      if (ends_with(n, ".xml")) env.libvirt_networks.insert(n.substr(0, n.size() - 4));
    }
  }
  if (auto names = root.list("/etc/libvirt/qemu/networks/autostart")) {
    for (const auto& n : *names) {
      if (ends_with(n, ".xml")) env.libvirt_autostart.insert(n.substr(0, n.size() - 4));
    }
  }
  env.vhost_net = root.exists("/dev/vhost-net");
  return env;
}

}  // namespace vfioctl
