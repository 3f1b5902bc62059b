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

}  // namespace vfioctl
