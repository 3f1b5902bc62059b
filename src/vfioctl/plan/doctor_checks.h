// Inside doctor (doctor.h is the interface): the checks' shared state. The
// host-wide checks are in doctor_host.cpp, the per-device ones and the entry
// points in doctor.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vfioctl/plan/doctor.h"

namespace vfioctl::doctor_detail {

struct Checks {
  const Host& host;
  const DoctorContext& ctx;
  std::vector<Finding> out;
  std::string section;

  Finding& add(const char* id, const char* title, Severity sev, std::string message, std::string why,
               std::string fix = {}, std::string where = {}) {
    out.push_back({id, title, sev, std::move(message), std::move(why), std::move(fix), std::move(where), section});
    return out.back();
  }

  bool intel() const { return host.platform.vendor == CpuVendor::intel; }
  bool amd() const { return host.platform.vendor == CpuVendor::amd; }
  bool iommu_on() const { return !host.platform.iommu_units.empty() && !host.groups.empty(); }
  std::string family() const { return host.system.distro.family(); }

  std::string version(const std::string& package) const {
    auto it = host.system.packages.find(package);
    return it == host.system.packages.end() ? "" : " (" + package + " " + it->second + ")";
  }

  // The host-wide checks (doctor_host.cpp), each filling its section.
  void virtualization();
  void iommu();
  void kernel_options();
  void memory_and_cpu();
  void isolation();
  void memlock();
  void governor();
  // What day-one guests use: vhost-net for virtio NICs, nested KVM for
  // guests that run their own (nested = true).
  void guest_features();
  void software();
};

}  // namespace vfioctl::doctor_detail
