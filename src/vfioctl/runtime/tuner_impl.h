// Inside the tuner (tuner.h is the interface): the work of one hook call,
// with its state files loaded. Its members live in three files:
//   tuner.cpp        logging, the state files and the shared settings;
//   tuner_pages.cpp  hugepages: the reservation and giving it back;
//   tuner_cpus.cpp   CPU isolation, the governor and IRQ affinity.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "vfioctl/runtime/tuner.h"
#include "vfioctl/util/units.h"

namespace vfioctl::runtime {

namespace tuner_detail {

using nlohmann::json;

// The CPUs of a that are not in b.
std::vector<int> minus(const std::vector<int>& a, const std::vector<int>& b);
std::string state_path(const std::string& domain);  // /run/vfioctl/guests/DOMAIN.json
std::optional<long long> read_int(HostIo& io, const std::string& path);

// A process's start time (field 22 of /proc/PID/stat) and parent, which
// tell a reused pid apart and kernel threads (children of kthreadd, pid 2).
struct ProcInfo {
  std::string start;
  long long ppid = -1;
  std::string comm;
  std::string state;  // "R", "S", ... "Z" for a process that has exited but is not reaped yet
};
std::optional<ProcInfo> proc_info(HostIo& io, const std::string& pid);

}  // namespace tuner_detail

struct Tuner::Impl {
  using json = nlohmann::json;

  HostIo& io;
  std::ostream& out;
  const TunerOptions& opt;
  std::string domain;  // for log lines
  json host;           // host.json
  std::string boot;    // this boot's id; records carry the id of the boot they describe

  Impl(HostIo& i, std::ostream& o, const TunerOptions& op);
  bool stale(const json& j) const;

  // ---- logging and state (tuner.cpp) ----
  void log(const std::string& message);
  void over_budget(const std::string& action, double took, double budget, const std::string& advice);
  void checkpoint(const std::string& name);
  json load(const std::string& path);
  // Every guest record as (domain, path): /run/vfioctl/guests, and records
  // of the earlier layout (/run/vfioctl/DOMAIN.json) not moved yet.
  std::vector<std::pair<std::string, std::string>> state_files();
  // Moves records of the earlier layout into /run/vfioctl/guests (under the lock).
  void adopt_legacy();
  void save_host();
  std::vector<int> online();
  // Union of the holders' CPUs for one action.
  std::vector<int> held(const std::string& action);
  void reconcile();
  bool running(const std::string& dom);
  // The process a guest without libvirt follows, when alive (not a zombie)
  // and still the one recorded (its start time).
  bool follows_live(const json& st);

  // ---- hugepages (tuner_pages.cpp) ----
  struct Pool {
    std::string dir;  // .../hugepages-2048kB
    bool node = false;
  };
  std::optional<long long> default_page_kib();
  Pool pool_for(long long kib, std::optional<int> node);
  long long available(const Pool& p);
  void prepare(const DomainTune& d, json& st);
  void give_back_pages(json& st);

  // ---- isolation, governor, IRQs (tuner_cpus.cpp) ----
  bool exempt(const tuner_detail::ProcInfo& p, const std::string& pid);
  std::string detect_mechanism();
  static const std::vector<std::string>& systemd_units();
  // Moves the parent cgroup's processes (except the exempt ones) into ours.
  void sweep(json& iso, const std::vector<int>& all);
  void apply_isolate(const std::vector<int>& guest);
  // Both return false when the host cgroup could not be removed (it then
  // has every CPU and stays recorded as "leftover" for recover).
  bool empty_cgroup(json& iso);
  bool restore_isolate(json& iso);
  // Moves every process of `cgroup` to `parent` and removes it, retrying
  // while they fork for up to `budget` seconds. False (with the reason in
  // *why) when it stays.
  bool drain(const std::string& cgroup, const std::string& parent, double budget, std::string* why, int* moved,
             int* passes);
  // A guest's own cgroup (place()), as its record holds it.
  void place_cgroup(json& st, pid_t pid);
  void remove_guest_cgroup(json& st);
  void apply_governor(const std::vector<int>& guest);
  void apply_irq(const std::vector<int>& guest);

 private:
  std::string m_saved;  // host.json as last written, without its time stamp
};

}  // namespace vfioctl::runtime
