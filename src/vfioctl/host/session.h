// Facts that belong to the running session rather than to the host tree:
// who is running vfioctl, whether they may open /dev/kvm, their
// locked-memory limit, the initramfs it booted from. Known only when reading
// the live host ("/").
#pragma once

#include <functional>
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
  // The running kernel's initramfs. Listing it runs a tool (seconds on a
  // large image), so read_session leaves it; doctor sets `list_initramfs`
  // and image() lists on first use, only when a check needs the contents.
  // Without a lister, image() is `initramfs` as set.
  std::function<Initramfs()> list_initramfs;
  const Initramfs& image() const {
    if (list_initramfs && !initramfs_listed) {
      initramfs = list_initramfs();
      initramfs_listed = true;
    }
    return initramfs;
  }
  mutable Initramfs initramfs;
  mutable bool initramfs_listed = false;
};

Session read_session(const Root& root);

}  // namespace vfioctl
