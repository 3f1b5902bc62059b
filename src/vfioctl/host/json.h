// JSON forms of host facts (documented in docs/json.md). Fields are only
// ever added, never renamed or removed; unknown values are null.
#pragma once

#include <nlohmann/json.hpp>

#include "vfioctl/host/host.h"

namespace vfioctl {

nlohmann::json to_json(const PciDevice& dev);
nlohmann::json to_json(const CpuTopology& topo);
nlohmann::json to_json(const Memory& mem);
nlohmann::json to_json(const Kernel& kernel);
nlohmann::json to_json(const Platform& platform);
nlohmann::json to_json(const Notes& notes);

}  // namespace vfioctl
