// What a libvirt domain asks of the host (`vfioctl doctor --guest`).
#pragma once

#include <string>

#include "vfioctl/host/access.h"

namespace vfioctl {

// Reads the devices and settings that need the host's permission. Throws
// Error(bad_input) when the text is not a domain XML.
GuestNeeds read_guest_needs(const std::string& xml);

}  // namespace vfioctl
