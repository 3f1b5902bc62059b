#include "vfioctl/host/selector.h"

#include <fmt/format.h>

#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

const std::vector<std::string>& selector_kinds() {
  static const std::vector<std::string> kinds = {"gpu", "audio", "usb", "nvme", "sata", "net"};
  return kinds;
}

const char* selector_help() {
  return "a selector is an address (01:00.0, 0000:01:00.0), a slot (01:00: all its functions), "
         "a vendor:device id (10de:1b81), or a kind (gpu, audio, usb, nvme, sata, net)";
}

std::optional<Selector> parse_selector(const std::string& raw) {
  Selector sel;
  sel.text = raw;
  std::string text = to_lower(trim(raw));
  for (const auto& k : selector_kinds()) {
    if (text == k) {
      sel.kind = Selector::Kind::device_class;
      sel.class_name = k;
      return sel;
    }
  }
  if (auto addr = PciAddress::parse(text)) {
    sel.kind = Selector::Kind::address;
    sel.address = *addr;
    return sel;
  }
  auto parts = split(text, ':');
  // vendor:device ids have four hex digits on each side.
  if (parts.size() == 2 && parts[0].size() == 4 && parts[1].size() == 4) {
    auto v = parse_hex(parts[0]);
    auto d = parse_hex(parts[1]);
    if (v && d) {
      sel.kind = Selector::Kind::ids;
      sel.vendor_id = static_cast<uint16_t>(*v);
      sel.device_id = static_cast<uint16_t>(*d);
      return sel;
    }
  }
  // A slot: an address without ".function".
  if (auto addr = PciAddress::parse(text + ".0")) {
    sel.kind = Selector::Kind::slot;
    sel.address = *addr;
    return sel;
  }
  return std::nullopt;
}

bool selector_matches(const Selector& sel, const PciDevice& dev) {
  switch (sel.kind) {
    case Selector::Kind::address: return dev.address == sel.address;
    case Selector::Kind::slot: return dev.address.same_slot(sel.address);
    case Selector::Kind::ids: return dev.vendor_id == sel.vendor_id && dev.device_id == sel.device_id;
    case Selector::Kind::device_class:
      if (sel.class_name == "gpu") return dev.is_gpu();
      if (sel.class_name == "audio") return dev.is_audio();
      if (sel.class_name == "usb") return dev.is_usb();
      if (sel.class_name == "nvme") return dev.is_nvme();
      if (sel.class_name == "sata") return dev.class_id() == 0x0106;
      if (sel.class_name == "net") return dev.is_network();
      return false;
  }
  return false;
}

std::vector<Selector> parse_selectors(const std::vector<std::string>& texts) {
  std::vector<Selector> out;
  for (const auto& t : texts) {
    auto sel = parse_selector(t);
    if (!sel) throw input_error(fmt::format("unknown selector '{}': {}", t, selector_help()));
    out.push_back(*sel);
  }
  return out;
}

bool any_selector_matches(const std::vector<Selector>& sels, const PciDevice& dev) {
  if (sels.empty()) return true;
  for (const auto& s : sels) {
    if (selector_matches(s, dev)) return true;
  }
  return false;
}

}  // namespace vfioctl
