// Guest firmware on the host: QEMU's firmware descriptors
// (/usr/share/qemu/firmware/*.json, overridden by /etc/qemu/firmware/ of
// the same name; QEMU's docs/interop/firmware.json), read through Root, and
// the choice of a firmware for an x86_64 q35 guest the way libvirt makes it:
// the first matching descriptor in file-name order. When no descriptor
// matches, the distributions' known file pairs. docs/rules.md (H015) has the
// rule.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

// A file a descriptor maps into a pflash chip, and its block format.
struct FirmwareFile {
  std::string path;  // a host path ("/usr/share/OVMF/OVMF_CODE_4M.fd")
  std::string format = "raw";
  bool exists = false;  // a regular file under the root (links followed inside it)
};

// One descriptor as read; only the parts the choice needs.
struct FirmwareDescriptor {
  std::string file;  // "/usr/share/qemu/firmware/60-edk2-x86_64.json"
  std::string description;
  std::vector<std::string> interfaces;  // "uefi", "bios"
  std::string device;                   // "flash", "memory", "kernel"
  std::string mode = "split";           // flash: "split", "combined", "stateless"
  FirmwareFile executable;
  std::optional<FirmwareFile> nvram_template;
  // architecture -> machine type patterns ("x86_64" -> "pc-q35-*").
  std::vector<std::pair<std::string, std::vector<std::string>>> targets;
  std::set<std::string> features;
};

// A pair of files a distribution installs, looked for when no descriptor
// matches.
struct KnownFirmware {
  std::string code, vars;
  bool secure_boot_ms = false;  // Secure Boot with Microsoft's keys enrolled in the template
  std::string distribution;     // "Debian, Ubuntu"
};

// What the host has: its descriptors in priority order, and the known pairs
// whose both files exist.
struct FirmwareCatalog {
  bool known = false;  // read from a host (false: nothing was looked for)
  std::vector<FirmwareDescriptor> descriptors;
  std::vector<KnownFirmware> present;
};

// Reads the descriptors under the root. A descriptor that is empty (it hides
// the one of the same name), too large, not JSON, or not a descriptor is
// left out; all but the empty one with a note naming the file.
FirmwareCatalog read_firmware(const Root& root, Notes& notes);

// Parses one descriptor's text; nullopt and `why` when it is not one.
std::optional<FirmwareDescriptor> parse_firmware_descriptor(const std::string& text, std::string& why);

// What the guest needs.
enum class FirmwareNeed {
  uefi,            // UEFI without Secure Boot
  uefi_secure_ms,  // UEFI Secure Boot with Microsoft's keys enrolled (needs SMM)
};

struct FirmwareChoice {
  FirmwareFile code, vars_template;
  std::string descriptor;  // the descriptor it came from; empty: a known path
  std::string description;
  // "firmware descriptor /usr/share/qemu/firmware/60-edk2-x86_64.json", or
  // "known path of Debian, Ubuntu; no firmware descriptor matched".
  std::string how() const;
};

// Pure: the firmware for an x86_64 q35 guest, or nullopt. Descriptors come
// first, in order; one matches when it offers the uefi interface on a flash
// device in split mode with an NVRAM template, runs on x86_64 q35, both
// files exist in raw or qcow2 format, it needs no confidential-computing
// setup, and its features fit: secure-boot absent for `uefi`; secure-boot,
// enrolled-keys and requires-smm for `uefi_secure_ms`. `skipped` gets, for
// each descriptor that names the wanted kind but cannot be used, why.
std::optional<FirmwareChoice> choose_firmware(const FirmwareCatalog& catalog, FirmwareNeed need,
                                              std::vector<std::string>* skipped = nullptr);

// The known pairs, for the fallback and the docs.
const std::vector<KnownFirmware>& known_firmware();

}  // namespace vfioctl
