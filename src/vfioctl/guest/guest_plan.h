// GuestPlan: everything decided about a guest, from a spec and the host's
// facts. Pure: the writers (libvirt XML, QEMU script) only render it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/guest/spec.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/input.h"
#include "vfioctl/plan/cpu_plan.h"
#include "vfioctl/plan/memory_plan.h"

namespace vfioctl {

// One host PCI function given to the guest, and where it appears there.
struct PassedFunction {
  PciAddress host;
  int guest_bus = 0;        // the pcie-root-port it sits behind (its index)
  int guest_function = 0;   // functions of one host device share one guest slot
  bool multifunction = false;
  bool gpu = false;
  std::optional<std::string> romfile;
};

struct GuestPlan {
  GuestSpec spec;
  std::string name;
  CpuVendor vendor = CpuVendor::unknown;
  CpuPlan cpu;
  MemoryPlan memory;
  std::vector<PassedFunction> passed;   // by host address
  int root_ports = 0;                   // pcie-root-port controllers to create
  std::vector<InputDevice> evdev;       // with event nodes
  long long looking_glass_mib = 0;      // 0: none
  std::string gpu_vendor;               // "nvidia", "amd", "intel", or "" without a GPU
  bool windows = false;
  std::vector<std::string> warnings;
};

// Throws Error(bad_input) naming the spec's file:line when the host cannot
// meet the request (devices in shared groups, too many CPUs, too much memory).
GuestPlan plan_guest(const Host& host, const GuestSpec& spec, const std::vector<InputDevice>& inputs);

// purpose_vendor_os_arch_chipset_firmware_topology, e.g.
// "game_nvidia_win11_x64_q35_uefi_6c12t".
std::string guest_name(const GuestPlan& plan);

// Looking Glass shared memory for a resolution: w*h*4*2 + 10 MiB, rounded up
// to a power of two, in MiB.
long long looking_glass_mib(int width, int height);

}  // namespace vfioctl
