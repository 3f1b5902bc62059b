// What `vfioctl tune start` checks on the host before it tunes a guest that
// plain QEMU runs, read through HostIo (so --root trees and the tests' model
// of the kernel answer the same way): the CPUs are online, and the host has
// a pool of the pages asked for.
#pragma once

#include <string>

#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/host_io.h"

namespace vfioctl::runtime {

// Error(bad_input) naming --cpus when a vCPU CPU of `d` is not online, or
// --hugepages (as the user wrote it, `hugepages`) when the host has no
// hugepage pool of that size. What cannot be read is not judged.
void check_tune_host(HostIo& io, const DomainTune& d, const std::string& hugepages);

}  // namespace vfioctl::runtime
