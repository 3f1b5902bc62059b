// libFuzzer target over the host readers (`read_host` through Root) and
// doctor. A scratch copy of tests/hosts/intel-desktop-z370 is made once per
// process; each input is split at "\n--8<--\n" lines and part N replaces the
// file kFiles[N] (then the link kLinks[N - kFiles.size()]: the part is the
// link's target; a part of one NUL byte removes the file or link), every
// other one keeps the fixture's content (or stays missing). The host is then
// read, judged by every doctor check (host-wide, and for the rewritten
// device and its sibling function; as a fixture and as a live session),
// given to the CPU and memory planners, and written as JSON, which must
// parse. Readers never fail on odd data: vfioctl::Error is only expected
// from the planners.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/json.h"
#include "vfioctl/host/root.h"
#include "vfioctl/plan/cpu_plan.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/plan/doctor.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_writer.h"

namespace {

namespace fs = std::filesystem;
using namespace vfioctl;
using fuzz::check;

#define GPU "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"

// The files the readers take facts from, most telling first.
const std::vector<std::string> kFiles = {
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/cmdline",
    "/sys/devices/system/cpu/online",
    "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list",
    "/sys/devices/system/cpu/cpu0/cache/index3/shared_cpu_list",
    "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
    GPU "/uevent",
    GPU "/class",
    GPU "/reset_method",
    "/proc/sys/kernel/osrelease",
    "/etc/os-release",
    "/proc/modules",
    "/sys/devices/system/cpu/isolated",
    "/sys/devices/system/cpu/cpu0/topology/core_id",
    "/sys/devices/system/cpu/cpu4/topology/physical_package_id",
    "/sys/devices/system/cpu/cpu0/topology/die_id",
    "/sys/devices/system/cpu/cpu0/cache/index3/size",
    "/sys/devices/system/cpu/cpu0/cpufreq/base_frequency",
    "/sys/devices/system/node/node0/cpulist",
    "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
    "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
    "/sys/kernel/mm/transparent_hugepage/enabled",
    GPU "/vendor",
    GPU "/device",
    GPU "/revision",
    GPU "/boot_vga",
    GPU "/numa_node",
    GPU "/subsystem_vendor",
    "/lib/modules/6.8.0-49-generic/modules.builtin",
    "/sys/module/kvm_intel/parameters/nested",
    "/proc/mounts",
    "/proc/interrupts",
    "/etc/default/grub",
    "/etc/kernel/cmdline",
};

// Links the readers follow (inside the root), the part being the target.
const std::vector<std::string> kLinks = {
    GPU "/iommu_group",
    GPU "/driver",
    "/sys/bus/pci/devices/0000:01:00.0",
};

struct Slot {
  fs::path real;
  std::optional<std::string> original;  // nullopt: missing in the fixture
  std::optional<std::string> now;
};

struct Tree {
  fs::path dir;
  std::vector<Slot> files, links;
};

Tree& tree() {
  static Tree t = [] {
    Tree r;
    r.dir = fuzz::scratch_root({std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/intel-desktop-z370"});
    for (const auto& f : kFiles) {
      Slot s;
      s.real = r.dir / f.substr(1);
      fs::create_directories(s.real.parent_path());
      s.original = s.now = fs::is_symlink(s.real) ? std::nullopt : fuzz::slurp(s.real);
      r.files.push_back(s);
    }
    for (const auto& l : kLinks) {
      Slot s;
      s.real = r.dir / l.substr(1);
      if (fs::is_symlink(s.real)) s.original = s.now = fs::read_symlink(s.real).string();
      r.links.push_back(s);
    }
    return r;
  }();
  return t;
}

void set_file(Slot& s, const std::optional<std::string>& content) {
  if (s.now == content) return;
  std::error_code ec;
  fs::remove(s.real, ec);
  if (content) std::ofstream(s.real, std::ios::binary) << *content;
  s.now = content;
}

void set_link(Slot& s, std::optional<std::string> target) {
  if (target && (target->empty() || target->find('\0') != std::string::npos || target->size() > 1024)) target.reset();
  if (s.now == target) return;
  std::error_code ec;
  fs::remove(s.real, ec);
  if (target && ::symlink(target->c_str(), s.real.c_str()) != 0) target.reset();
  s.now = target;
}

void write_host_json(JsonWriter& w, const Host& host) {
  w.begin_object();
  w.key("pci");
  w.begin_array();
  for (const auto& d : host.pci) write_json(w, d);
  w.end_array();
  write_json(w, host.cpu);
  w.key("memory");
  write_json(w, host.memory);
  w.key("kernel");
  write_json(w, host.kernel);
  w.key("platform");
  write_json(w, host.platform);
  w.key("notes");
  write_json(w, host.notes);
  w.end_object();
}

// doctor --json's form of the checks (plan/finding.h).
void write_findings(JsonWriter& w, const std::vector<Finding>& findings) {
  w.begin_array();
  for (const auto& f : findings) write_json(w, f);
  w.end_array();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  Tree& t = tree();
  auto parts = fuzz::split_parts(data, size);
  // Part i, or the fixture's own when the input has fewer parts.
  auto part = [&](size_t i, const Slot& s) -> std::optional<std::string> {
    if (i >= parts.size()) return s.original;
    if (parts[i] == std::string(1, '\0')) return std::nullopt;
    return parts[i];
  };
  for (size_t i = 0; i < t.files.size(); ++i) set_file(t.files[i], part(i, t.files[i]));
  for (size_t i = 0; i < t.links.size(); ++i) set_link(t.links[i], part(t.files.size() + i, t.links[i]));

  // libpci parses pci.ids for every read of the PCI devices, most of an
  // execution: an input that leaves the device's files alone reuses the
  // fixture's devices and groups.
  bool pci_touched = false;
  for (size_t i = 0; i < t.files.size(); ++i)
    if (kFiles[i].rfind(GPU, 0) == 0 && t.files[i].now != t.files[i].original) pci_touched = true;
  for (const auto& l : t.links)
    if (l.now != l.original) pci_touched = true;
  Root root(t.dir);
  Host host;
  if (pci_touched) {
    host = read_host(root);
  } else {
    static const Host devices = read_host(Root(t.dir), HostPart::pci);
    host = read_host(root, HostPart::cpu | HostPart::memory | HostPart::kernel | HostPart::platform | HostPart::system);
    host.pci = devices.pci;
    host.groups = devices.groups;
    host.notes.insert(host.notes.end(), devices.notes.begin(), devices.notes.end());
  }
  std::ostringstream out;
  {
    JsonWriter w(out);
    w.begin_object();
    w.key("host");
    write_host_json(w, host);
    Session fixture;
    fixture.live = false;
    Session live;
    live.kvm_usable = false;
    live.memlock_bytes = 64 * 1024;
    for (const Session* s : {&fixture, &live}) {
      std::vector<Finding> findings = host_checks(host, *s);
      // The device whose files the input rewrites, and its sibling function.
      for (const auto& dev : host.pci) {
        if (dev.address.bus != 1 || dev.address.device != 0) continue;
        auto more = device_checks(host, dev, *s);
        findings.insert(findings.end(), more.begin(), more.end());
      }
      w.key(s->live ? "live" : "fixture");
      write_findings(w, findings);
    }
    w.end_object();
    w.finish();
  }
  check(nlohmann::json::accept(out.str()));

  for (const auto& g : host.groups) (void)assess_group(host, g);
  (void)shared_ids(host);
  try {
    (void)plan_cpus(host.cpu, CpuRequest{});
  } catch (const Error&) {
  }
  try {
    MemoryRequest req;
    req.mib = 4096;
    (void)plan_memory(host.memory, host.platform, req);
  } catch (const Error&) {
  }
  return 0;
}
