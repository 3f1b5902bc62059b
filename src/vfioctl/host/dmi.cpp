#include "vfioctl/host/dmi.h"

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// The fields SMBIOS types 0, 1, 2 and 3 carry.
const char* const kFields[] = {
    "bios_vendor",     "bios_version",    "bios_date",       "bios_release",   "sys_vendor",
    "product_name",    "product_version", "product_serial",  "product_uuid",   "product_sku",
    "product_family",  "board_vendor",    "board_name",      "board_version",  "board_serial",
    "board_asset_tag", "chassis_vendor",  "chassis_version", "chassis_serial", "chassis_asset_tag",
};

}  // namespace

bool dmi_is_serial(const std::string& field) {
  return ends_with(field, "_serial") || field == "product_uuid" || ends_with(field, "_asset_tag");
}

Dmi read_dmi(const Root& root, Notes& notes) {
  Dmi d;
  const std::string dir = "/sys/class/dmi/id";
  if (!root.exists(dir)) return d;
  d.present = true;
  for (const char* f : kFields) {
    std::string path = dir + "/" + f;
    auto text = root.read(path);
    if (!text) {
      if (dmi_is_serial(f) && root.exists(path)) notes.push_back({path, "not readable (root only); left out"});
      continue;
    }
    std::string v(trim(*text));
    if (!v.empty()) d.fields[f] = v;
  }
  return d;
}

}  // namespace vfioctl
