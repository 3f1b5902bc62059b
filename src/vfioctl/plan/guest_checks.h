// What the host must allow for one guest (`vfioctl doctor --guest`):
// findings H201-H212 from the guest's needs and the host's side of each.
// Pure: the facts come in GuestAccess and Session.
#pragma once

#include <string>
#include <vector>

#include "vfioctl/host/access.h"
#include "vfioctl/host/session.h"
#include "vfioctl/plan/check.h"
#include "vfioctl/plan/finding.h"

namespace vfioctl {

std::vector<Finding> guest_checks(const GuestNeeds& needs, const GuestAccess& access, const Session& session);

// What a guest check reads.
struct GuestFacts {
  const GuestNeeds& needs;
  const GuestAccess& access;
  const Session& session;
  std::string who;  // the account QEMU runs as; "?" when unknown
};

using GuestCheck = CheckDef<GuestFacts>;

// The checks, in id order (guest_checks.cpp).
const std::vector<GuestCheck>& guest_check_table();

}  // namespace vfioctl
