#include "vfioctl/plan/mmio_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/util/units.h"

namespace vfioctl {

uint64_t pow2_at_least(uint64_t v) {
  uint64_t p = 1;
  while (p < v && p < (uint64_t{1} << 63)) p <<= 1;
  return p;
}

uint64_t prefetchable64_bytes(const PciDevice& dev) {
  uint64_t sum = 0;
  if (!dev.bars) return 0;
  for (const auto& b : *dev.bars) {
    if (!b.mem64() || !b.prefetchable()) continue;
    uint64_t s = pow2_at_least(b.size);
    sum = sum > UINT64_MAX - s ? UINT64_MAX : sum + s;
  }
  return sum;
}

std::string bytes_name(uint64_t bytes) {
  return size_text_bytes(bytes, {.largest = Unit::T, .spelled = true, .fit = Fit::whole});
}

MmioPlan plan_mmio64(const std::vector<const PciDevice*>& devices, long long guest_ram_mib) {
  MmioPlan m;
  for (const auto* d : devices) {
    uint64_t s = prefetchable64_bytes(*d);
    m.bar_bytes = m.bar_bytes > UINT64_MAX - s ? UINT64_MAX : m.bar_bytes + s;
  }
  if (m.bar_bytes == 0) return m;
  uint64_t need = m.bar_bytes > UINT64_MAX - kMmio64Reserve ? UINT64_MAX : m.bar_bytes + kMmio64Reserve;
  if (need <= kDefaultMmio64Bytes) {
    m.why = fmt::format(
        "64-bit MMIO: the passed devices' 64-bit prefetchable BARs take {}, within the firmware's default {} "
        "window",
        bytes_name(m.bar_bytes), bytes_name(kDefaultMmio64Bytes));
    return m;
  }
  m.window_bytes = std::min(pow2_at_least(need), kMaxMmio64Bytes);
  // RAM above 4 GiB ends at most at 4 GiB + RAM; the window sits above it,
  // aligned to its own size.
  uint64_t ram_top = (uint64_t{4} << 30) + static_cast<uint64_t>(guest_ram_mib > 0 ? guest_ram_mib : 0) * (1 << 20);
  uint64_t base = (ram_top + m.window_bytes - 1) / m.window_bytes * m.window_bytes;
  uint64_t top = base + m.window_bytes;
  int bits = 32;
  while (bits < 63 && (uint64_t{1} << bits) < top) ++bits;
  m.phys_bits = bits;
  m.why = fmt::format(
      "64-bit MMIO: the passed devices' 64-bit prefetchable BARs take {}, more than the firmware's default {} "
      "window: the guest gets a {} window (OVMF's X-PciMmio64Mb={}, q35's pci-hole64-size) and the host CPU's "
      "physical address width, which must reach {} bits",
      bytes_name(m.bar_bytes), bytes_name(kDefaultMmio64Bytes), bytes_name(m.window_bytes), m.window_mib(), bits);
  return m;
}

}  // namespace vfioctl
