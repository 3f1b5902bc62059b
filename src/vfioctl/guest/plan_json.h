// The JSON form of a guest plan (`vfioctl --json new`, docs/json.md): CPUs,
// memory, devices, disks, images, USB, network, tuning, next steps and
// warnings, with the domain XML written for it.
#pragma once

#include <ostream>
#include <string>

#include "vfioctl/guest/guest_plan.h"

namespace vfioctl {

// Streams the plan and `xml` to `out` as one JSON object (util/json_writer.h).
void write_plan_json(std::ostream& out, const GuestPlan& plan, const std::string& xml);

}  // namespace vfioctl
