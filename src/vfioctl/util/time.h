// Timestamps vfioctl records (the setup journal, the hook's state files).
#pragma once

#include <ctime>
#include <string>

namespace vfioctl {

// A time as UTC in ISO 8601: "2026-12-07T20:11:57Z".
std::string utc_timestamp(std::time_t t);

// The current time, the same way.
std::string utc_now();

}  // namespace vfioctl
