// CPU plan: which host CPUs run a guest's vCPUs, its emulator and I/O
// threads, and what the host keeps. Pure: judged from the topology alone.
//
// Rules (docs/design.md, "CPU plan"): vCPUs get whole physical cores (every SMT
// sibling), never the core of CPU 0; the host keeps at least 2 cores (1 on
// hosts with 4 cores or fewer) unless a request explicitly leaves it one (a
// warning), never none; emulator and I/O threads run on host CPUs no vCPU
// uses; one L3 domain when the guest fits in one, the NUMA node of the
// passed devices, P-cores before E-cores; the guest topology mirrors the
// cores and threads it gets. When the host isolates CPUs, vCPUs go on whole
// isolated cores and the emulator and I/O threads on housekeeping ones
// (docs/placement.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/cpu.h"
#include "vfioctl/host/kernel.h"

namespace vfioctl {

// The CPUs the host keeps its own work off: isolcpus= (its flags left
// out) and nohz_full= as the command line asks and the kernel reports
// (/sys/devices/system/cpu/{isolated,nohz_full}), and isolated cgroup v2
// cpuset partitions.
struct Isolation {
  std::vector<int> cpus;             // sorted; empty: the host isolates nothing
  std::vector<std::string> sources;  // "isolcpus=2-3,6-7", "cpuset partition /sys/fs/cgroup/vm: 4-7"
  bool empty() const { return cpus.empty(); }
  std::string text() const;  // the sources, joined
};
Isolation host_isolation(const CpuTopology& topo, const Kernel& k);

// The CPU lists of isolcpus (its flags left out), nohz_full and rcu_nocbs on
// the command line, by key; arguments that are not CPU lists go to `bad`.
std::vector<std::pair<std::string, std::vector<int>>> cmdline_isolation(const Kernel& k, std::vector<std::string>& bad);

struct CpuRequest {
  int cores = 0;                 // 0: as many as the host can spare ("auto")
  int threads = 0;               // per core; 0: what the chosen cores have
  std::optional<int> near_node;  // NUMA node of the passed devices
  std::string near_why;          // which devices sit there ("01:00.0 (GPU)")
  Isolation isolation;           // the host's isolated CPUs
};

struct CpuPlan {
  int cores = 0;  // guest topology: 1 socket, `cores` x `threads`
  int threads = 1;
  std::vector<int> vcpus;     // vCPU i runs on host CPU vcpus[i]
  std::vector<int> emulator;  // host CPUs for QEMU's emulator threads
  std::vector<int> iothread;  // host CPUs for iothread 1
  std::vector<int> host;      // CPUs no vCPU uses (emulator and iothread included)
  std::optional<int> node;    // NUMA node of every vCPU, when one
  std::vector<int> l3;        // L3 domains the vCPUs use
  std::vector<std::string> warnings;
  std::vector<std::string> reasons;  // why this choice, one line each (--explain)
  int vcpu_count() const { return static_cast<int>(vcpus.size()); }
};

// Throws Error(bad_input) when the request cannot be met, naming what the
// host can give instead.
CpuPlan plan_cpus(const CpuTopology& topo, const CpuRequest& req);

// How many cores the host keeps by default.
int host_cores_to_keep(int total_cores);

}  // namespace vfioctl
