// Facts that belong to the running session rather than to the host tree:
// who is running vfioctl, whether they may open /dev/kvm, their
// locked-memory limit, the initramfs it booted from. Known only when reading
// the live host ("/").
#pragma once

#include <optional>

#include "vfioctl/host/initramfs.h"

namespace vfioctl {

class Root;

struct Session {
  bool live = true;                // reading "/", not a snapshot or fixture
  bool root_user = false;          // effective uid 0
  std::optional<bool> kvm_usable;  // /dev/kvm opened read-write
  // RLIMIT_MEMLOCK soft limit in bytes; nullopt when unknown, -1 unlimited.
  std::optional<long long> memlock_bytes;
  // The running kernel's initramfs; listing it runs a tool, so only doctor
  // fills it (read_initramfs), not read_session.
  Initramfs initramfs;
};

Session read_session(const Root& root);

}  // namespace vfioctl
