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

// Writes the host root for `desc` at `out`, replacing a tree already there
// in one step (rename): the tree is written beside `out` first, so an
// interrupted run leaves the old tree or none, never half of one (and the
// next run removes what the interrupted one left). A tree that would come
// out the same is left as it is, only its README.md touched (the build's
// stamp), so tests reading it meanwhile are not disturbed.
void replace_host(const HostDescription& desc, const std::filesystem::path& out);

// Writes a Make-style dependency file: `target` depends on `inputs`.
void write_depfile(const std::filesystem::path& depfile, const std::filesystem::path& target,
                   const std::vector<std::filesystem::path>& inputs);

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
