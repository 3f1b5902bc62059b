// Host readiness checks (doctor): pure functions from host facts to
// findings. Nothing here reads a file; what only a live run can know (the
// caller's rights, resource limits) comes in DoctorContext.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/host.h"
#include "vfioctl/host/session.h"
#include "vfioctl/plan/finding.h"

namespace vfioctl {

// What only a live run can know (see host/session.h).
using DoctorContext = Session;

// Every host-wide check, in a stable order (H001...).
std::vector<Finding> host_checks(const Host& host, const DoctorContext& ctx);

// The checks for passing one device to a guest (H101...).
std::vector<Finding> device_checks(const Host& host, const PciDevice& dev, const DoctorContext& ctx);

}  // namespace vfioctl
