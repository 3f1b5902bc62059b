#include "listing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "vfioctl/util/strings.h"

namespace vfioctl::hostgen {

namespace {

bool is_hex(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

uint16_t hex16(std::string_view s) { return static_cast<uint16_t>(*parse_hex(s)); }

// Leading decoration: comment marks, whitespace, tree drawing characters.
// Sets `tree` when a branch (├ or └) was among them.
std::string_view strip_decoration(std::string_view line, bool& tree) {
  tree = false;
  while (!line.empty()) {
    unsigned char c = static_cast<unsigned char>(line[0]);
    if (c == '#' || std::isspace(c)) {
      line.remove_prefix(1);
    } else if (line.size() >= 3 && c == 0xE2 && static_cast<unsigned char>(line[1]) == 0x94) {
      unsigned char k = static_cast<unsigned char>(line[2]);
      if (k == 0x9C || k == 0x94) tree = true;                      // ├ └
      if (k != 0x9C && k != 0x94 && k != 0x82 && k != 0x80) break;  // │ ─
      line.remove_prefix(3);
    } else {
      break;
    }
  }
  return line;
}

// "IOMMU group 12:" or "IOMMU Group 12 rest": the number and the rest.
std::optional<std::pair<int, std::string_view>> group_header(std::string_view s) {
  if (to_lower(s.substr(0, 12)) != "iommu group ") return std::nullopt;
  s.remove_prefix(12);
  size_t n = 0;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  if (n == 0) return std::nullopt;
  int id = static_cast<int>(*parse_int(s.substr(0, n)));
  s.remove_prefix(n);
  if (!s.empty() && s[0] == ':') s.remove_prefix(1);
  if (!s.empty() && !std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  return std::make_pair(id, trim(s));
}

// Splits "[dddd:]bb:dd.f" off the front when followed by whitespace.
std::optional<std::pair<PciAddress, std::string_view>> leading_address(std::string_view s) {
  size_t end = 0;
  while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
  std::string_view word = s.substr(0, end);
  if (end == s.size() || word.size() < 7) return std::nullopt;
  auto parts = split(word, ':');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  for (auto p : parts) {
    for (char c : p) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.') return std::nullopt;
    }
  }
  auto addr = PciAddress::parse(word);
  if (!addr) return std::nullopt;
  return std::make_pair(*addr, trim(s.substr(end)));
}

// The last "[xxxx:xxxx]" in s: its position and the two ids.
std::optional<std::pair<size_t, std::pair<uint16_t, uint16_t>>> last_id_pair(std::string_view s) {
  size_t pos = s.size();
  while (pos > 0) {
    size_t open = s.rfind('[', pos - 1);
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view inside = s.substr(open + 1, 10);
    if (s.size() >= open + 11 && s[open + 10] == ']' && inside.size() == 10 && inside[4] == ':' &&
        is_hex(inside.substr(0, 4)) && is_hex(inside.substr(5, 4))) {
      return std::make_pair(open, std::make_pair(hex16(inside.substr(0, 4)), hex16(inside.substr(5, 4))));
    }
    pos = open;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ListedDevice> parse_device_line(std::string_view line, const std::string& where) {
  auto lead = leading_address(line);
  if (!lead) return std::nullopt;
  ListedDevice dev;
  dev.address = lead->first;
  std::string_view rest = lead->second;
  auto fail = [&](const char* why) {
    return InputError(fmt::format("{}: device line '{}': {}", where, trim(line).substr(0, 60), why));
  };
  // The class: the first "[cccc]:" after the class name.
  size_t cls = std::string_view::npos;
  for (size_t i = rest.find('['); i != std::string_view::npos; i = rest.find('[', i + 1)) {
    if (i + 7 <= rest.size() && rest[i + 5] == ']' && rest[i + 6] == ':' && is_hex(rest.substr(i + 1, 4))) {
      cls = i;
      break;
    }
  }
  if (cls == std::string_view::npos) throw fail("no class code '[cccc]:' after the class name");
  dev.class_name = std::string(trim(rest.substr(0, cls)));
  dev.class_id = hex16(rest.substr(cls + 1, 4));
  std::string_view names = rest.substr(cls + 7);
  auto ids = last_id_pair(names);
  if (!ids) throw fail("no vendor:device ids '[vvvv:dddd]'");
  dev.vendor_id = ids->second.first;
  dev.device_id = ids->second.second;
  std::string_view tail = names.substr(ids->first + 11);
  dev.name = std::string(trim(names.substr(0, ids->first)));
  if (size_t r = tail.find("(rev "); r != std::string_view::npos) {
    std::string_view v = tail.substr(r + 5, 2);
    if (!is_hex(v) || v.size() != 2) throw fail("bad '(rev rr)'");
    dev.revision = static_cast<uint8_t>(*parse_hex(v));
  }
  if (size_t p = tail.find("(prog-if "); p != std::string_view::npos) {
    std::string_view v = tail.substr(p + 9, 2);
    if (!is_hex(v) || v.size() != 2) throw fail("bad '(prog-if xx'");
    dev.prog_if = static_cast<uint8_t>(*parse_hex(v));
  }
  return dev;
}

Listing parse_listing(std::string_view text, const std::string& name) {
  Listing out;
  std::optional<int> group;
  std::set<PciAddress> seen;
  int number = 0;
  for (auto raw : split(text, '\n')) {
    ++number;
    std::string where = fmt::format("{}:{}", name, number);
    bool tree = false;
    std::string_view line = trim(strip_decoration(raw, tree));
    if (line.empty() || line == "...") continue;
    if (starts_with(line, "BOOT_IMAGE=") && !out.cmdline) {
      out.cmdline = std::string(line);
      continue;
    }
    if (auto g = group_header(line)) {
      group = g->first;
      out.has_groups = true;
      line = g->second;
      if (line.empty()) continue;
    } else if (tree && parse_int(line)) {
      group = static_cast<int>(*parse_int(line));
      out.has_groups = true;
      continue;
    }
    if (auto dev = parse_device_line(line, where)) {
      if (!seen.insert(dev->address).second) {
        throw InputError(fmt::format("{}: device {} listed twice", where, dev->address.short_str()));
      }
      dev->group = group;
      dev->line = number;
      out.devices.push_back(std::move(*dev));
      continue;
    }
    if (out.devices.empty()) continue;
    ListedDevice& last = out.devices.back();
    // Lines that belong to the device above.
    auto value_after = [&](std::string_view key) -> std::optional<std::string_view> {
      if (!starts_with(line, key)) return std::nullopt;
      return trim(line.substr(key.size()));
    };
    if (auto v = value_after("Kernel driver in use:")) {
      last.driver = std::string(*v);
      out.lists_drivers = true;
    } else if (auto d = value_after("Driver:")) {
      last.driver = *d == "none" ? std::string() : std::string(*d);
      out.lists_drivers = true;
    } else if (auto m = value_after("Kernel modules:")) {
      for (auto mod : split(*m, ',')) last.modules.emplace_back(trim(mod));
    } else if (auto s = value_after("Subsystem:")) {
      if (auto ids = last_id_pair(*s)) {
        last.subsystem_vendor_id = ids->second.first;
        last.subsystem_device_id = ids->second.second;
      }
    }
  }
  if (out.devices.empty()) throw InputError(name + ": no device lines ('BB:DD.F Class [cccc]: ... [vvvv:dddd]') found");
  if (out.lists_drivers) {
    for (auto& d : out.devices) {
      if (!d.driver) d.driver = std::string();
    }
  }
  return out;
}

std::vector<ListedDevice> Listing::sorted() const {
  auto out = devices;
  std::sort(out.begin(), out.end(), [](const ListedDevice& a, const ListedDevice& b) { return a.address < b.address; });
  return out;
}

std::vector<int> Listing::group_ids() const {
  std::set<int> ids;
  for (const auto& d : devices) {
    if (d.group) ids.insert(*d.group);
  }
  return {ids.begin(), ids.end()};
}

std::vector<ListedDevice> Listing::group(int id) const {
  std::vector<ListedDevice> out;
  for (const auto& d : sorted()) {
    if (d.group == id) out.push_back(d);
  }
  return out;
}

const ListedDevice* Listing::find(std::string_view address) const {
  auto addr = PciAddress::parse(address);
  if (!addr) return nullptr;
  for (const auto& d : devices) {
    if (d.address == *addr) return &d;
  }
  return nullptr;
}

}  // namespace vfioctl::hostgen
