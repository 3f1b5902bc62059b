// Keyboards and mice a guest can take over through evdev: the stable names
// udev keeps in /dev/input/by-id (*-event-kbd, *-event-mouse), the event
// node each names, and the device's own name from sysfs. Also the guest
// configuration that hands them to QEMU (libvirt XML, QEMU arguments).
#pragma once

#include <optional>
#include <string>
#include <string_view>
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

// The grabToggle values libvirt accepts (and QEMU's grab-toggle), in
// libvirt's order; the first, "ctrl-ctrl", is QEMU's default.
const std::vector<std::string>& grab_toggle_keys();

// What a user presses for a grab toggle value: "ctrl-ctrl" -> "both Ctrl keys".
std::string grab_toggle_help(std::string_view keys);

// Escapes text for an XML attribute value in single or double quotes.
std::string xml_escape(std::string_view text);

// <input type='evdev'> elements for libvirt 7.4 or later, one per device
// with a known event node: keyboards grab all devices (so the mouse follows
// the toggle) and repeat keys; mice only name their source. Each element
// ends with a newline; no devices give "".
std::string libvirt_evdev_xml(const std::vector<InputDevice>& devices, std::string_view grab_toggle);

// The same for plain QEMU, as argv items: "-object", "input-linux,id=kbd1,...".
// Commas in a path are doubled (QEMU's option escaping). grab-toggle is
// given only when it is not QEMU's default.
std::vector<std::string> qemu_evdev_args(const std::vector<InputDevice>& devices, std::string_view grab_toggle);

}  // namespace vfioctl
