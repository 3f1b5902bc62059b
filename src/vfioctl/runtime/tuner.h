// The runtime tuning behind `vfioctl hook`: what happens on the host while a
// tuned guest runs, and how it is taken back.
//
//  prepare  reserve the hugepages the guest lacks (compacting memory first),
//           recording exactly how many were added;
//  started  keep host processes off the guest's vCPU CPUs (systemd
//           AllowedCPUs, or a cgroup v2 / v1 cpuset the host's processes move
//           into), the performance governor on those CPUs, IRQs off them;
//  release  give back exactly what was recorded.
//
// Every original value is written to /run/vfioctl/ before it changes: the
// guest's own changes to <domain>.json, the shared ones (which several
// guests may hold at once, reference-counted by holder) to host.json. The
// shared settings are always recomputed from the originals and the set of
// holders, so releasing one guest keeps the others' CPUs isolated, and
// `recover` after a crash is the same computation without the dead guests.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/host_io.h"

namespace vfioctl::runtime {

// Seconds each action may take before the hook says so in the log; the
// hugepage reservation also stops retrying when its budget is spent.
// `empty_cgroup` is how long release keeps moving processes out of the host
// cgroup (they may fork into it meanwhile) before it gives up on removing
// it, gives it every CPU and leaves the removal to `hook recover`.
struct Budgets {
  double hugepages = 10.0;
  double isolate = 2.0;
  double governor = 1.0;
  double irq = 1.0;
  double empty_cgroup = 5.0;
};

inline constexpr const char* kStateDir = "/run/vfioctl";
inline constexpr const char* kHostState = "/run/vfioctl/host.json";
// One record per guest, apart from the shared host.json: a guest may be
// called "host". Records written beside host.json (the layout before) are
// read and moved here.
inline constexpr const char* kGuestStateDir = "/run/vfioctl/guests";
// The cgroup host processes move into (cgroup v1 and v2 without systemd).
inline constexpr const char* kHostCgroup = "vfioctl.host";

struct TunerOptions {
  Budgets budgets;
  pid_t self = 0;        // this process: never moved
  std::string pause_at;  // test seam: stop at this checkpoint until killed
  // Log lines also go to libvirt's log of the guest (/var/log/libvirt/qemu/
  // NAME.log) when that directory exists; off for guests without libvirt.
  bool libvirt_log = true;
};

// One line of what a state holds, for `hook status` and `recover`.
struct StateSummary {
  std::string domain;
  std::string phase;     // "prepared", "started"
  bool running = false;  // libvirt's pid file (or the followed process) names a live process
  std::string via;       // "libvirt", or "script" (`vfioctl tune`)
  pid_t pid = 0;         // the followed process ("script"), 0 for libvirt
  std::optional<long long> hugepage_kib;
  long long pages_added = 0;
  std::string pool;  // the nr_hugepages file
  std::string cpus;  // isolated for this guest ("" none)
  std::vector<std::string> actions;
};

class Tuner {
 public:
  Tuner(HostIo& io, std::ostream& log, TunerOptions options = {});

  // Runs the hook for one libvirt event; returns the exit status for
  // libvirt (non-zero stops a starting guest). Events other than prepare,
  // started and release do nothing.
  int run(const std::string& operation, const std::string& sub_operation, const DomainTune& d);

  void prepare(const DomainTune& d);  // throws Error(refused) when the pool cannot be filled
  void started(const DomainTune& d);
  void release(const std::string& domain);

  // For a guest without libvirt (`vfioctl tune start`, the QEMU script),
  // d.process set: prepare(d), place(d.name, d.process) when it isolates,
  // started(d); when one of them fails, what was done is given back before
  // the error goes on.
  void start(const DomainTune& d);
  //
  // place() puts `pid` (the process that goes on to start QEMU) in a cgroup
  // of the guest's own beside the host's, so that it and all it starts stay
  // out of the host confinement and keep every CPU: a cpuset cgroup
  // (vfioctl.guest.NAME, cgroup v1 or v2), or under systemd a scope in
  // machine.slice. Recorded in the guest's state; release removes it.
  void place(const std::string& domain, pid_t pid);
  // The guest's tuning follows `pid` (QEMU) from now on: the guest runs
  // while that process lives; once it has gone, `recover` releases it.
  void follow(const std::string& domain, pid_t pid);
  // Waits for process `pid`, which the guest's record follows (follow()),
  // to end, then releases the guest; does nothing (false) when the record
  // is gone or follows another process by then (the guest was stopped and
  // started again meanwhile).
  bool release_when_gone(const std::string& domain, pid_t pid);

  // Guests with state that are not running any more (or all named ones).
  std::vector<StateSummary> states();
  std::vector<std::string> stale_domains();
  // Releases the stale guests, then recomputes the shared settings from
  // the originals and the guests still holding them.
  std::vector<std::string> recover(const std::vector<std::string>& domains);
  // Shared settings in force (host.json), as JSON text ("" when none).
  std::string host_state_json();
  // The host cgroup a release could not remove (processes kept forking into
  // it), which recover removes; nullopt when there is none.
  std::optional<std::string> leftover_cgroup();

 private:
  struct Impl;
  HostIo& m_io;
  std::ostream& m_log;
  TunerOptions m_opt;
};

// A kernel hex cpumask ("f,00000001") for a list of CPUs.
std::string format_cpumask(const std::vector<int>& cpus);

}  // namespace vfioctl::runtime
