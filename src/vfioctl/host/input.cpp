#include "vfioctl/host/input.h"

#include <algorithm>
#include <tuple>

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

constexpr std::string_view by_id_dir = "/dev/input/by-id";

// The kind an evdev by-id name stands for; nullopt for every other name
// ("...-mouse" aliases of mouseN, "...-event-joystick", "...-event-if01").
std::optional<InputKind> kind_of(std::string_view name) {
  if (ends_with(name, "-event-kbd")) return InputKind::keyboard;
  if (ends_with(name, "-event-mouse")) return InputKind::mouse;
  return std::nullopt;
}

// Doubles commas, the way QEMU's option parser reads a literal comma.
std::string qemu_escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

const char* input_kind_name(InputKind kind) {
  switch (kind) {
    case InputKind::keyboard: return "keyboard";
    case InputKind::mouse: return "mouse";
  }
  return "keyboard";
}

std::vector<InputDevice> read_input_devices(const Root& root, Notes& notes) {
  std::vector<InputDevice> devices;
  auto names = root.list(by_id_dir);
  if (!names) return devices;
  for (const auto& entry : *names) {
    auto kind = kind_of(entry);
    if (!kind) continue;
    InputDevice dev;
    dev.path = join_path(by_id_dir, entry);
    dev.kind = *kind;
    if (auto target = root.read_link(dev.path)) {
      if (auto event = root.resolve(dev.path)) {
        dev.event = *event;
      } else {
        notes.push_back({dev.path, "links to " + *target +
                                       ", which does not exist (unplugged?); left out of the guest configuration"});
      }
    } else {
      notes.push_back({dev.path, "not a symbolic link; event node unknown, left out of the guest configuration"});
    }
    if (dev.event) {
      std::string name_path = "/sys/class/input/" + std::string(base_name(*dev.event)) + "/device/name";
      if (auto text = root.read(name_path)) {
        std::string_view name = trim(*text);
        if (!name.empty()) dev.name = std::string(name);
      } else {
        notes.push_back({name_path, "missing; device name unknown"});
      }
    }
    devices.push_back(std::move(dev));
  }
  std::sort(devices.begin(), devices.end(), [](const InputDevice& a, const InputDevice& b) {
    return std::tie(a.kind, a.path) < std::tie(b.kind, b.path);
  });
  return devices;
}

const std::vector<std::string>& grab_toggle_keys() {
  static const std::vector<std::string> keys = {"ctrl-ctrl", "alt-alt",    "shift-shift",
                                                "meta-meta", "scrolllock", "ctrl-scrolllock"};
  return keys;
}

std::string grab_toggle_help(std::string_view keys) {
  if (keys == "ctrl-ctrl") return "both Ctrl keys";
  if (keys == "alt-alt") return "both Alt keys";
  if (keys == "shift-shift") return "both Shift keys";
  if (keys == "meta-meta") return "both Meta (Windows) keys";
  if (keys == "scrolllock") return "Scroll Lock";
  if (keys == "ctrl-scrolllock") return "Ctrl+Scroll Lock";
  return std::string(keys);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string libvirt_evdev_xml(const std::vector<InputDevice>& devices, std::string_view grab_toggle) {
  std::string xml;
  for (const auto& d : devices) {
    if (!d.event) continue;
    xml += "<input type='evdev'>\n  <source dev='" + xml_escape(d.path) + "'";
    if (d.kind == InputKind::keyboard) {
      xml += " grab='all' grabToggle='" + xml_escape(grab_toggle) + "' repeat='on'";
    }
    xml += "/>\n</input>\n";
  }
  return xml;
}

std::vector<std::string> qemu_evdev_args(const std::vector<InputDevice>& devices, std::string_view grab_toggle) {
  std::vector<std::string> args;
  int keyboards = 0, mice = 0;
  for (const auto& d : devices) {
    if (!d.event) continue;
    std::string obj;
    if (d.kind == InputKind::keyboard) {
      obj = "input-linux,id=kbd" + std::to_string(++keyboards) + ",evdev=" + qemu_escape(d.path) +
            ",grab_all=on,repeat=on";
      if (grab_toggle != grab_toggle_keys().front()) obj += ",grab-toggle=" + std::string(grab_toggle);
    } else {
      obj = "input-linux,id=mouse" + std::to_string(++mice) + ",evdev=" + qemu_escape(d.path);
    }
    args.push_back("-object");
    args.push_back(std::move(obj));
  }
  return args;
}

}  // namespace vfioctl
