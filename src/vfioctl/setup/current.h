// What the host's configuration already says, before setup changes it:
// every `options`/`softdep`/`install` line for the modules setup writes in
// modprobe.d, the kernel command line of each boot target with where each
// word is written (GRUB's variables across /etc/default/grub and its
// drop-ins, loader entries, /etc/kernel/cmdline, kernelstub), and the
// initramfs module lists. Read through Root; the merge (merge.h) decides
// from these, and setup_plan turns the decisions into file edits.
// docs/setup.md describes the files and the order each tool reads them in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/modprobe.h"
#include "vfioctl/host/root.h"
#include "vfioctl/setup/layout.h"

namespace vfioctl::setup {

// modprobe.d's reader is the host's (doctor reads it too).
using vfioctl::ModprobeConfig;
using vfioctl::ModprobeLine;
using vfioctl::option_value;
using vfioctl::Place;
using vfioctl::read_modprobe;

// One word of a kernel command line and where it is written.
struct CmdWord {
  std::string text;         // "intel_iommu=on"
  Place at;                 // path and line it is written on; line 0: not editable
  int nth = 0;              // which occurrence of `text` on that line (0-based)
  bool ours = false;        // in vfioctl's managed block (GRUB), which is rewritten whole
  bool whole_line = false;  // the only word of its line (extlinux's modules=): edited by rewriting the line
};

// One kernel command line that boots: GRUB's (GRUB_CMDLINE_LINUX then
// GRUB_CMDLINE_LINUX_DEFAULT, after every file grub-mkconfig sources),
// extlinux's (modules= then default_kernel_opts), one loader entry's
// options, /etc/kernel/cmdline, kernelstub's options, or the booted ostree
// deployment's arguments (changed with rpm-ostree, not in a file).
struct CmdlineTarget {
  enum class Kind { grub, extlinux, entry, kernel_cmdline, kernelstub, ostree } kind = Kind::grub;
  std::string path;  // the file (GRUB: the file the additions go to)
  // The words in the order the kernel gets them; on GRUB, the words of
  // vfioctl's managed block (`ours`) last: they are merged like the user's,
  // so a later run keeps what an earlier one added.
  std::vector<CmdWord> words;
  std::string block_path;  // GRUB: the file holding vfioctl's block ("" when none)
  std::string describe() const;
};

// The command lines of a boot layout; `notes` gets what could not be read.
// Throws Error(bad_input) naming file and line when a GRUB assignment opens
// a quote that never closes (vfioctl would edit a file the shell cannot read).
std::vector<CmdlineTarget> read_cmdlines(const Root& root, const BootLayout& boot, std::vector<std::string>& notes);

// The modules an initramfs loads first, in order, and where each is listed.
struct ModuleWord {
  std::string name;  // '_' form
  std::string args;  // initramfs-tools: "ids=..." after the name
  Place at;
};
struct InitramfsModules {
  std::vector<ModuleWord> modules;  // effective, in load order (vfioctl's own additions left out)
  // mkinitcpio: the file and line of the MODULES=( assignment that the
  // effective list starts from ("" when none); dracut: add_drivers words.
  Place array;
  std::vector<std::string> add_only;
};
InitramfsModules read_initramfs_modules(const Root& root, const InitramfsLayout& ir);

}  // namespace vfioctl::setup
