// The libvirt domain XML for a GuestPlan, with the preset's defaults
// (docs/design.md, "Guest defaults").
#pragma once

#include <string>
#include <vector>

#include "vfioctl/guest/guest_plan.h"

namespace vfioctl {

struct XmlOptions {
  // "kvm" for real guests; "qemu" (TCG) runs where /dev/kvm is missing, for
  // tests only: the CPU becomes the Intel model below (TCG cannot pass the
  // host CPU through, and only an Intel-vendor model shows SMT threads).
  std::string virt_type = "kvm";
  std::string tcg_cpu_model = "Skylake-Client";
  std::string emulator = "/usr/bin/qemu-system-x86_64";
  // Boot a kernel directly (tests): empty means boot from disk with OVMF.
  std::string kernel, initrd, cmdline;
  // Serial console to this file instead of a pty (tests read it).
  std::string serial_log;
  // The libvirt the XML is for: major * 1000000 + minor * 1000 + micro, as
  // virConnectGetLibVersion gives it. The default is Debian 12's 9.0.0.
  // Emulated NVMe disks need 11.5.0 (<controller type='nvme'>).
  unsigned long libvirt_version = 9000000;
};

// libvirt added the emulated NVMe controller and disk bus in 11.5.0.
inline constexpr unsigned long kLibvirtNvme = 11005000;

// Throws Error(bad_input) naming the spec line when the plan holds what this
// libvirt cannot describe (an NVMe disk before libvirt 11.5.0).
std::string libvirt_xml(const GuestPlan& plan, const XmlOptions& opt = {});

// The actions of the <vfioctl:tune> element for the libvirt hook: the spec's
// [tune] actions, or all of them; "hugepages" only when the memory is on
// hugepages. Empty: no element.
std::vector<std::string> tune_actions(const GuestPlan& plan);

}  // namespace vfioctl
