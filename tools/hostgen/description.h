// A fixture host description (tests/hosts/src/NAME.toml), loaded and
// checked. The format is documented in tests/hosts/README.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "listing.h"
#include "lscpu.h"

namespace vfioctl::hostgen {

// Cache sizes of one core kind, KiB per instance.
struct CacheSizes {
  int l1d = 32, l1i = 32, l2 = 512, l3 = 16384;
};

struct CpuFacts {
  CpuTable table;
  std::string table_source;  // the lscpu file, or "synthetic"
  std::string vendor_id;     // GenuineIntel / AuthenticAMD
  int family = 6, model = 0, stepping = 0;
  std::string model_name;
  std::vector<std::string> flags;  // complete flag list, in order
  double base_mhz = 0;             // 0: no cpufreq/base_frequency files
  double e_base_mhz = 0;           // base frequency of E cores on hybrids
  CacheSizes cache, e_cache;
  std::vector<int> p_cpus, e_cpus;  // hybrid parts only
};

struct KernelFacts {
  std::string release;
  std::string cmdline;
  std::vector<std::string> modules;  // loaded (proc/modules), drivers in use added
  std::vector<std::string> builtin;  // modules.builtin
  std::vector<int> isolated, nohz_full;
  bool kvm = true;                                                   // dev/kvm present
  std::map<std::string, std::map<std::string, std::string>> params;  // module -> name -> value
};

struct MemoryFacts {
  long long total_mib = 16384;
  long long hugepages_2m = 0, hugepages_1g = 0;
  std::string thp = "madvise", thp_defrag = "madvise";
};

// Per-device settings from [pci.devices."BB:DD.F"].
struct DeviceFacts {
  std::optional<std::string> driver;  // "" : no driver
  std::optional<std::string> reset_method;
  std::optional<int> sriov_totalvfs, sriov_numvfs, numa_node;
  std::optional<std::pair<uint16_t, uint16_t>> subsystem;
  // The device's regions as `lspci -v` prints them ("Memory at 6000000000
  // (64-bit, prefetchable) [size=32G]", "I/O ports at 5000 [size=128]",
  // "Expansion ROM at ..."), optionally after "Region N: "; empty: the
  // defaults by class (write_pci.cpp).
  std::vector<std::string> bars;
  // BARs with the Resizable BAR capability: `resourceN_resize` is written.
  std::vector<int> resizable_bars;
};

// One region of a device, as the kernel's `resource` file has it.
struct Region {
  std::optional<int> index;  // "Region N:" in the line; else the next free one
  bool rom = false;          // "Expansion ROM at"
  bool io = false;
  bool mem64 = false;
  bool prefetch = false;
  uint64_t start = 0;  // 0: placed by the generator
  uint64_t size = 0;
};
// Parses one lspci region line (see DeviceFacts::bars); nullopt otherwise.
std::optional<Region> parse_region(std::string_view line);

struct PciFacts {
  std::optional<PciAddress> boot_vga;
  bool no_boot_vga = false;                 // boot_vga = "none": the boot GPU is not listed
  bool reset_methods = true;                // false: a kernel before 5.15 (no reset_method files)
  std::vector<unsigned> root_buses;         // besides bus 0 and buses with host bridges
  std::map<unsigned, PciAddress> upstream;  // bus -> the bridge above it
  int numa_node = -1;                       // default numa_node of every device
  std::map<unsigned, int> root_bus_nodes;   // [numa] root_buses: root bus -> node of the devices under it
  std::optional<std::pair<uint16_t, uint16_t>> subsystem;  // board default
  std::map<PciAddress, DeviceFacts> devices;
};

struct HostDescription {
  std::string name;          // file stem
  std::string source;        // README text
  std::string listing_path;  // relative to the description's directory
  Listing listing;
  CpuFacts cpu;
  KernelFacts kernel;
  MemoryFacts memory;
  PciFacts pci;
  int iommu_units = 1;
  std::vector<std::filesystem::path> inputs;  // the files read: the description, its listing, its lscpu table
};

// Loads a description and the files it names (relative to its directory).
// Throws InputError naming file:line for anything wrong.
HostDescription load_description(const std::filesystem::path& file);

// Reads a whole file; throws InputError when it cannot.
std::string read_text_file(const std::filesystem::path& file);

}  // namespace vfioctl::hostgen
