// CPU lists in the kernel's text form ("0-3,8-11") and back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

// Parses "0-3,8,10-11" (whitespace and a trailing newline allowed) into a
// sorted list without duplicates. Returns nullopt on malformed text. An empty
// string is an empty list.
std::optional<std::vector<int>> parse_cpulist(std::string_view text);

// Parses a kernel hex cpumask ("ff,00000001") into a sorted CPU list.
std::optional<std::vector<int>> parse_cpumask(std::string_view text);

// Formats a list as ranges: {0,1,2,3,8} -> "0-3,8". Input need not be sorted.
std::string format_cpulist(std::vector<int> cpus);

}  // namespace vfioctl
