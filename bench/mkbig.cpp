// Writes a large synthetic host for the benchmarks, in one of several shapes
// (config space in every function, so lspci reads it too):
//
//   wide    (the default) 2 sockets x 64 cores x 2 threads (256 CPUs, 8 L3
//           domains per socket, 2 NUMA nodes); 1,152 PCI functions in 704
//           IOMMU groups, one 8-function device behind each of 128 root ports
//   cpus    8 sockets x 64 cores x 2 threads (1,024 CPUs, 8 NUMA nodes);
//           576 functions (half of wide's tree)
//   deep    PCIe switches four levels deep below each of 5 root ports
//           (fan-out 2: 9 bridges between the root bus and an endpoint);
//           870 functions, every bridge and device isolated by ACS
//   groups  2,016 functions in 2,016 IOMMU groups of one function each
//           (224 root ports with an 8-function device each, all ACS)
//   sriov   8 physical functions with 128 virtual functions each (physfn and
//           virtfnN links, sriov_* attributes): 1,040 functions, every VF
//           its own group, half of them bound to vfio-pci
//
// --small writes each shape at a fraction of its size (the same structure:
// switch depth, one-function groups, 128 VFs per PF) for bench/smoke.
//
// Usage: vfioctl-mkbig [--small] [--shape NAME] OUTDIR
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>

#include "generate.h"
#include "lscpu.h"

namespace vfioctl::hostgen {
namespace {

// One endpoint kind: class and ids of real hardware, so names resolve
// through pci.ids like on a real host.
struct Kind {
  uint16_t class_id;
  uint16_t vendor;
  uint16_t device;
  const char* driver;
};

const Kind kKinds[] = {
    {0x0200, 0x8086, 0x1572, "i40e"},      // X710 10GbE
    {0x0108, 0x144d, 0xa808, "nvme"},      // Samsung 970 EVO
    {0x0300, 0x10de, 0x1b81, "nouveau"},   // GTX 1070
    {0x0c03, 0x1912, 0x0014, "xhci_hcd"},  // Renesas uPD720201
};
const Kind kRootPort = {0x0604, 0x1022, 0x1483, "pcieport"};    // AMD Starship root port
const Kind kSwitchPort = {0x0604, 0x10b5, 0x8747, "pcieport"};  // PLX PEX 8747 switch port
const Kind kVf = {0x0200, 0x8086, 0x154c, "iavf"};              // X710 virtual function

bool g_small = false;  // --small

HostDescription base(const char* shape) {
  HostDescription d;
  d.name = fmt::format("bench-{}", shape);
  d.source = fmt::format("Synthetic benchmark host ({} shape) written by bench/mkbig.cpp (not a real machine).", shape);
  d.cpu.table_source = "synthetic";
  d.cpu.vendor_id = "AuthenticAMD";
  d.cpu.family = 25;
  d.cpu.model_name = "Synthetic 64-Core Processor";
  d.cpu.flags = {"svm", "pdpe1gb", "topoext"};
  d.kernel.release = "6.1.0-18-amd64";
  d.kernel.cmdline = "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p2 ro iommu=pt";
  d.memory.total_mib = 512 * 1024;
  d.iommu_units = 4;
  d.listing.has_groups = true;
  d.listing.lists_drivers = true;
  return d;
}

void set_cpus(HostDescription& d, int sockets, int numa_nodes) {
  CpuShape shape;
  shape.sockets = sockets;
  shape.cores_per_socket = g_small ? 8 : 64;
  shape.threads_per_core = 2;
  shape.split = true;
  shape.cores_per_l3 = 8;
  shape.numa_nodes = numa_nodes;
  d.cpu.table = build_cpu_table(shape, "mkbig");
}

// Adds devices and hands out group numbers.
class Builder {
 public:
  explicit Builder(HostDescription& d) : m_d(d) {}

  int new_group() { return m_group++; }

  void add(const PciAddress& at, const Kind& kind, int group) {
    ListedDevice dev;
    dev.address = at;
    dev.group = group;
    dev.class_id = kind.class_id;
    dev.vendor_id = kind.vendor;
    dev.device_id = kind.device;
    if (kind.class_id != 0x0604) dev.revision = 1;
    dev.driver = kind.driver;
    dev.line = ++m_line;
    m_d.listing.devices.push_back(dev);
  }
  // A bridge in a group of its own, with `secondary` behind it.
  void bridge(const PciAddress& at, const Kind& kind, unsigned secondary) {
    add(at, kind, new_group());
    m_d.pci.upstream[secondary] = at;
  }
  // An 8-function device in slot 0 of `bus`: one group, or one per function.
  void device(unsigned bus, const Kind& kind, bool shared) {
    int g = shared ? new_group() : -1;
    for (unsigned fn = 0; fn < 8; ++fn) add({0, bus, 0, fn}, kind, shared ? g : new_group());
  }

 private:
  HostDescription& m_d;
  int m_group = 0;
  int m_line = 0;
};

// Root complexes at buses 00, 40, 80, c0, ... each with `ports` root ports
// (slots from 1, four functions each) and an 8-function device behind each.
// Even ports: the device is one group; odd ports: a group per function
// (ACS), or always one per function with `singletons`.
void root_ports(HostDescription& d, Builder& b, unsigned complexes, unsigned ports, bool singletons) {
  for (unsigned rc = 0; rc < complexes; ++rc) {
    unsigned root_bus = rc * 0x40;
    for (unsigned port = 0; port < ports; ++port) {
      unsigned bus = root_bus + 1 + port;
      b.bridge({0, root_bus, 1 + port / 4, port % 4}, kRootPort, bus);
      b.device(bus, kKinds[(rc * 32 + port) % 4], !singletons && port % 2 == 0);
    }
    if (rc > 0) d.pci.root_buses.push_back(root_bus);
  }
}

HostDescription wide() {
  HostDescription d = base("wide");
  d.name = "bench-big";
  set_cpus(d, 2, 2);
  Builder b(d);
  root_ports(d, b, 4, 32, false);
  return d;
}

HostDescription cpus() {
  HostDescription d = base("cpus");
  set_cpus(d, 8, 8);
  d.memory.total_mib = 4096 * 1024;
  Builder b(d);
  root_ports(d, b, g_small ? 1 : 2, g_small ? 4 : 32, false);
  return d;
}

HostDescription groups() {
  HostDescription d = base("groups");
  set_cpus(d, 2, 2);
  Builder b(d);
  root_ports(d, b, g_small ? 1 : 4, g_small ? 8 : 56, true);
  return d;
}

// A switch: its upstream port on `bus`, downstream ports on the next bus,
// and below each port another switch or, at the last level, a device.
void switch_tree(Builder& b, unsigned bus, int levels, unsigned& next_bus, unsigned& leaf) {
  unsigned inner = next_bus++;
  b.bridge({0, bus, 0, 0}, kSwitchPort, inner);
  for (unsigned port = 0; port < 2; ++port) {
    unsigned below = next_bus++;
    b.bridge({0, inner, port, 0}, kSwitchPort, below);
    if (levels > 1) {
      switch_tree(b, below, levels - 1, next_bus, leaf);
    } else {
      b.device(below, kKinds[leaf % 4], leaf % 2 == 0);
      ++leaf;
    }
  }
}

HostDescription deep() {
  HostDescription d = base("deep");
  set_cpus(d, 2, 2);
  Builder b(d);
  unsigned next_bus = 1;
  unsigned leaf = 0;
  for (unsigned port = 0; port < (g_small ? 1u : 5u); ++port) {
    unsigned bus = next_bus++;
    b.bridge({0, 0, 1 + port, 0}, kRootPort, bus);
    switch_tree(b, bus, 4, next_bus, leaf);
  }
  return d;
}

constexpr unsigned kVfsPerPf = 128;
unsigned pfs() { return g_small ? 2 : 8; }

// VF n of a PF on `bus` sits at slot 2 + n / 8, function n % 8 (the
// capability's first VF offset and stride, as X710s report them).
PciAddress vf_address(unsigned bus, unsigned n) { return {0, bus, 2 + n / 8, n % 8}; }

HostDescription sriov() {
  HostDescription d = base("sriov");
  set_cpus(d, 2, 2);
  Builder b(d);
  for (unsigned pf = 0; pf < pfs(); ++pf) {
    unsigned bus = 1 + pf;
    b.bridge({0, 0, 1 + pf / 4, pf % 4}, kRootPort, bus);
    PciAddress at{0, bus, 0, 0};
    b.add(at, kKinds[0], b.new_group());
    DeviceFacts f;
    f.sriov_totalvfs = kVfsPerPf;
    f.sriov_numvfs = kVfsPerPf;
    d.pci.devices[at] = f;
    for (unsigned n = 0; n < kVfsPerPf; ++n) {
      Kind vf = kVf;
      if (n % 2 == 1) vf.driver = "vfio-pci";
      b.add(vf_address(bus, n), vf, b.new_group());
    }
  }
  return d;
}

// The links the kernel makes between a PF and its VFs (the generator knows
// devices one at a time): VF/physfn -> PF, PF/virtfnN -> VF.
void link_vfs(const std::filesystem::path& out) {
  TreeWriter w(out);
  auto dir_of = [&](const PciAddress& a) {
    auto link = out / "sys/bus/pci/devices" / a.str();
    return std::filesystem::relative(std::filesystem::weakly_canonical(link), out).string();
  };
  for (unsigned pf = 0; pf < pfs(); ++pf) {
    std::string pf_dir = dir_of({0, 1 + pf, 0, 0});
    for (unsigned n = 0; n < kVfsPerPf; ++n) {
      std::string vf_dir = dir_of(vf_address(1 + pf, n));
      w.link(vf_dir + "/physfn", pf_dir);
      w.link(fmt::format("{}/virtfn{}", pf_dir, n), vf_dir);
    }
  }
}

}  // namespace
}  // namespace vfioctl::hostgen

int main(int argc, char** argv) {
  using namespace vfioctl::hostgen;
  std::string shape = "wide";
  int i = 1;
  if (i < argc && std::strcmp(argv[i], "--small") == 0) {
    g_small = true;
    ++i;
  }
  if (i + 1 < argc && std::strcmp(argv[i], "--shape") == 0) {
    shape = argv[i + 1];
    i += 2;
  }
  if (argc != i + 1) {
    std::fprintf(stderr, "usage: vfioctl-mkbig [--small] [--shape wide|cpus|deep|groups|sriov] OUTDIR\n");
    return 2;
  }
  try {
    HostDescription desc;
    if (shape == "wide")
      desc = wide();
    else if (shape == "cpus")
      desc = cpus();
    else if (shape == "deep")
      desc = deep();
    else if (shape == "groups")
      desc = groups();
    else if (shape == "sriov")
      desc = sriov();
    else {
      std::fprintf(stderr, "vfioctl-mkbig: unknown shape '%s' (wide, cpus, deep, groups, sriov)\n", shape.c_str());
      return 2;
    }
    generate_host(desc, argv[i]);
    if (shape == "sriov") link_vfs(argv[i]);
    std::printf("%s (%s): %zu PCI functions in %zu IOMMU groups, %zu CPUs\n", argv[i], shape.c_str(),
                desc.listing.devices.size(), desc.listing.group_ids().size(), desc.cpu.table.rows.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vfioctl-mkbig: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
