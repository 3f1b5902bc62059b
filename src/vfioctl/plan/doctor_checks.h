// Inside doctor (doctor.h is the interface): the checks' shared state. The
// host-wide checks are in doctor_host.cpp, the ones comparing what is
// configured with what is in effect in doctor_drift.cpp, the per-device ones
// and the entry points in doctor.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vfioctl/plan/doctor.h"

namespace vfioctl::doctor_detail {

// How to add an argument to, or take one off, the kernel command line on
// this host: the file and line when the boot configuration is readable.
std::string add_kernel_arg(const Host& host, const std::string& arg);
std::string remove_kernel_arg(const Host& host, const std::string& arg);

// One id of vfio-pci's ids ("10de:1b81", or with the subsystem ids) and
// where it is configured.
struct VfioId {
  std::string text;
  std::string where;  // "the kernel command line" or "/etc/modprobe.d/vfio.conf:3"
  std::string path;   // the modprobe.d file; empty on the command line
};

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

  // vfio-pci's ids from the kernel command line and modprobe.d, in that
  // order, and the one that names `dev` (nullptr when none does).
  std::vector<VfioId> vfio_ids() const;
  static const VfioId* vfio_id_for(const std::vector<VfioId>& ids, const PciDevice& dev);
  // Why `dev`, meant for vfio-pci by `id`, is bound to another driver, and
  // the fix: (message, fix).
  std::pair<std::string, std::string> why_not_vfio(const PciDevice& dev, const VfioId& id) const;
  // The command that rebuilds the initramfs with the host's own tool.
  std::string regenerate_initramfs() const;

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
  // What is configured and not in effect (doctor_drift.cpp): H023-H027.
  void drift();
  void initramfs();
  void hugepages_configured();
  void isolation_cpus();
  void blacklisted();
  void vfio_claims();
};

}  // namespace vfioctl::doctor_detail
