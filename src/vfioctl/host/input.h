// Keyboards and mice a guest can take over through evdev: the stable names
// udev keeps in /dev/input/by-id (*-event-kbd, *-event-mouse), the event
// node each names, and the device's own name from sysfs. The guest
// configuration that hands them over is guest/evdev_out.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

enum class InputKind { keyboard, mouse };

// "keyboard", "mouse".
const char* input_kind_name(InputKind kind);

struct InputDevice {
  std::string path;  // "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse"
  InputKind kind = InputKind::keyboard;
  std::optional<std::string> event;  // "/dev/input/event3"; nullopt when the link leads nowhere
  std::optional<std::string> name;   // "Logitech USB Receiver Mouse" (sysfs), trimmed
};

// The event keyboards and mice in /dev/input/by-id, keyboards first, then
// mice, each by path. The non-event aliases ("...-mouse" -> mouseN) are not
// evdev devices and are skipped. No /dev/input/by-id (a headless server, a
// virtual machine) gives an empty list and no note.
std::vector<InputDevice> read_input_devices(const Root& root, Notes& notes);

}  // namespace vfioctl
