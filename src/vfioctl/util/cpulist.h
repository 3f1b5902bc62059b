// CPU lists in the kernel's text form ("0-3,8-11") and back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

// Parses "0-3,8,10-11" (whitespace and a trailing newline allowed) into a
// sorted list without duplicates. Returns nullopt on malformed text or a CPU
// above limits::kMaxCpu. An empty string is an empty list. Linear in the
// text, however often ranges repeat.
std::optional<std::vector<int>> parse_cpulist(std::string_view text);

// libvirt's form of the same ("0-5,^2,8": "^N" takes one CPU out again, in
// order), as in <vcpupin cpuset>, <vcpu cpuset> and <numatune nodeset>.
// nullopt on malformed text, a number above limits::kMaxCpu, or an empty
// result (libvirt refuses an empty set).
std::optional<std::vector<int>> parse_libvirt_cpuset(std::string_view text);

// Parses a kernel hex cpumask ("ff,00000001") into a sorted CPU list.
std::optional<std::vector<int>> parse_cpumask(std::string_view text);

// Formats a list as ranges: {0,1,2,3,8} -> "0-3,8". Input need not be sorted.
std::string format_cpulist(std::vector<int> cpus);

}  // namespace vfioctl
