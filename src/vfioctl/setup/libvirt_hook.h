// The libvirt hook's file (`vfioctl hook install` / `uninstall`): libvirt
// (6.5 and later) runs every executable in /etc/libvirt/hooks/qemu.d/ for
// each QEMU guest event, after /etc/libvirt/hooks/qemu when that exists, so
// a file of our own there coexists with any hook the user already has. The
// change is a setup FileChange, applied (journaled) by setup/transaction.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/root.h"
#include "vfioctl/setup/change.h"

namespace vfioctl::setup {

// The hook script: a shell script that runs `binary hook run` with libvirt's
// arguments, marked as vfioctl's (kLibvirtHookMarker).
std::string libvirt_hook_script(const std::string& binary);

struct HookChange {
  FileChange change;               // kLibvirtHookFile, before and after (0755)
  std::vector<std::string> notes;  // what the user should know, one line each
};

// Install (`binary` given: an absolute path, else Error(bad_input)) or
// remove (nullopt) the hook file under `root`. Error(refused) when a file
// there was not written by vfioctl. change.before == change.after when
// there is nothing to do.
HookChange plan_libvirt_hook(const Root& root, const std::optional<std::string>& binary);

// Whether vfioctl's hook is in place under `root` (kLibvirtHookFile holds
// kLibvirtHookMarker).
bool libvirt_hook_installed(const Root& root);

// Whether libvirtd (or virtqemud) runs on this host; false under a --root.
bool libvirtd_running(const Root& root);

}  // namespace vfioctl::setup
