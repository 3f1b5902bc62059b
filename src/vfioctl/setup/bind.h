// bind / unbind: move a whole IOMMU group to vfio-pci now, and back, through
// sysfs (driver_override, unbind, drivers_probe), recording each device's
// original driver in /var/lib/vfioctl/bound.json so unbind restores it.
// Refuses devices the running host needs (the root disk's controller, the
// boot GPU with an active framebuffer, the only network interface) unless
// forced.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/atomic_file.h"

namespace vfioctl::setup {

struct SysfsWrite {
  std::string path;   // host path ("/sys/bus/pci/devices/0000:01:00.0/driver_override")
  std::string value;  // written in one write(2)
};

struct BindPlan {
  std::vector<PciAddress> devices;                           // the whole group(s), endpoints only
  std::map<PciAddress, std::optional<std::string>> drivers;  // driver before (bind) / to restore (unbind)
  bool load_vfio = false;                                    // vfio-pci is not loaded: modprobe first
  std::vector<SysfsWrite> writes;                            // in order
  std::vector<std::string> notes;
};

// Throws Error(bad_input) for a bad selector, Error(refused) for a device
// the host needs (unless `force`) or a group it cannot take.
BindPlan plan_bind(const Root& root, const Host& host, const std::vector<std::string>& selectors, bool force);
BindPlan plan_unbind(const Root& root, const Host& host, const std::vector<std::string>& selectors);

// Performs the writes and records (bind) or forgets (unbind) the original
// drivers. `attributes` writes the sysfs files.
void apply_bind(const Root& root, FileSystem& fs, const BindPlan& plan, bool bind);

// The FileSystem bind's writes go through under `root`: the real one for
// the live host; under a fixture root, where plain files stand for sysfs,
// each attribute write is appended to its file as a line (a test reads the
// sequence back), other files are written as usual.
FileSystem& bind_fs(const Root& root);

// Loads vfio-pci (modprobe vfio-pci) through `runner` when the plan asks for
// it and `root` is the live host. Error(refused) with modprobe's output when
// it fails.
void load_vfio_pci(const Root& root, CommandRunner& runner, const BindPlan& plan);

// Original drivers recorded by earlier binds.
std::map<PciAddress, std::optional<std::string>> bound_state(const Root& root);

}  // namespace vfioctl::setup
