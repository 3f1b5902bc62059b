// Inside doctor (doctor.h is the interface): the facts the checks read and
// the check functions. The tables of checks (ids, titles, levels, reasons)
// and the entry points are in doctor.cpp, the host-wide checks in
// doctor_host.cpp, the ones comparing what is configured with what is in
// effect in doctor_drift.cpp, the per-device ones in doctor_device.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vfioctl/plan/check.h"
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

// What every host check reads: the host's facts, what only a live run can
// know, and what several checks derive from them.
struct HostFacts {
  const Host& host;
  const DoctorContext& ctx;

  bool intel() const { return host.platform.vendor == CpuVendor::intel; }
  bool amd() const { return host.platform.vendor == CpuVendor::amd; }
  bool iommu_on() const { return !host.platform.iommu_units.empty() && !host.groups.empty(); }
  std::string family() const { return host.system.distro.family(); }

  std::string version(const std::string& package) const {
    auto it = host.system.packages.find(package);
    return it == host.system.packages.end() ? "" : " (" + package + " " + it->second + ")";
  }

  // vfio-pci's ids from the kernel command line and modprobe.d, in that
  // order.
  std::vector<VfioId> vfio_ids() const;
  // Why `dev`, meant for vfio-pci by `id`, is bound to another driver, and
  // the fix: (message, fix).
  std::pair<std::string, std::string> why_not_vfio(const PciDevice& dev, const VfioId& id) const;
  // The command that rebuilds the initramfs with the host's own tool.
  std::string regenerate_initramfs() const;
};

// What a device check reads: the host's facts and the device.
struct DeviceFacts : HostFacts {
  const PciDevice& dev;
  std::string name;   // "01:00.0"
  std::string where;  // "0000:01:00.0"
};

// The one of `ids` that names `dev`, or nullptr.
const VfioId* vfio_id_for(const std::vector<VfioId>& ids, const PciDevice& dev);

using HostCheck = CheckDef<HostFacts>;
using DeviceCheck = CheckDef<DeviceFacts>;

// The tables (doctor.cpp), in id order.
const std::vector<HostCheck>& host_check_table();
const std::vector<DeviceCheck>& device_check_table();

// The host-wide checks (doctor_host.cpp).
void check_cpu_virtualization(const HostFacts& f, CheckOut& out);   // H001
void check_kvm_device(const HostFacts& f, CheckOut& out);           // H002
void check_iommu_enabled(const HostFacts& f, CheckOut& out);        // H003
void check_iommu_args(const HostFacts& f, CheckOut& out);           // H004
void check_iommu_pt(const HostFacts& f, CheckOut& out);             // H005
void check_interrupt_remapping(const HostFacts& f, CheckOut& out);  // H006
void check_vfio_modules(const HostFacts& f, CheckOut& out);         // H007
void check_acs_override(const HostFacts& f, CheckOut& out);         // H008
void check_unsafe_interrupts(const HostFacts& f, CheckOut& out);    // H009
void check_obsolete_options(const HostFacts& f, CheckOut& out);     // H010
void check_hugepages(const HostFacts& f, CheckOut& out);            // H011
void check_thp(const HostFacts& f, CheckOut& out);                  // H012
void check_isolation(const HostFacts& f, CheckOut& out);            // H013
void check_ignore_msrs(const HostFacts& f, CheckOut& out);          // H014
void check_ovmf(const HostFacts& f, CheckOut& out);                 // H015
void check_swtpm(const HostFacts& f, CheckOut& out);                // H016
void check_libvirt(const HostFacts& f, CheckOut& out);              // H017
void check_qemu(const HostFacts& f, CheckOut& out);                 // H018
void check_memlock(const HostFacts& f, CheckOut& out);              // H019
void check_governor(const HostFacts& f, CheckOut& out);             // H020
// What day-one guests use: vhost-net for virtio NICs, nested KVM for guests
// that run their own (nested = true).
void check_vhost_net(const HostFacts& f, CheckOut& out);  // H021
void check_nested(const HostFacts& f, CheckOut& out);     // H022

// What is configured and not in effect (doctor_drift.cpp).
void check_initramfs(const HostFacts& f, CheckOut& out);            // H023
void check_boot_hugepages(const HostFacts& f, CheckOut& out);       // H024
void check_isolated_cpus_exist(const HostFacts& f, CheckOut& out);  // H025
void check_blacklisted(const HostFacts& f, CheckOut& out);          // H026
void check_vfio_claims(const HostFacts& f, CheckOut& out);          // H027

// The checks for passing one device (doctor_device.cpp).
void check_iommu_group(const DeviceFacts& f, CheckOut& out);        // H101
void check_driver(const DeviceFacts& f, CheckOut& out);             // H102
void check_boot_vga(const DeviceFacts& f, CheckOut& out);           // H103
void check_reset(const DeviceFacts& f, CheckOut& out);              // H104
void check_identical_devices(const DeviceFacts& f, CheckOut& out);  // H105
void check_root_filesystem(const DeviceFacts& f, CheckOut& out);    // H106
void check_network(const DeviceFacts& f, CheckOut& out);            // H107
void check_large_bar(const DeviceFacts& f, CheckOut& out);          // H108

}  // namespace vfioctl::doctor_detail
