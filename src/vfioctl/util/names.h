// Guest names that become file names: a libvirt domain name read by the hook
// (/run/vfioctl/guests/NAME.json, /var/log/libvirt/qemu/NAME.log). The spec's
// own rule is stricter (guest/spec.cpp: letters, digits, "_.+-", 64 bytes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

// Why `name` cannot name a guest's files, or nullopt when it can: empty, "."
// or "..", a '/' (libvirt refuses it too), a control character, or longer
// than limits::kGuestNameBytes.
inline std::optional<std::string> guest_name_problem(std::string_view name) {
  if (name.empty()) return "the guest has no name";
  if (name == "." || name == "..") return "the name '" + std::string(name) + "' is a directory's name in a path";
  if (name.size() > limits::kGuestNameBytes)
    return "the name is " + std::to_string(name.size()) + " bytes long; vfioctl names files after guests of at most " +
           std::to_string(limits::kGuestNameBytes);
  for (char c : name) {
    if (c == '/') return "the name '" + excerpt(name) + "' holds a '/'";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return "the name '" + excerpt(name) + "' holds a control character";
  }
  return std::nullopt;
}

}  // namespace vfioctl
