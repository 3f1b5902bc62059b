// How setup's wishes meet what the host already has: pure decisions on the
// data current.h reads, unit-tested without files.
//
// - A kernel command line holds each argument setup manages once. An
//   argument already there is left; a conflicting value (intel_iommu=off,
//   iommu=off, iommu=nopt, amd_iommu=off on AMD) is replaced in place; a
//   value the kernel does not know (amd_iommu=on, iommu=1) is kept and
//   reported; a repeat of a managed argument is dropped.
// - vfio-pci's ids are one list: what the host binds already, in its order,
//   then what the request adds, less what it removes.
// - The vfio modules load before any driver that would claim the devices.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/kernel.h"
#include "vfioctl/setup/current.h"

namespace vfioctl::setup {

struct WordEdit {
  size_t index = 0;                 // into the command line's words
  std::optional<std::string> text;  // the new word; nullopt: drop it
};

struct CmdlineMerge {
  std::vector<WordEdit> edits;     // in index order
  std::vector<KernelArg> add;      // appended, in order
  std::vector<std::string> notes;  // kept, replaced and dropped words, with where they are
  bool empty() const { return edits.empty() && add.empty(); }
};

struct CmdlineWants {
  std::vector<KernelArg> args;    // set each (ids: the whole list)
  std::vector<std::string> drop;  // keys to take out (vfio-pci.ids when the list is empty)
  bool amd = false;               // the CPU is AMD: amd_iommu=off conflicts
  bool iommu = false;             // devices are passed: report IOMMU switches the kernel ignores
};

CmdlineMerge merge_cmdline(const std::vector<CmdWord>& words, const CmdlineWants& want);

// The words after the edits and additions.
std::vector<std::string> apply_merge(const std::vector<CmdWord>& words, const CmdlineMerge& m);

// The value of a vfio-pci.ids= or vfio_pci.ids= word ("10de:1b81,..."), or
// nullopt for any other word.
std::optional<std::string> ids_value(const std::string& word);

// "10de:1b81,10de:10f0" -> its ids, lower case. Empty parts and parts that
// are not an id (vendor:device[:subvendor[:subdevice[:class[:mask]]]], hex;
// vfio-pci refuses anything else) are left out, the latter into `bad`.
std::vector<std::string> split_ids(std::string_view list, std::vector<std::string>* bad = nullptr);

// Whether two id lists hold the same ids, in any order: a list that does is
// left as written (the merged order depends on where ids were found first,
// which setup's own writes change).
bool same_ids(std::string_view a, std::string_view b);

// `have` then `add` (each once, compared without case), less `remove`.
std::vector<std::string> merge_ids(const std::vector<std::string>& have, const std::vector<std::string>& add,
                                   const std::vector<std::string>& remove);

// A module list with `needed` placed so each comes before the first of
// `competing` (or at the end when none is listed): modules already before
// it stay where they are, the others are inserted there in order (and
// taken from where they were). `changed` says whether anything moved.
std::vector<std::string> order_modules(const std::vector<std::string>& list, const std::vector<std::string>& needed,
                                       const std::vector<std::string>& competing, bool* changed = nullptr);

// The modules of `needed` the list lacks before the first of `competing`.
std::vector<std::string> missing_modules(const std::vector<std::string>& list, const std::vector<std::string>& needed,
                                         const std::vector<std::string>& competing);

// Drivers that claim GPUs and their audio, USB and NVMe functions: an
// initramfs that lists one of them loads it in list order.
const std::vector<std::string>& early_drivers();

}  // namespace vfioctl::setup
