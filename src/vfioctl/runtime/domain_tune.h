// What the libvirt hook needs from a domain XML (as libvirt passes it on
// stdin): the opt-in <vfioctl:tune> element in <metadata> (its contract with
// `vfioctl new` in util/tune_contract.h) and the guest's demands on the host
// (hugepages, the CPUs its vCPUs are pinned to).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/tune_contract.h"

namespace vfioctl::runtime {

struct DomainTune {
  std::string name;
  std::string uuid;
  bool opted_in = false;                  // the element is there
  std::vector<std::string> actions;       // in tune_action_names() order, no duplicates
  long long memory_kib = 0;               // <memory>
  std::optional<long long> hugepage_kib;  // page size when backed by hugepages (0 = the host default)
  std::optional<int> node;                // the one NUMA node <numatune> binds memory to, if one
  std::vector<int> vcpu_cpus;             // union of <vcpupin cpuset>, else <vcpu cpuset>
  // A guest without libvirt (`vfioctl tune`): the process its tuning
  // follows (the script that starts QEMU, then QEMU). 0: libvirt's pid file.
  pid_t process = 0;
  bool wants(const std::string& action) const;
};

// Parses the domain XML. Throws Error(bad_input) naming the domain (when
// known) and the element for XML that is not a domain, a <vfioctl:tune>
// with an unknown action, or a cpuset that is not a CPU list.
DomainTune parse_domain_tune(const std::string& xml);

// The same request for a guest that plain QEMU runs (`vfioctl tune start`),
// from command-line words: actions as "hugepages,isolate" (or spaces),
// CPUs as a list, memory and the page size as sizes ("8G", "2M"; a page
// size of "" means no hugepages, "default" the host's default size).
// Throws Error(bad_input) naming the option and what it takes.
struct TuneRequest {
  std::string name, actions, cpus, memory, hugepages;
  std::optional<int> node;
};
DomainTune tune_request(const TuneRequest& r);

}  // namespace vfioctl::runtime
