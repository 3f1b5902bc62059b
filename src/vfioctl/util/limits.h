// Every bound vfioctl puts on its input, in one place. A spec, a domain XML,
// a state file and a --root tree are untrusted: each reader checks its bound
// before any recursive or quadratic work, and refuses (exit 2) or degrades to
// "unknown" with a note, naming the file and the limit. docs/limits.md gives
// each number's reason; tests/unit/limits_test.cpp checks each one.
#pragma once

#include <cstddef>

namespace vfioctl::limits {

// Files a user names on the command line.
inline constexpr size_t kSpecBytes = 1 << 20;        // a guest spec (examples are < 4 KiB)
inline constexpr size_t kDomainXmlBytes = 10 << 20;  // a domain XML: virsh's own limit for XML files

// TOML (guest specs): parts of one dotted key ("a.b.c" has 3), and the
// nesting of tables and arrays. The deepest spec key has 2 parts.
inline constexpr int kTomlKeyParts = 16;
inline constexpr int kTomlDepth = 32;

// XML: element nesting, as libxml2 (libvirt's parser) allows without
// XML_PARSE_HUGE: its xmlParserMaxDepth of 256 counts the levels below the
// document element, so 257 elements nest and 258 are refused. A domain XML
// nests about 6 deep.
inline constexpr int kXmlDepth = 257;

// JSON written by vfioctl itself (hook state, setup's journal, bind records,
// QMP replies): nesting and size. Its deepest record nests 4 deep.
inline constexpr int kJsonDepth = 32;
inline constexpr size_t kJsonBytes = 16 << 20;

// A file read from a host tree (sysfs, procfs, /etc): more than this is not a
// host fact but a crafted root; the reader records "unknown" and a note.
// /proc/cpuinfo of a 1,024-CPU host is about 1.5 MiB.
inline constexpr size_t kHostFileBytes = 8 << 20;
// A sysfs attribute is produced by the kernel in one page (4 KiB on x86,
// up to 64 KiB elsewhere); a larger file under /sys is not one.
inline constexpr size_t kSysfsFileBytes = 64 << 10;

// QEMU's firmware descriptors under a host tree: files per directory, and
// the size of one (the distributions' are under 2 KiB).
inline constexpr size_t kFirmwareDescriptors = 256;
inline constexpr size_t kFirmwareDescriptorBytes = 64 << 10;

// A size in a guest spec (memory, disks): 1 PiB, more than any machine
// holds, so the planners' KiB and byte counts never overflow.
inline constexpr long long kMaxSizeMib = 1LL << 30;

// CPU and NUMA node numbers: the kernel's largest NR_CPUS (x86 MAXSMP).
inline constexpr int kMaxCpu = 8191;

// How much of a bad value an error message quotes.
inline constexpr size_t kQuoteBytes = 64;
// The longest error message; the rest is cut with a count.
inline constexpr size_t kMessageBytes = 4096;

// Guest names: libvirt's own rules plus room for the longest file name
// derived from one ("NAME.json" under /run/vfioctl/guests) within NAME_MAX.
inline constexpr size_t kGuestNameBytes = 200;

}  // namespace vfioctl::limits
