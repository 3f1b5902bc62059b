// The running kernel: release, command line, modules and their parameters.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

struct KernelArg {
  std::string key;                   // "intel_iommu", "vfio-pci.ids"
  std::optional<std::string> value;  // nullopt for a bare flag ("quiet")
};

struct Kernel {
  std::optional<std::string> release;  // "6.1.0-18-amd64"
  std::optional<std::string> cmdline;  // as in /proc/cmdline, trimmed
  std::vector<KernelArg> args;         // parsed cmdline, in order
  std::set<std::string> loaded;        // /proc/modules, names with '_'
  std::set<std::string> builtin;       // modules.builtin, names with '_'
  bool builtin_known = false;          // whether modules.builtin was readable
  // module -> parameter -> value, for the modules passthrough cares about.
  std::map<std::string, std::map<std::string, std::string>> params;

  // Last value of a kernel argument (the kernel takes the last); a bare flag
  // gives "". Module parameters match with '-' and '_' alike.
  std::optional<std::string> arg(const std::string& key) const;
  bool has_module(const std::string& name) const;  // loaded or built in
};

// A size as the kernel's memparse reads it ("1G", "2M", "2048K"; a trailing
// "B" as people write it), in KiB; nullopt when it is not one.
std::optional<long long> size_kib(std::string_view v);

// hugepages=N, or the per-node form "0:2,1:2" (the sum).
std::optional<long long> page_count(std::string_view v);

// The hugepages the command line reserves, by page size in KiB: each
// hugepages= counts for the hugepagesz= before it, or `default_kib` (the
// default_hugepagesz=, else the kernel's); the kernel ignores a second
// hugepages= without a hugepagesz= between them.
std::map<long long, long long> boot_hugepages(const Kernel& k, long long default_kib);

// The modules whose parameters are read.
const std::vector<std::string>& watched_modules();

// Splits a command line the way the kernel does (double quotes group).
std::vector<KernelArg> parse_cmdline(const std::string& cmdline);

// "vfio-pci" -> "vfio_pci".
std::string module_name(std::string name);

Kernel read_kernel(const Root& root, Notes& notes);

}  // namespace vfioctl
