// Turns a host description into a host root directory laid out like '/'.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "description.h"
#include "tree_writer.h"

namespace vfioctl::hostgen {

// Writes the whole host root for `desc` into `out` (created; must be empty
// or absent). Deterministic: the same description gives the same bytes.
void generate_host(const HostDescription& desc, const std::filesystem::path& out);

// The parts, each writing its own area of the tree.
void write_pci(const HostDescription& desc, const TreeWriter& w);
void write_cpus(const HostDescription& desc, const TreeWriter& w);
void write_memory(const HostDescription& desc, const TreeWriter& w);
void write_kernel(const HostDescription& desc, const TreeWriter& w);
void write_cpuinfo(const HostDescription& desc, const TreeWriter& w);
void write_readme(const HostDescription& desc, const TreeWriter& w);

// Loaded modules: the description's plus the modules of drivers in use, sorted.
std::vector<std::string> loaded_modules(const HostDescription& desc);

// Kernel cpumask text ("ff", "ffffffff,00000001") of `cpus` for a system
// of `nbits` possible CPUs.
std::string cpumask(const std::vector<int>& cpus, int nbits);

}  // namespace vfioctl::hostgen
