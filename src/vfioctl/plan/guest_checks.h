// What the host must allow for one guest (`vfioctl doctor --guest`):
// findings H201-H211 from the guest's needs and the host's side of each.
// Pure: the facts come in GuestAccess and Session.
#pragma once

#include <vector>

#include "vfioctl/host/access.h"
#include "vfioctl/host/session.h"
#include "vfioctl/plan/finding.h"

namespace vfioctl {

std::vector<Finding> guest_checks(const GuestNeeds& needs, const GuestAccess& access, const Session& session);

}  // namespace vfioctl
