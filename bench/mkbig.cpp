// Writes a large synthetic host for the benchmarks: 2 sockets x 64 cores x
// 2 threads (256 CPUs, 8 L3 domains per socket, 2 NUMA nodes) and 1,152 PCI
// functions in 704 IOMMU groups, with config space so lspci reads it too.
//
// Usage: vfioctl-mkbig OUTDIR
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "generate.h"
#include "lscpu.h"

namespace vfioctl::hostgen {
namespace {

// One 8-function endpoint kind: class and ids of real hardware, so names
// resolve through pci.ids like on a real host.
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

HostDescription big_host() {
  HostDescription d;
  d.name = "bench-big";
  d.source = "Synthetic benchmark host written by bench/mkbig.cpp (not a real machine).";
  CpuShape shape;
  shape.sockets = 2;
  shape.cores_per_socket = 64;
  shape.threads_per_core = 2;
  shape.split = true;
  shape.cores_per_l3 = 8;
  shape.numa_nodes = 2;
  d.cpu.table = build_cpu_table(shape, "mkbig");
  d.cpu.table_source = "synthetic";
  d.cpu.vendor_id = "AuthenticAMD";
  d.cpu.family = 25;
  d.cpu.model_name = "Synthetic 64-Core Processor";
  d.cpu.flags = {"svm", "pdpe1gb", "topoext"};
  d.kernel.release = "6.1.0-18-amd64";
  d.kernel.cmdline = "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p2 ro iommu=pt";
  d.memory.total_mib = 512 * 1024;
  d.iommu_units = 4;

  // Four root complexes (buses 00, 40, 80, c0), each with 32 root ports
  // (8 slots x 4 functions); behind every port one 8-function device. Even
  // ports: the device is one group; odd ports: each function its own group
  // (ACS), so there are 128 + 64 + 512 = 704 groups.
  int group = 0;
  int line = 0;
  for (unsigned rc = 0; rc < 4; ++rc) {
    unsigned root_bus = rc * 0x40;
    for (unsigned port = 0; port < 32; ++port) {
      ListedDevice bridge;
      bridge.address = {0, root_bus, 1 + port / 4, port % 4};
      bridge.group = group++;
      bridge.class_id = 0x0604;
      bridge.vendor_id = 0x1022;
      bridge.device_id = 0x1483;
      bridge.driver = "pcieport";
      bridge.line = ++line;
      d.listing.devices.push_back(bridge);
      unsigned bus = root_bus + 1 + port;
      d.pci.upstream[bus] = bridge.address;
      const Kind& kind = kKinds[(rc * 32 + port) % 4];
      int shared_group = group++;
      if (port % 2 == 1) --group;  // odd ports: groups handed out per function
      for (unsigned fn = 0; fn < 8; ++fn) {
        ListedDevice dev;
        dev.address = {0, bus, 0, fn};
        dev.group = port % 2 == 0 ? shared_group : group++;
        dev.class_id = kind.class_id;
        dev.vendor_id = kind.vendor;
        dev.device_id = kind.device;
        dev.revision = 1;
        dev.driver = kind.driver;
        dev.line = ++line;
        d.listing.devices.push_back(dev);
      }
    }
    if (rc > 0) d.pci.root_buses.push_back(root_bus);
  }
  d.listing.has_groups = true;
  d.listing.lists_drivers = true;
  return d;
}

}  // namespace
}  // namespace vfioctl::hostgen

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: vfioctl-mkbig OUTDIR\n");
    return 2;
  }
  try {
    auto desc = vfioctl::hostgen::big_host();
    vfioctl::hostgen::generate_host(desc, argv[1]);
    std::printf("%s: %zu PCI functions, %zu CPUs\n", argv[1], desc.listing.devices.size(), desc.cpu.table.rows.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vfioctl-mkbig: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
