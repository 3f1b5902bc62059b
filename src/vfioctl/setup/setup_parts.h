// Internal to the setup planner (plan_setup() in setup_plan.h). Its parts:
//   setup_plan.cpp     the steps of one plan, in order, and the kernel
//                      arguments a request asks for
//   setup_request.cpp  the devices a request takes and those --remove gives
//                      back, and what the host needs to keep
//   setup_kargs.cpp    kernel-argument helpers: the id list, ostree's next
//                      deployment, rpm-ostree's kargs, module-list arguments
//   setup_refuse.cpp   the refusals that say what to do by hand (an unknown
//                      boot chain, NixOS)
#pragma once

#include <string>
#include <vector>

#include "vfioctl/setup/current.h"
#include "vfioctl/setup/merge.h"
#include "vfioctl/setup/setup_plan.h"

namespace vfioctl::setup {

struct Devices {
  std::vector<PciAddress> taken;
  std::vector<std::string> ids;          // vendor:device, in address order, unique
  std::vector<PciAddress> override_for;  // driver_override instead of ids
  bool split_groups = false;             // --unsafe took a group holding other devices
};

// The devices of --device, whole IOMMU groups, refused when the host needs
// them (unless --force); the ids to pass, or the addresses to bind by
// driver_override when the host keeps another device with one of the ids.
Devices resolve_devices(const Host& host, const SetupRequest& req, Plan& plan);

// What --remove takes out: ids and driver_override addresses.
struct Removal {
  std::vector<std::string> ids;
  std::vector<PciAddress> addresses;
};
Removal resolve_removal(const Host& host, const std::vector<std::string>& texts);

// The kernel arguments with vfio-pci.ids=IDS after iommu= (or last), where
// the earlier layout put it.
std::vector<KernelArg> with_ids(const std::vector<KernelArg>& args, const std::vector<std::string>& ids);

// The ostree deployment that boots next: the booted one's arguments with
// what vfioctl's applied journal entries changed since (rpm-ostree writes a
// new deployment; it boots after a restart). A second run before the restart
// then neither adds an argument again nor journals it twice.
void pending_kargs(const Root& root, CmdlineTarget& t, Plan& plan);

// The rpm-ostree kargs for an ostree target's merge: a replaced word is
// deleted and its new text appended; additions are appended.
KargsChange plan_kargs(const CmdlineTarget& t, const CmdlineMerge& m);

// A module-list argument (Alpine's modules=, dracut's rd.driver.pre=) with
// `needed` joined to what the target's words list already (every
// occurrence, in order; the merge writes the list once, in the first).
KernelArg module_list_arg(const CmdlineTarget& t, const std::string& key, const std::vector<std::string>& needed);

// What setup could not place on a host whose boot chain it does not know:
// it refuses and prints every part to do by hand.
struct ByHand {
  std::vector<std::string> looked_for;  // what was not recognised, and where vfioctl looked
  std::string cmdline;                  // kernel arguments the boot entries lack
  std::vector<std::string> modules;     // to load from the initramfs, first
};
[[noreturn]] void refuse_by_hand(const ByHand& h, const Plan& plan);

// NixOS builds /etc and the boot entries from its configuration: vfioctl
// edits neither, and says what to put in configuration.nix instead.
[[noreturn]] void refuse_nixos(const Host& host, const SetupRequest& req, const Devices& dev,
                               const std::vector<KernelArg>& args);

}  // namespace vfioctl::setup
