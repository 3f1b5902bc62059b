// The file edits of a setup plan, apart from the request: each file read
// once and edited in steps (Drafts), vfioctl's own files from earlier runs
// (Ours), where the host keeps vfio-pci's ids (IdPlaces), and the edits of
// command lines, modprobe.d and the initramfs configuration. Used by
// setup_plan.cpp only; docs/setup.md gives the rules.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/setup/change.h"
#include "vfioctl/setup/current.h"
#include "vfioctl/setup/layout.h"
#include "vfioctl/setup/merge.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

inline constexpr const char* kModprobeFile = "/etc/modprobe.d/vfioctl.conf";
inline constexpr const char* kOverrideScript = "/etc/vfioctl/vfio-override.sh";
inline constexpr const char* kInitramfsHook = "/etc/initramfs-tools/hooks/vfioctl";
inline constexpr const char* kDracutFile = "/etc/dracut.conf.d/vfioctl.conf";
// Alpine's mkinitfs: vfioctl's feature, named in features= of mkinitfs.conf.
inline constexpr const char* kMkinitfsFeature = "vfioctl";
inline constexpr const char* kMkinitfsModules = "/etc/mkinitfs/features.d/vfioctl.modules";
inline constexpr const char* kMkinitfsFiles = "/etc/mkinitfs/features.d/vfioctl.files";
inline constexpr const char* kBlockTitle = "managed by vfioctl setup; 'vfioctl undo' restores the file";

// Draft contents of the files a plan edits: each read once through Root,
// edited in steps, recorded in the plan in the order first touched.
class Drafts {
 public:
  explicit Drafts(const Root& root) : m_root(root) {}

  std::string& text(const std::string& path, mode_t mode = 0644, const std::string& why = "") {
    auto it = m_files.find(path);
    if (it == m_files.end()) {
      Draft d;
      d.before = m_root.read(path);
      // A file with a NUL byte is not a text file: vfioctl edits none.
      if (d.before && d.before->find('\0') != std::string::npos) {
        throw Error(ExitCode::bad_input, path +
                                             ": holds a NUL byte, so it is not a text file; vfioctl does not edit it. "
                                             "Restore the file (or remove the byte), then run setup again");
      }
      d.after = d.before.value_or("");
      d.mode = mode;
      it = m_files.emplace(path, std::move(d)).first;
      m_order.push_back(path);
    }
    if (!why.empty() && it->second.why.empty()) it->second.why = why;
    return it->second.after;
  }
  bool changed(const std::string& path) const {
    auto it = m_files.find(path);
    return it != m_files.end() && it->second.before != it->second.after;
  }
  bool changed_under(std::string_view prefix) const {
    for (const auto& [path, d] : m_files) {
      if (starts_with(path, prefix) && d.before != d.after) return true;
    }
    return false;
  }
  void into(Plan& plan) const {
    for (const auto& path : m_order) {
      const Draft& d = m_files.at(path);
      if (!d.before && d.after.empty()) continue;
      FileChange c;
      c.path = path;
      c.before = d.before;
      c.after = d.after;
      c.mode.mode = d.mode;
      c.why = d.why;
      plan.files.push_back(std::move(c));
    }
  }

 private:
  struct Draft {
    std::optional<std::string> before;
    std::string after;
    mode_t mode = 0644;
    std::string why;
  };
  const Root& m_root;
  std::map<std::string, Draft> m_files;
  std::vector<std::string> m_order;
};

// What vfioctl's own files hold from earlier runs: a later setup keeps it.
struct Ours {
  std::vector<std::string> devices;  // "# Devices for guests:" words
  std::vector<std::string> softdeps;
  bool windows = false, unsafe_irq = false;
  std::vector<PciAddress> override_for;
};
Ours read_ours(const Root& root);

// Where vfio-pci's ids are configured today.
struct IdPlaces {
  std::vector<std::string> ids;                 // every id found, in order, once
  std::vector<std::string> where;               // "1002:683d,1002:aab0 (/etc/modprobe.d/vfio.conf:1)"
  std::vector<const ModprobeLine*> user_lines;  // editable options lines with ids, not vfioctl's
  bool ours = false;                            // vfioctl.conf has an ids line
  bool cmdline = false;                         // a command line (or vfioctl's GRUB block) has ids
  bool initramfs = false;                       // an initramfs-tools modules line has ids
  bool any() const { return !user_lines.empty() || ours || cmdline || initramfs; }
};
IdPlaces find_ids(const ModprobeConfig& mc, const std::vector<CmdlineTarget>& targets, const InitramfsModules& irm,
                  Plan& plan);

// The ids= word of an options or modules line replaced by ids=LIST, or
// dropped when the list is empty; the line goes when nothing is left.
void edit_ids_word(std::string& text, const Place& at, int last_line, const std::string& word,
                   const std::vector<std::string>& ids, bool drop_empty_line);

// The script that sets driver_override for these addresses at boot.
std::string override_script(const std::vector<PciAddress>& devices);

// The edits of one command line, in its file(s); returns whether the boot
// configuration changes.
bool edit_cmdline_target(Drafts& drafts, const CmdlineTarget& t, const CmdlineMerge& m, const std::string& grub_var,
                         Plan& plan);

// vfio-pci in the first softdep line of each driver (modprobe uses only the
// first): in the user's line when there is one; `ours` gets the drivers
// that have none.
void plan_softdeps(Drafts& drafts, const ModprobeConfig& mc, const std::vector<std::string>& wanted,
                   std::vector<std::string>& ours, Plan& plan);

// /etc/modprobe.d/vfioctl.conf.
std::string modprobe_conf(const std::vector<std::string>& devices, const std::vector<std::string>& ids, bool override,
                          const std::vector<std::string>& softdeps, bool windows, bool unsafe_irq);

// The vfio modules in the initramfs, before any driver that would claim the
// devices; only what the configuration lacks is added.
void plan_initramfs(Drafts& drafts, const Host& host, const InitramfsLayout& ir, const InitramfsModules& irm,
                    const std::vector<PciAddress>& taken, const std::vector<std::string>& ids, bool ids_in_initramfs,
                    bool script, Plan& plan);

}  // namespace vfioctl::setup
