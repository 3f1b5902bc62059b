// The setup planner: from host facts, the host's current configuration
// files and a request, the file edits and commands that prepare the host
// for passthrough. Pure apart from reading files through Root; nothing is
// written here (Transaction does that).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/setup/change.h"
#include "vfioctl/setup/layout.h"

namespace vfioctl::setup {

// What one guest needs in libvirt's qemu.conf (`setup --for SPEC.toml`).
struct QemuConfRequest {
  std::string spec;                  // the spec file, for messages
  std::vector<std::string> devices;  // device nodes for cgroup_device_acl (evdev)
  std::optional<std::string> user;   // QEMU's user: "+1000" (the sound server's owner)
  Distro distro;                     // the host's, for the package to install
};

struct SetupRequest {
  std::vector<std::string> devices;          // selectors (--device); whole groups are taken
  std::vector<std::string> remove;           // selectors or ids (--remove) the host stops passing
  std::optional<long long> hugepages_mib;    // static pool to reserve at boot
  std::optional<long long> hugepage_kib;     // its page size; nullopt: 1 GiB when possible
  std::optional<std::string> isolate;        // cpulist for isolcpus/nohz_full/rcu_nocbs
  bool windows = false;                      // kvm ignore_msrs
  bool unsafe = false;                       // allow ACS override / unsafe interrupts
  bool force = false;                        // pass a device the host needs (root disk, only NIC)
  std::optional<QemuConfRequest> qemu_conf;  // --for SPEC.toml
};

// Why the host cannot give up device `a`, or nullopt: it holds the root
// file system, or it is the host's only PCI network interface (`running`:
// also the interface with the default route, whose loss cuts a remote
// session now). setup and bind refuse such a device unless forced.
std::optional<std::string> host_needs(const Host& host, const PciAddress& a, bool running);

// The whole plan, merged with what the host's files already hold
// (current.h, merge.h): one vfio-pci id list written where it already is,
// each kernel argument once, initramfs lists gaining only what they lack.
// Throws Error(bad_input) for a bad request (unknown or
// ambiguous device, shared IOMMU group without --unsafe, isolating every
// CPU, ...), Error(refused) for a host it cannot configure safely (the root
// disk's controller, an unrecognised bootloader).
Plan plan_setup(const Root& root, const Host& host, const SetupRequest& req);

// The qemu.conf edit for one guest: a managed block with `user` and a
// cgroup_device_acl holding libvirt's defaults and the guest's devices.
// Throws Error(refused) when qemu.conf is missing or already sets those
// keys outside the block (two settings of one key: vfioctl does not pick).
void plan_qemu_conf(const Root& root, const QemuConfRequest& req, Plan& plan);

// The vfio modules this kernel has, in load order (vfio_virqfd only before
// Linux 6.2, where it merged into vfio).
std::vector<std::string> vfio_modules(const Host& host);

// The host drivers that would claim these devices before vfio-pci: their
// current drivers and the usual ones for their kind, '_' names, sorted.
std::vector<std::string> competing_drivers(const Host& host, const std::vector<PciAddress>& devices);

}  // namespace vfioctl::setup
