// The host's firmware identity (/sys/class/dmi/id), for a guest whose
// SMBIOS tables should look like the host's ([smbios] from_host).
#pragma once

#include <map>
#include <string>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

struct Dmi {
  // File name under /sys/class/dmi/id -> trimmed content, for the files
  // that exist and are readable ("sys_vendor" -> "ASUSTeK COMPUTER INC.").
  // product_serial, board_serial, chassis_serial and product_uuid are
  // readable by root only.
  std::map<std::string, std::string> fields;
  bool present = false;  // /sys/class/dmi/id exists
};

Dmi read_dmi(const Root& root, Notes& notes);

// Whether a DMI field holds a serial number or a UUID (masked unless asked).
bool dmi_is_serial(const std::string& field);

}  // namespace vfioctl
