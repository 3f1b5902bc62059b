// Memory, kernel facts, /proc/cpuinfo, the README, and the whole tree.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "generate.h"
#include "pci_tree.h"

namespace vfioctl::hostgen {

namespace fs = std::filesystem;

namespace {

bool has_flag(const CpuFacts& cpu, const std::string& flag) {
  return std::find(cpu.flags.begin(), cpu.flags.end(), flag) != cpu.flags.end();
}

std::string bracketed(const std::vector<std::string>& choices, const std::string& pick, const std::string& what) {
  if (std::find(choices.begin(), choices.end(), pick) == choices.end()) {
    throw InputError(fmt::format("[memory] {}: '{}' is not one of {}", what, pick, fmt::join(choices, ", ")));
  }
  std::string out;
  for (const auto& c : choices) out += (out.empty() ? "" : " ") + (c == pick ? "[" + c + "]" : c);
  return out + "\n";
}

void write_pool(const TreeWriter& w, const std::string& dir, long long count, bool global) {
  w.file(dir + "/nr_hugepages", fmt::format("{}\n", count));
  w.file(dir + "/free_hugepages", fmt::format("{}\n", count));
  w.file(dir + "/surplus_hugepages", "0\n");
  if (global) {
    w.file(dir + "/resv_hugepages", "0\n");
    w.file(dir + "/nr_overcommit_hugepages", "0\n");
  }
}

// Modules that use another (the "used by" column of /proc/modules).
const std::map<std::string, std::vector<std::string>> kDependsOn = {{"kvm_intel", {"kvm"}},
                                                                    {"kvm_amd", {"kvm"}},
                                                                    {"kvm", {"irqbypass"}},
                                                                    {"vfio_pci", {"vfio_pci_core"}},
                                                                    {"vfio_pci_core", {"vfio", "irqbypass"}},
                                                                    {"vfio_iommu_type1", {"vfio"}},
                                                                    {"snd_hda_intel", {"snd_hda_codec", "snd"}},
                                                                    {"snd_hda_codec", {"snd"}},
                                                                    {"nouveau", {"drm"}},
                                                                    {"amdgpu", {"drm"}},
                                                                    {"i915", {"drm"}},
                                                                    {"mgag200", {"drm"}}};

const std::map<std::string, std::string> kModulePaths = {
    {"vfio", "kernel/drivers/vfio/vfio.ko"},
    {"vfio_pci", "kernel/drivers/vfio/pci/vfio-pci.ko"},
    {"vfio_pci_core", "kernel/drivers/vfio/pci/vfio-pci-core.ko"},
    {"vfio_iommu_type1", "kernel/drivers/vfio/vfio_iommu_type1.ko"},
    {"kvm", "kernel/arch/x86/kvm/kvm.ko"},
    {"kvm_intel", "kernel/arch/x86/kvm/kvm-intel.ko"},
    {"kvm_amd", "kernel/arch/x86/kvm/kvm-amd.ko"},
    {"irqbypass", "kernel/virt/lib/irqbypass.ko"},
    {"ahci", "kernel/drivers/ata/ahci.ko"},
    {"nvme", "kernel/drivers/nvme/host/nvme.ko"},
    {"xhci_pci", "kernel/drivers/usb/host/xhci-pci.ko"},
    {"ehci_pci", "kernel/drivers/usb/host/ehci-pci.ko"}};

unsigned long long fnv(const std::string& s) {
  unsigned long long h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

std::vector<std::string> loaded_modules(const HostDescription& desc) {
  std::set<std::string> out(desc.kernel.modules.begin(), desc.kernel.modules.end());
  std::set<std::string> builtin(desc.kernel.builtin.begin(), desc.kernel.builtin.end());
  auto placed = place_devices(desc.listing, desc.pci);
  for (const auto& p : placed) {
    auto it = desc.pci.devices.find(p.dev.address);
    std::string drv = it != desc.pci.devices.end() && it->second.driver ? *it->second.driver
                      : p.dev.driver                                    ? *p.dev.driver
                                                                        : default_driver(p.dev);
    std::string mod = driver_module(drv);
    if (!mod.empty() && !builtin.count(mod)) out.insert(mod);
  }
  // Dependencies of loaded modules are loaded too.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& m : std::vector<std::string>(out.begin(), out.end())) {
      auto it = kDependsOn.find(m);
      if (it == kDependsOn.end()) continue;
      for (const auto& dep : it->second) {
        if (!builtin.count(dep) && out.insert(dep).second) grew = true;
      }
    }
  }
  return {out.begin(), out.end()};
}

void write_memory(const HostDescription& desc, const TreeWriter& w) {
  const MemoryFacts& m = desc.memory;
  bool gb = has_flag(desc.cpu, "pdpe1gb");
  if (m.hugepages_1g > 0 && !gb) throw InputError("[memory] hugepages_1g needs the CPU flag pdpe1gb");
  long long total = m.total_mib * 1024 - m.total_mib * 16;  // firmware and kernel keep ~1.5%
  long long huge = m.hugepages_2m * 2048 + m.hugepages_1g * 1048576;
  if (huge > total * 9 / 10)
    throw InputError(fmt::format("[memory] hugepages ({} MiB) exceed 90% of {} MiB", huge / 1024, m.total_mib));
  long long rest = total - huge;
  std::vector<std::pair<std::string, long long>> f = {{"MemTotal", total},
                                                      {"MemFree", rest * 6 / 10},
                                                      {"MemAvailable", rest * 8 / 10},
                                                      {"Buffers", rest / 100},
                                                      {"Cached", rest * 15 / 100},
                                                      {"SwapCached", 0},
                                                      {"Active", rest * 12 / 100},
                                                      {"Inactive", rest * 10 / 100},
                                                      {"SwapTotal", 2097148},
                                                      {"SwapFree", 2097148},
                                                      {"Dirty", 128},
                                                      {"AnonPages", rest * 8 / 100},
                                                      {"Mapped", rest * 3 / 100},
                                                      {"Shmem", rest / 100},
                                                      {"Slab", rest * 2 / 100},
                                                      {"SReclaimable", rest / 100},
                                                      {"SUnreclaim", rest / 100},
                                                      {"KernelStack", 16384},
                                                      {"PageTables", 40960},
                                                      {"CommitLimit", rest / 2 + 2097148},
                                                      {"Committed_AS", rest / 5},
                                                      {"VmallocTotal", 34359738367LL},
                                                      {"VmallocUsed", 65536},
                                                      {"AnonHugePages", 0},
                                                      {"ShmemHugePages", 0},
                                                      {"FileHugePages", 0}};
  std::string text;
  for (const auto& [k, v] : f) text += fmt::format("{:<16}{:>8} kB\n", k + ":", v);
  text += fmt::format("{:<16}{:>8}\n{:<16}{:>8}\n{:<16}{:>8}\n{:<16}{:>8}\n", "HugePages_Total:", m.hugepages_2m,
                      "HugePages_Free:", m.hugepages_2m, "HugePages_Rsvd:", 0, "HugePages_Surp:", 0);
  text += fmt::format("{:<16}{:>8} kB\n{:<16}{:>8} kB\n", "Hugepagesize:", 2048, "Hugetlb:", huge);
  text += fmt::format("{:<16}{:>8} kB\n{:<16}{:>8} kB\n", "DirectMap4k:", 524288, "DirectMap2M:", total - 524288);
  w.file("proc/meminfo", text);
  write_pool(w, "sys/kernel/mm/hugepages/hugepages-2048kB", m.hugepages_2m, true);
  if (gb) write_pool(w, "sys/kernel/mm/hugepages/hugepages-1048576kB", m.hugepages_1g, true);
  w.file("sys/kernel/mm/transparent_hugepage/enabled", bracketed({"always", "madvise", "never"}, m.thp, "thp"));
  w.file("sys/kernel/mm/transparent_hugepage/defrag",
         bracketed({"always", "defer", "defer+madvise", "madvise", "never"}, m.thp_defrag, "thp_defrag"));
  // Nodes share memory and pools evenly; node 0 takes the remainder.
  auto nodes = desc.cpu.table.nodes();
  long long n = static_cast<long long>(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto share = [&](long long v) { return v / n + (i == 0 ? v % n : 0); };
    std::string dir = fmt::format("sys/devices/system/node/node{}", nodes[i]);
    w.file(dir + "/meminfo", fmt::format("Node {0} MemTotal:       {1:>8} kB\nNode {0} MemFree:        {2:>8} kB\n"
                                         "Node {0} MemUsed:        {3:>8} kB\nNode {0} HugePages_Total: {4:>7}\n"
                                         "Node {0} HugePages_Free:  {4:>7}\nNode {0} HugePages_Surp:  {5:>7}\n",
                                         nodes[i], share(total), share(rest * 6 / 10),
                                         share(total) - share(rest * 6 / 10), share(m.hugepages_2m), 0));
    write_pool(w, dir + "/hugepages/hugepages-2048kB", share(m.hugepages_2m), false);
    if (gb) write_pool(w, dir + "/hugepages/hugepages-1048576kB", share(m.hugepages_1g), false);
  }
}

void write_kernel(const HostDescription& desc, const TreeWriter& w) {
  const KernelFacts& k = desc.kernel;
  w.file("proc/cmdline", k.cmdline + "\n");
  w.file("proc/sys/kernel/osrelease", k.release + "\n");
  auto loaded = loaded_modules(desc);
  std::string modules;
  for (const auto& m : loaded) {
    std::vector<std::string> users;
    for (const auto& u : loaded) {
      auto it = kDependsOn.find(u);
      if (it != kDependsOn.end() && std::count(it->second.begin(), it->second.end(), m)) users.push_back(u);
    }
    std::string used = users.empty() ? "-" : fmt::format("{},", fmt::join(users, ","));
    modules += fmt::format("{} {} {} {} Live 0x0000000000000000\n", m, (fnv(m) % 300 + 4) * 4096, users.size(), used);
    w.file("sys/module/" + m + "/initstate", "live\n");
  }
  w.file("proc/modules", modules);
  std::vector<std::string> builtin;
  for (const auto& b : k.builtin) {
    auto it = kModulePaths.find(b);
    builtin.push_back(it != kModulePaths.end() ? it->second : "kernel/drivers/misc/" + b + ".ko");
  }
  std::sort(builtin.begin(), builtin.end());
  w.file("lib/modules/" + k.release + "/modules.builtin",
         builtin.empty() ? "" : fmt::format("{}\n", fmt::join(builtin, "\n")));
  for (const auto& [mod, params] : k.params) {
    for (const auto& [key, value] : params) w.file(fmt::format("sys/module/{}/parameters/{}", mod, key), value + "\n");
  }
  if (k.kvm) w.file("dev/kvm", "");
}

void generate_host(const HostDescription& desc, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec)) throw InputError(out.string() + ": exists and is not empty");
  fs::create_directories(out, ec);
  if (ec) throw InputError("cannot create " + out.string() + ": " + ec.message());
  TreeWriter w(out);
  write_pci(desc, w);
  write_cpus(desc, w);
  write_memory(desc, w);
  write_kernel(desc, w);
  write_cpuinfo(desc, w);
  write_readme(desc, w);
}

}  // namespace vfioctl::hostgen
