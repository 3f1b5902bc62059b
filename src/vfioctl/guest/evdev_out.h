// The guest configuration that hands the host's evdev keyboards and mice
// (host/input.h) to a guest: libvirt's <input type='evdev'> elements and
// QEMU's -object input-linux arguments. Used by the libvirt writer, the
// QEMU script and `vfioctl evdev`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/host/input.h"

namespace pugi {
class xml_node;
}

namespace vfioctl {

// The grabToggle values libvirt accepts (and QEMU's grab-toggle), in
// libvirt's order; the first, "ctrl-ctrl", is QEMU's default.
const std::vector<std::string>& grab_toggle_keys();

// What a user presses for a grab toggle value: "ctrl-ctrl" -> "both Ctrl keys".
std::string grab_toggle_help(std::string_view keys);

// Appends to `devices` one <input type='evdev'> (libvirt 7.4 or later) per
// device with a known event node: keyboards grab all devices (so the mouse
// follows the toggle) and repeat keys; mice only name their source.
void append_evdev_inputs(pugi::xml_node devices, const std::vector<InputDevice>& inputs, std::string_view grab_toggle);

// The same elements as text to paste into a domain's <devices>, in the
// style of libvirt's documentation (single quotes, "/>"), each ending with
// a newline; no devices give "".
std::string evdev_inputs_xml(const std::vector<InputDevice>& inputs, std::string_view grab_toggle);

// The same for plain QEMU, as argv items: "-object", "input-linux,id=kbd1,...".
// Paths are escaped for QEMU's option syntax; grab-toggle is given only
// when it is not QEMU's default.
std::vector<std::string> qemu_evdev_args(const std::vector<InputDevice>& inputs, std::string_view grab_toggle);

}  // namespace vfioctl
