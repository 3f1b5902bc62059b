// Sizes for people: one formatter for every "2G", "512M", "1 GiB", "4 KiB"
// vfioctl prints. Callers differ in the range of units, the spelling and
// which unit a size is written in; each says so in a SizeStyle rather than
// keeping a copy of the arithmetic.
#pragma once

#include <cstdint>
#include <string>

namespace vfioctl {

// Binary units, each 1024 of the one before.
enum class Unit { B, K, M, G, T };

// Which unit a size is written in.
enum class Fit {
  divides,  // the largest unit that divides it exactly: 1536M, 2G, and 0 in the largest unit ("0G")
  whole,    // the largest unit it is a positive whole number of: 2G, 1536M, and 0 in the smallest ("0K")
  reaches,  // the largest unit it reaches, rounded down: 1G for 1.5 GiB (page sizes, always powers of two)
};

struct SizeStyle {
  Unit smallest = Unit::B;  // never below the unit the size is counted in
  Unit largest = Unit::G;
  bool spelled = false;  // "2 GiB", "4 KiB", "100 bytes" rather than "2G", "4K", "100B"
  Fit fit = Fit::divides;
};

// A size counted in KiB or MiB: size_text_kib(2048) is "2M",
// size_text_kib(2048, {.spelled = true}) is "2 MiB".
std::string size_text_kib(long long kib, SizeStyle style = {});
std::string size_text_mib(long long mib, SizeStyle style = {});
// A page size for people: "2 MiB", "1 GiB", "64 KiB".
std::string page_name(long long page_kib);

// A count of bytes (unsigned: BAR sizes run to 2^64 - 1).
std::string size_text_bytes(uint64_t bytes, SizeStyle style = {});

}  // namespace vfioctl
