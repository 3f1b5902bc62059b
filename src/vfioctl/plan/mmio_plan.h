// The guest's 64-bit PCI MMIO window: whether the passed devices' large
// BARs fit in what the firmware gives by default, and the window and the
// physical address width to ask for when they do not (docs/placement.md,
// "64-bit MMIO window"). Pure: the host's BARs come in, numbers go out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vfioctl/host/pci.h"

namespace vfioctl {

// OVMF's 64-bit PCI MMIO aperture when nothing sizes it: PcdPciMmio64Size
// = 0x800000000 (32 GiB) in OvmfPkg's platform descriptions, the size an
// edk2 without the dynamic window always uses and a newer one falls back to
// when it cannot trust the CPU's address width. QEMU's q35 default
// pci-hole64-size is the same 32 GiB.
inline constexpr uint64_t kDefaultMmio64Bytes = uint64_t{32} << 30;
// Kept free in the window for the emulated devices' 64-bit BARs (virtio)
// and each root port's alignment.
inline constexpr uint64_t kMmio64Reserve = uint64_t{1} << 30;

// The largest window OVMF takes from X-PciMmio64Mb: 0x1000000 MiB (16 TiB);
// it ignores a larger value.
inline constexpr uint64_t kMaxMmio64Bytes = uint64_t{1} << 44;

// The smallest power of two >= v (1 for 0); saturates at 2^63.
uint64_t pow2_at_least(uint64_t v);

// The 64-bit prefetchable memory BARs of a device, each rounded up to a
// power of two (BARs are naturally aligned, and sizes are powers of two).
uint64_t prefetchable64_bytes(const PciDevice& dev);

// "32 GiB", "256 MiB", "16 KiB".
std::string bytes_name(uint64_t bytes);

struct MmioPlan {
  uint64_t bar_bytes = 0;     // the passed devices' 64-bit prefetchable BARs
  uint64_t window_bytes = 0;  // 0: the default window holds them; else the window to ask for
  int phys_bits = 0;          // with a window: the address width that reaches its end
  std::string why;            // one line for --explain ("" without passed BARs)
  uint64_t window_mib() const { return window_bytes >> 20; }
};

// The passed devices' BARs against the default window. A window is asked
// for when they and the reserve exceed it: the power of two that holds
// both. The guest puts it above its RAM, aligned to its size: phys_bits is
// the width whose address space ends at or above that.
MmioPlan plan_mmio64(const std::vector<const PciDevice*>& devices, long long guest_ram_mib);

}  // namespace vfioctl
