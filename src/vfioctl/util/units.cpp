#include "vfioctl/util/units.h"

#include <fmt/format.h>

#include <algorithm>

namespace vfioctl {

namespace {

const char* unit_name(Unit u, bool spelled) {
  static const char* compact[] = {"B", "K", "M", "G", "T"};
  static const char* spelled_names[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  return (spelled ? spelled_names : compact)[static_cast<int>(u)];
}

// `value` counted in `base`; signed or unsigned.
template <class Int>
std::string format_size(Int value, Unit base, const SizeStyle& s) {
  int low = std::max(static_cast<int>(s.smallest), static_cast<int>(base));
  int high = std::max(static_cast<int>(s.largest), low);
  int chosen = low;
  for (int u = high; u > low; --u) {
    // Above `base` by at most four steps of 1024: fits in 64 bits.
    Int step = static_cast<Int>(Int{1} << (10 * (u - static_cast<int>(base))));
    bool fits = s.fit == Fit::divides ? value % step == 0
                : s.fit == Fit::whole ? value >= step && value % step == 0
                                      : value >= step;
    if (fits) {
      chosen = u;
      break;
    }
  }
  Int shown = value / static_cast<Int>(Int{1} << (10 * (chosen - static_cast<int>(base))));
  const char* name = unit_name(static_cast<Unit>(chosen), s.spelled);
  return s.spelled ? fmt::format("{} {}", shown, name) : fmt::format("{}{}", shown, name);
}

}  // namespace

std::string size_text_kib(long long kib, SizeStyle style) { return format_size(kib, Unit::K, style); }

std::string size_text_mib(long long mib, SizeStyle style) { return format_size(mib, Unit::M, style); }

std::string page_name(long long page_kib) { return size_text_kib(page_kib, {.spelled = true, .fit = Fit::whole}); }

std::string size_text_bytes(uint64_t bytes, SizeStyle style) { return format_size(bytes, Unit::B, style); }

}  // namespace vfioctl
