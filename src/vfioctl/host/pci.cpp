#include "vfioctl/host/pci.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/iommu.h"
#include "vfioctl/host/pci_names.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

constexpr std::string_view kDevices = "/sys/bus/pci/devices";

std::optional<uint32_t> hex_field(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  auto v = parse_hex(s);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

// Reads a hex attribute ("0x10de\n") no wider than `max`; a note when the
// file is there but holds something else.
template <typename T>
std::optional<T> read_hex_attr(const Root& root, const std::string& dir, std::string_view name, unsigned long max,
                               PciDevice& dev, Notes& notes) {
  std::string path = join_path(dir, name);
  auto text = root.read(path);
  if (!text) {
    dev.notes.push_back(fmt::format("{}: missing", name));
    notes.push_back({path, "missing; the value is unknown"});
    return std::nullopt;
  }
  auto value = parse_hex(*text);
  if (!value || *value > max) {
    std::string shown(trim(*text).substr(0, 40));
    dev.notes.push_back(fmt::format("{}: unreadable value '{}'", name, shown));
    notes.push_back({path, fmt::format("unreadable value '{}'; the value is unknown", shown)});
    return std::nullopt;
  }
  return static_cast<T>(*value);
}

std::optional<int> read_int_attr(const Root& root, const std::string& dir, std::string_view name) {
  auto text = root.read(join_path(dir, name));
  if (!text) return std::nullopt;
  auto v = parse_int(*text);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

// Fills ids, class and driver from a uevent file ("PCI_ID=10DE:1B81", ...).
// False when the essential keys are missing or malformed: the caller then
// reads the separate attribute files.
bool parse_uevent(const std::string& text, PciDevice& dev) {
  std::optional<uint32_t> cls, vendor, device, sub_vendor, sub_device;
  std::optional<std::string> driver;
  for (auto line : split(text, '\n')) {
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    std::string_view value = trim(line.substr(eq + 1));
    if (key == "DRIVER") {
      driver = std::string(value);
    } else if (key == "MODALIAS") {
      if (!value.empty()) dev.modalias = std::string(value);
    } else if (key == "PCI_CLASS") {
      cls = hex_field(value, 6);
    } else if (key == "PCI_ID" || key == "PCI_SUBSYS_ID") {
      auto ids = split(value, ':');
      if (ids.size() != 2) continue;
      auto& a = key == "PCI_ID" ? vendor : sub_vendor;
      auto& b = key == "PCI_ID" ? device : sub_device;
      a = hex_field(ids[0], 4);
      b = hex_field(ids[1], 4);
    }
  }
  if (!cls || !vendor || !device) return false;
  dev.class_code = *cls;
  dev.vendor_id = static_cast<uint16_t>(*vendor);
  dev.device_id = static_cast<uint16_t>(*device);
  if (sub_vendor && sub_device) {
    dev.subsystem_vendor_id = static_cast<uint16_t>(*sub_vendor);
    dev.subsystem_device_id = static_cast<uint16_t>(*sub_device);
  }
  dev.driver = driver;
  return true;
}

// What the IOMMU group listing says: group number by device, and the
// numbers that exist.
struct GroupIndex {
  std::map<PciAddress, int> member_of;
  std::set<std::string> ids;
};

// A 64-bit hex number with or without 0x; nullopt past 16 digits.
std::optional<uint64_t> hex64(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

PciDevice read_device(const Root& root, const PciAddress& addr, const GroupIndex& groups, PciNames& names,
                      Notes& notes) {
  PciDevice dev;
  dev.address = addr;
  std::string dir = join_path(kDevices, addr.str());

  // The device's real directory sits under its upstream bridge's, and the
  // kernel's link names it: ../../../devices/pci0000:00/0000:00:01.1/0000:01:00.0
  // (Read first: Root then opens the directory through the link at once.)
  if (auto target = root.read_link(dir)) {
    auto parent = PciAddress::parse(base_name(dir_name(*target)));
    if (parent && *parent != addr) dev.parent = parent;
  }

  // uevent carries class, ids, subsystem ids and driver in one read (the
  // same kernel values as the separate files); older trees lack it.
  bool from_uevent = false;
  if (auto text = root.read(join_path(dir, "uevent"))) from_uevent = parse_uevent(*text, dev);
  if (!from_uevent) {
    dev.vendor_id = read_hex_attr<uint16_t>(root, dir, "vendor", 0xffff, dev, notes);
    dev.device_id = read_hex_attr<uint16_t>(root, dir, "device", 0xffff, dev, notes);
    dev.class_code = read_hex_attr<uint32_t>(root, dir, "class", 0xffffff, dev, notes);
    if (auto t = root.read(join_path(dir, "subsystem_vendor"))) {
      if (auto v = hex_field(trim(*t), 6)) dev.subsystem_vendor_id = static_cast<uint16_t>(*v);
    }
    if (auto t = root.read(join_path(dir, "subsystem_device"))) {
      if (auto v = hex_field(trim(*t), 6)) dev.subsystem_device_id = static_cast<uint16_t>(*v);
    }
    dev.driver = root.link_name(join_path(dir, "driver"));
    if (auto t = root.read(join_path(dir, "modalias")); t && !trim(*t).empty()) dev.modalias = std::string(trim(*t));
  }
  if (auto t = root.read(join_path(dir, "revision"))) {
    if (auto v = hex_field(trim(*t), 4); v && *v <= 0xff) dev.revision = static_cast<uint8_t>(*v);
  }

  if (dev.vendor_id) {
    dev.vendor_name = names.vendor(*dev.vendor_id);
    if (dev.device_id) dev.device_name = names.device(*dev.vendor_id, *dev.device_id);
  }
  if (auto cls = dev.class_id()) dev.class_name = names.device_class(*cls);

  // A device the group listing names is in that group (the kernel makes
  // the listing and the device's link together; a snapshot keeps the link).
  // Otherwise the link's last component names the group, and it must lead
  // to an existing one, or the data is inconsistent.
  std::string group_link = join_path(dir, "iommu_group");
  if (auto it = groups.member_of.find(addr); it != groups.member_of.end()) {
    dev.iommu_group = it->second;
    if (root.recording()) root.read_link(group_link);
  } else if (auto group = root.link_name(group_link)) {
    auto id = parse_int(*group);
    if (id && groups.ids.count(*group)) {
      dev.iommu_group = static_cast<int>(*id);
    } else {
      dev.notes.push_back(fmt::format("iommu_group link leads to missing group '{}'", *group));
      notes.push_back({group_link, fmt::format("leads to missing group '{}'; device treated as ungrouped", *group)});
    }
  }

  // Only display controllers have boot_vga; only endpoints SR-IOV.
  if (dev.is_gpu()) {
    if (auto t = root.read(join_path(dir, "boot_vga"))) {
      if (auto v = parse_int(*t)) dev.boot_vga = *v != 0;
    }
  }
  if (auto t = root.read(join_path(dir, "reset_method"))) {
    std::vector<std::string> methods;
    for (auto m : split_ws(*t)) methods.emplace_back(m);
    dev.reset_methods = std::move(methods);
  }
  if (auto pf = root.link_name(join_path(dir, "physfn"))) dev.physfn = PciAddress::parse(*pf);
  // A virtual function has neither SR-IOV nor Resizable BAR capabilities of
  // its own (the PF holds both): no files to look for, hundreds of times on
  // an SR-IOV host.
  bool vf = dev.physfn.has_value();
  if (!dev.is_bridge() && !vf) {
    dev.sriov_totalvfs = read_int_attr(root, dir, "sriov_totalvfs");
    if (dev.sriov_totalvfs) dev.sriov_numvfs = read_int_attr(root, dir, "sriov_numvfs");
  }
  if (auto node = read_int_attr(root, dir, "numa_node"); node && *node >= 0) dev.numa_node = node;
  if (auto t = root.read(join_path(dir, "resource"))) {
    int bad = 0;
    dev.bars = parse_pci_resource(*t, &bad);
    if (bad) notes.push_back({join_path(dir, "resource"), fmt::format("{} unreadable line(s) skipped", bad)});
    for (auto& b : *dev.bars) {
      if (!b.mem() || vf) continue;
      if (auto r = root.read(join_path(dir, fmt::format("resource{}_resize", b.index)))) {
        if (auto v = hex64(trim(*r))) b.resizable_sizes = *v;
      }
    }
  }
  return dev;
}

}  // namespace

uint64_t PciBar::largest_resizable() const {
  for (int bit = 43; bit >= 0; --bit) {  // 2^43 MiB: the capability's largest size
    if (resizable_sizes & (uint64_t{1} << bit)) return uint64_t{1} << (bit + 20);
  }
  return 0;
}

std::vector<PciBar> parse_pci_resource(std::string_view text, int* bad) {
  // A listing reads this file for every device: lines and fields are taken
  // in place, without a vector of each.
  std::vector<PciBar> bars;
  int index = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  size_t pos = 0;
  while (pos < text.size() && index < 6) {  // the ROM, SR-IOV and bridge windows follow
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view f[4];
    size_t n = 0;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && space(line[i])) ++i;
      if (i == line.size()) break;
      size_t j = i;
      while (j < line.size() && !space(line[j])) ++j;
      if (n < 4) f[n] = line.substr(i, j - i);
      ++n;
      i = j;
    }
    if (n == 0) continue;
    int i = index++;
    std::optional<uint64_t> start, end, flags;
    if (n == 3) {
      start = hex64(f[0]);
      end = hex64(f[1]);
      flags = hex64(f[2]);
    }
    if (!start || !end || !flags || *end < *start) {
      if (bad) ++*bad;
      continue;
    }
    if (*end == 0) continue;  // no such BAR (or the upper half of a 64-bit one)
    if (*end - *start == UINT64_MAX) {
      if (bad) ++*bad;
      continue;
    }
    PciBar b;
    b.index = i;
    b.start = *start;
    b.size = *end - *start + 1;
    b.flags = *flags;
    bars.push_back(b);
  }
  return bars;
}

std::optional<PciAddress> PciAddress::parse(std::string_view text) {
  text = trim(text);
  PciAddress a;
  // "D:B:S.F" or "B:S.F", split at the colons in place.
  size_t c1 = text.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  size_t c2 = text.find(':', c1 + 1);
  if (c2 != std::string_view::npos && text.find(':', c2 + 1) != std::string_view::npos) return std::nullopt;
  std::string_view dom, bus, rest;
  if (c2 != std::string_view::npos) {
    dom = text.substr(0, c1);
    bus = text.substr(c1 + 1, c2 - c1 - 1);
    rest = text.substr(c2 + 1);
  } else {
    dom = "0";
    bus = text.substr(0, c1);
    rest = text.substr(c1 + 1);
  }
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto d = hex_field(dom, 8);
  auto b = hex_field(bus, 2);
  auto s = hex_field(rest.substr(0, dot), 2);
  auto f = hex_field(rest.substr(dot + 1), 1);
  if (!d || !b || !s || !f || *s > 0x1f || *f > 7) return std::nullopt;
  a.domain = *d;
  a.bus = *b;
  a.device = *s;
  a.function = *f;
  return a;
}

namespace {

// Lower-case hex of `v` in at least `width` digits, as fmt's {:0Nx}: paths
// and JSON are made of these for every device, so without a format parse.
void append_hex(std::string& out, uint64_t v, int width) {
  char buf[16];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  } while (v != 0 && n < 16);
  for (int i = n; i < width; ++i) out += '0';
  while (n > 0) out += buf[--n];
}

}  // namespace

namespace {

// "BB:SS.F" appended to `out`.
void append_bus_slot(std::string& out, const PciAddress& a) {
  append_hex(out, a.bus, 2);
  out += ':';
  append_hex(out, a.device, 2);
  out += '.';
  append_hex(out, a.function, 1);
}

}  // namespace

std::string PciAddress::str() const {
  std::string out;
  out.reserve(12);
  append_hex(out, domain, 4);
  out += ':';
  append_bus_slot(out, *this);
  return out;
}

std::string PciAddress::short_str() const {
  if (domain != 0) return str();
  std::string out;
  out.reserve(7);
  append_bus_slot(out, *this);
  return out;
}

std::string hex4(uint16_t v) {
  std::string out;
  append_hex(out, v, 4);
  return out;
}

std::string hex_digits(uint32_t v, int width) {
  std::string out;
  append_hex(out, v, width);
  return out;
}

bool PciDevice::is_bridge() const {
  auto c = class_id();
  return c && (*c == 0x0600 || *c == 0x0604 || *c == 0x0609);
}
bool PciDevice::is_gpu() const { return class_id() && (*class_id() >> 8) == 0x03; }
bool PciDevice::is_vga() const { return class_id() && *class_id() == 0x0300; }
bool PciDevice::is_audio() const { return class_id() && (*class_id() == 0x0403 || *class_id() == 0x0401); }
bool PciDevice::is_usb() const { return class_id() && *class_id() == 0x0c03; }
bool PciDevice::is_nvme() const { return class_id() && *class_id() == 0x0108; }
bool PciDevice::is_network() const { return class_id() && (*class_id() >> 8) == 0x02; }

std::string PciDevice::id_pair() const {
  return (vendor_id ? hex4(*vendor_id) : "????") + ":" + (device_id ? hex4(*device_id) : "????");
}

std::vector<PciDevice> read_pci_devices(const Root& root, Notes& notes, const std::vector<IommuGroup>* listing) {
  std::vector<PciDevice> devices;
  auto entries = root.list(kDevices);
  if (!entries) return devices;  // no PCI bus at all: not an error
  GroupIndex groups;
  if (listing) {
    for (const auto& g : *listing) {
      groups.ids.insert(std::to_string(g.id));
      for (const auto& a : g.devices) groups.member_of.emplace(a, g.id);
    }
  } else if (auto group_list = root.list("/sys/kernel/iommu_groups")) {
    groups.ids.insert(group_list->begin(), group_list->end());
  }
  devices.reserve(entries->size());
  PciNames names;
  for (const auto& name : *entries) {
    auto addr = PciAddress::parse(name);
    if (!addr) {
      notes.push_back({join_path(kDevices, name), "not a PCI address; ignored"});
      continue;
    }
    devices.push_back(read_device(root, *addr, groups, names, notes));
  }
  std::sort(devices.begin(), devices.end(),
            [](const PciDevice& a, const PciDevice& b) { return a.address < b.address; });
  return devices;
}

}  // namespace vfioctl
