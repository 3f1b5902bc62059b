#include "vfioctl/setup/host_edits.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/setup_plan.h"

namespace vfioctl::setup {

std::string override_script(const std::vector<PciAddress>& devices) {
  std::vector<std::string> addrs;
  for (const auto& a : devices) addrs.push_back(a.str());
  return fmt::format(
      "#!/bin/sh\n"
      "# Written by vfioctl setup: hands these devices to vfio-pci by address before\n"
      "# their host drivers load (the host keeps other devices with the same ids).\n"
      "for dev in {}; do\n"
      "  [ -e /sys/bus/pci/devices/$dev/driver_override ] && echo vfio-pci > "
      "/sys/bus/pci/devices/$dev/driver_override\n"
      "done\n"
      "exit 0\n",
      join(addrs, " "));
}

Ours read_ours(const Root& root) {
  Ours o;
  auto text = root.read(kModprobeFile);
  if (text) {
    for (auto l : split(*text, '\n')) {
      std::string_view t = trim(l);
      if (starts_with(t, "# Devices for guests:")) {
        for (auto w : split_ws(t.substr(21))) o.devices.emplace_back(w);
      }
      auto words = split_ws(t);
      if (words.size() >= 2 && words[0] == "softdep") o.softdeps.push_back(module_name(std::string(words[1])));
      if (starts_with(t, "options kvm ")) o.windows = true;
      if (starts_with(t, "options vfio_iommu_type1 allow_unsafe_interrupts=1")) o.unsafe_irq = true;
    }
  }
  if (auto script = root.read(kOverrideScript)) {
    for (auto l : split(*script, '\n')) {
      std::string_view t = trim(l);
      if (!starts_with(t, "for dev in ")) continue;
      t = t.substr(11);
      if (size_t semi = t.find(';'); semi != std::string_view::npos) t = t.substr(0, semi);
      for (auto w : split_ws(t)) {
        if (auto a = PciAddress::parse(w)) o.override_for.push_back(*a);
      }
    }
  }
  return o;
}

IdPlaces find_ids(const ModprobeConfig& mc, const std::vector<CmdlineTarget>& targets, const InitramfsModules& irm,
                  Plan& plan) {
  IdPlaces p;
  auto add = [&](std::string_view list, const std::string& where) {
    std::vector<std::string> bad;
    auto ids = split_ids(list, &bad);
    for (const auto& b : bad) {
      plan.warnings.push_back(
          fmt::format("{}: '{}' is not a vendor:device id (vfio-pci refuses it); it is left out "
                      "of the merged list",
                      where, excerpt(b)));
    }
    if (ids.empty()) return;
    p.where.push_back(fmt::format("{} ({})", join(ids, ","), where));
    p.ids = merge_ids(p.ids, ids, {});
  };
  for (const auto& l : mc.lines) {
    if (l.kind != ModprobeLine::Kind::options || l.module != "vfio_pci") continue;
    auto v = option_value(l, "ids");
    if (!v) continue;
    add(*v, l.at.str());
    if (l.ours) {
      p.ours = true;
    } else if (l.editable) {
      p.user_lines.push_back(&l);
    } else {
      plan.warnings.push_back(
          fmt::format("{} sets vfio-pci ids in a package's file, which vfioctl does not edit: its ids are kept in the "
                      "list vfioctl writes, but a later change there is not seen",
                      l.at.str()));
    }
  }
  for (const auto& t : targets) {
    for (const auto& w : t.words) {
      auto v = ids_value(w.text);
      if (!v) continue;
      add(*v, w.ours ? w.at.path + " (vfioctl's block)" : w.at.str());
      if (t.kind != CmdlineTarget::Kind::kernelstub) p.cmdline = true;
    }
  }
  for (const auto& m : irm.modules) {
    if (m.name != "vfio_pci") continue;
    for (auto w : split_ws(m.args)) {
      if (!starts_with(w, "ids=")) continue;
      p.initramfs = true;
      add(w.substr(4), m.at.str());
    }
  }
  return p;
}

// The ids= word of an options or modules line replaced by ids=LIST, or
// dropped when the list is empty; the line goes when nothing is left.
void edit_ids_word(std::string& text, const Place& at, int last_line, const std::string& word,
                   const std::vector<std::string>& ids, bool drop_empty_line) {
  if (!ids.empty() && same_ids(word.substr(word.find('=') + 1), join(ids, ","))) return;
  for (int line = at.line; line <= std::max(at.line, last_line); ++line) {
    std::optional<std::string> now;
    if (!ids.empty()) now = "ids=" + join(ids, ",");
    std::string edited = edit_words_in_lines(text, {{line, 0, word, now}});
    if (edited == text) continue;
    text = edited;
    if (!ids.empty() || !drop_empty_line) return;
    // "options vfio-pci" alone says nothing: the line goes.
    auto lines = split(text, '\n');
    if (static_cast<size_t>(line) <= lines.size()) {
      auto words = split_ws(lines[static_cast<size_t>(line) - 1]);
      if (words.size() <= 2) text = replace_lines(text, line, line, std::nullopt);
    }
    return;
  }
}
// The edits of one command line, in its file(s); returns whether the boot
// configuration changes.
bool edit_cmdline_target(Drafts& drafts, const CmdlineTarget& t, const CmdlineMerge& m, const std::string& grub_var,
                         Plan& plan) {
  // In-place word edits, grouped by file.
  std::map<std::string, std::vector<LineWordEdit>> by_file;
  std::map<std::string, std::vector<std::pair<int, std::string>>> lines_by_file;  // whole-line words
  for (const auto& e : m.edits) {
    const CmdWord& w = t.words[e.index];
    if (w.ours) continue;  // the block is written whole below
    if (w.whole_line && w.at.line > 0 && e.text) {
      lines_by_file[w.at.path].emplace_back(w.at.line, *e.text);
      continue;
    }
    if (w.at.line <= 0) {
      plan.warnings.push_back(
          fmt::format("{}: '{}' comes from a variable vfioctl does not evaluate; change it by hand to {}", w.at.path,
                      w.text, e.text.value_or("nothing")));
      continue;
    }
    by_file[w.at.path].push_back({w.at.line, w.nth, w.text, e.text});
  }
  std::vector<std::string> added;
  for (const auto& a : m.add) added.push_back(arg_str(a));
  bool changed = false;
  for (const auto& [path, edits] : by_file) {
    std::string& text = drafts.text(path, 0644, "kernel arguments");
    std::string before = text;
    text = edit_words_in_lines(text, edits);
    changed |= text != before;
  }
  for (const auto& [path, lines] : lines_by_file) {
    std::string& text = drafts.text(path, 0644, "kernel arguments");
    std::string before = text;
    for (const auto& [line, now] : lines) text = replace_lines(text, line, line, now);
    changed |= text != before;
  }
  switch (t.kind) {
    case CmdlineTarget::Kind::ostree: break;  // rpm-ostree kargs (plan_kargs), no file
    case CmdlineTarget::Kind::extlinux:
    case CmdlineTarget::Kind::grub: {
      const char* why = t.kind == CmdlineTarget::Kind::grub ? "kernel arguments for the GRUB entries"
                                                            : "kernel arguments for the extlinux entries";
      // vfioctl's block goes at the end of the file that assigns the
      // variable last, so that nothing sourced after it replaces it.
      if (!t.block_path.empty() && t.block_path != t.path) {
        std::string& old = drafts.text(t.block_path, 0644, why);
        std::string before = old;
        old = set_managed_block(old, kBlockTitle, "");
        changed |= old != before;
      }
      // The block: what it held (merged like the user's words: a repeat of
      // theirs goes, a conflict is replaced), then what is missing.
      std::vector<std::string> block;
      size_t e = 0;
      for (size_t i = 0; i < t.words.size(); ++i) {
        while (e < m.edits.size() && m.edits[e].index < i) ++e;
        bool edited = e < m.edits.size() && m.edits[e].index == i;
        if (!t.words[i].ours) continue;
        if (!edited)
          block.push_back(t.words[i].text);
        else if (m.edits[e].text)
          block.push_back(*m.edits[e].text);
      }
      block.insert(block.end(), added.begin(), added.end());
      // extlinux's modules= is a variable of its own (update-extlinux
      // writes modules=$modules): set on a line of its own.
      std::string lines_before;
      if (t.kind == CmdlineTarget::Kind::extlinux) {
        std::erase_if(block, [&](const std::string& w) {
          if (!starts_with(w, "modules=")) return false;
          lines_before += w + "\n";
          return true;
        });
      }
      std::string body = lines_before;
      if (!block.empty()) body += fmt::format("{0}=\"${{{0}}} {1}\"", grub_var, join(block, " "));
      if (!body.empty() && body.back() == '\n') body.pop_back();
      std::string& text = drafts.text(t.path, 0644, why);
      std::string before = text;
      text = set_managed_block(text, kBlockTitle, body);
      changed |= text != before;
      if (t.kind == CmdlineTarget::Kind::grub && t.path != "/etc/default/grub" && !block.empty()) {
        plan.notes.push_back(fmt::format(
            "{} sets {} after /etc/default/grub: the added arguments go in a block at its end", t.path, grub_var));
      }
      break;
    }
    case CmdlineTarget::Kind::entry:
    case CmdlineTarget::Kind::kernel_cmdline: {
      if (added.empty()) break;
      std::string& text = drafts.text(t.path, 0644,
                                      t.kind == CmdlineTarget::Kind::entry ? "kernel arguments of this boot entry"
                                                                           : "kernel arguments for kernel-install");
      std::string before = text;
      int last = 0, n = 0;
      for (auto l : split(text, '\n')) {
        ++n;
        std::string_view s = trim(l);
        if (t.kind == CmdlineTarget::Kind::entry) {
          if (starts_with(s, "options") && (s.size() == 7 || s[7] == ' ' || s[7] == '\t')) last = n;
        } else if (!s.empty() && s[0] != '#') {
          last = n;
        }
      }
      if (last > 0) {
        text = append_to_line(text, last, join(added, " "));
      } else {
        if (!text.empty() && text.back() != '\n') text += '\n';
        text += (t.kind == CmdlineTarget::Kind::entry ? "options " : "") + join(added, " ") + "\n";
      }
      changed |= text != before;
      break;
    }
    case CmdlineTarget::Kind::kernelstub: {
      if (m.empty()) break;
      std::vector<std::string> words = apply_merge(t.words, m);
      plan.warnings.push_back(fmt::format(
          "{} holds the options kernelstub writes into the boot entries at every kernel update, and vfioctl does "
          "not edit it: run  kernelstub -o \"{}\"  so that the next update keeps these arguments",
          t.path, join(words, " ")));
      break;
    }
  }
  return changed;
}

// modprobe's softdep for a driver: vfio-pci in the first softdep line for
// it (modprobe uses only the first), in that line when the user has one.
void plan_softdeps(Drafts& drafts, const ModprobeConfig& mc, const std::vector<std::string>& wanted,
                   std::vector<std::string>& ours, Plan& plan) {
  for (const auto& d : wanted) {
    const ModprobeLine* first = nullptr;
    for (const auto& l : mc.lines) {
      if (l.kind == ModprobeLine::Kind::softdep && l.module == d && !l.ours) {
        first = &l;
        break;
      }
    }
    if (!first) {
      ours.push_back(d);
      continue;
    }
    bool pre = false, has = false;
    for (const auto& a : first->args) {
      if (a == "pre:") pre = true;
      if (a == "post:") pre = false;
      if (pre && module_name(a) == "vfio_pci") has = true;
    }
    if (has) {
      plan.notes.push_back(fmt::format("{}: softdep {} loads vfio-pci first already; kept", first->at.str(), d));
      continue;
    }
    if (!first->editable) {
      plan.warnings.push_back(
          fmt::format("{}: a package's softdep for {} comes first and lacks vfio-pci; modprobe "
                      "ignores later softdeps for {}, so vfio-pci may load after it",
                      first->at.str(), d, d));
      continue;
    }
    std::string& text = drafts.text(first->at.path);
    bool has_pre = std::find(first->args.begin(), first->args.end(), "pre:") != first->args.end();
    if (has_pre) {
      text = edit_words_in_lines(text, {{first->at.line, 0, "pre:", std::string("pre: vfio-pci")}});
    } else {
      text = append_to_line(text, first->last_line, "pre: vfio-pci");
    }
    plan.notes.push_back(
        fmt::format("{}: softdep {} is the one modprobe uses for {}: vfio-pci added to its pre: list there",
                    first->at.str(), d, d));
  }
}

std::string modprobe_conf(const std::vector<std::string>& devices, const std::vector<std::string>& ids, bool override,
                          const std::vector<std::string>& softdeps, bool windows, bool unsafe_irq) {
  std::vector<std::string> lines;
  lines.push_back("# Written by vfioctl setup; 'vfioctl undo' restores what was here before.");
  if (!devices.empty()) lines.push_back("# Devices for guests: " + join(devices, " "));
  if (!ids.empty()) lines.push_back("options vfio-pci ids=" + join(ids, ","));
  if (override) {
    lines.push_back(fmt::format("install vfio-pci /bin/sh {}; /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS",
                                kOverrideScript));
  }
  for (const auto& d : softdeps) lines.push_back(fmt::format("softdep {} pre: vfio-pci", d));
  if (windows) lines.push_back("options kvm ignore_msrs=1 report_ignored_msrs=0");
  if (unsafe_irq) lines.push_back("options vfio_iommu_type1 allow_unsafe_interrupts=1");
  return join(lines, "\n") + "\n";
}

// The vfio modules in the initramfs, before any driver that would claim the
// devices; only what the configuration lacks is added.
void plan_initramfs(Drafts& drafts, const Host& host, const InitramfsLayout& ir, const InitramfsModules& irm,
                    const std::vector<PciAddress>& taken, const std::vector<std::string>& ids, bool ids_in_initramfs,
                    bool script, Plan& plan) {
  auto needed = vfio_modules(host);
  std::vector<std::string> competing = early_drivers();
  for (auto& d : competing_drivers(host, taken)) {
    if (std::find(competing.begin(), competing.end(), d) == competing.end()) competing.push_back(d);
  }
  std::vector<std::string> names;
  for (const auto& m : irm.modules) names.push_back(m.name);
  auto missing = missing_modules(names, needed, competing);
  if (missing.size() < needed.size() && !names.empty()) {
    std::vector<std::string> have;
    for (const auto& n : needed) {
      if (std::find(missing.begin(), missing.end(), n) == missing.end()) have.push_back(n);
    }
    plan.notes.push_back(fmt::format("the initramfs lists {} already; kept", join(have, " ")));
  }
  const std::string why = "load the vfio modules from the initramfs, before GPU drivers";
  switch (ir.kind) {
    case InitramfsLayout::Kind::initramfs_tools: {
      const std::string path = "/etc/initramfs-tools/modules";
      std::string& text = drafts.text(path, 0644, why);
      int before = 0;
      for (const auto& m : irm.modules) {
        if (std::find(competing.begin(), competing.end(), m.name) != competing.end()) {
          before = m.at.line;
          break;
        }
      }
      if (ids_in_initramfs) {
        for (const auto& m : irm.modules) {
          if (m.name != "vfio_pci") continue;
          for (auto w : split_ws(m.args)) {
            if (starts_with(w, "ids=")) edit_ids_word(text, m.at, m.at.line, std::string(w), ids, false);
          }
        }
      }
      text = set_managed_block_before(text, kBlockTitle, join(missing, "\n"), before);
      if (script) {
        std::string hook = fmt::format(
            "#!/bin/sh\n"
            "# Written by vfioctl setup: puts the driver_override script in the initramfs.\n"
            "PREREQ=\"\"\n"
            "prereqs() {{ echo \"$PREREQ\"; }}\n"
            "case \"$1\" in prereqs) prereqs; exit 0 ;; esac\n"
            ". /usr/share/initramfs-tools/hook-functions\n"
            "copy_file script {}\n",
            kOverrideScript);
        drafts.text(kInitramfsHook, 0755, "copy the driver_override script into the initramfs") = hook;
      }
      break;
    }
    case InitramfsLayout::Kind::mkinitcpio: {
      const std::string main = "/etc/mkinitcpio.conf";
      if (!missing.empty()) {
        if (!irm.array.path.empty()) {
          std::string& text = drafts.text(irm.array.path, 0644, why);
          text = edit_array_at(text, irm.array.line, [&](const std::vector<std::string>& words) {
            return order_modules(words, needed, competing);
          });
        } else {
          std::string& text = drafts.text(main, 0644, why);
          text = prepend_to_array(text, "MODULES", missing);
        }
      }
      std::string& text = drafts.text(main, 0644, why);
      if (script) {
        auto files = array_words(text, "FILES").value_or(std::vector<std::string>{});
        if (std::find(files.begin(), files.end(), kOverrideScript) == files.end()) {
          std::vector<std::string> front = {kOverrideScript};
          text = prepend_to_array(text, "FILES", front);
        }
      }
      auto hooks = array_words(text, "HOOKS");
      if (hooks && std::find(hooks->begin(), hooks->end(), "modconf") == hooks->end()) {
        plan.warnings.push_back(
            "mkinitcpio.conf HOOKS has no 'modconf': the initramfs will not read "
            "/etc/modprobe.d, so vfio-pci gets no ids there; add modconf to HOOKS");
      }
      break;
    }
    case InitramfsLayout::Kind::dracut: {
      for (const auto& m : needed) {
        if (std::find(irm.add_only.begin(), irm.add_only.end(), m) != irm.add_only.end() &&
            std::find(missing.begin(), missing.end(), m) != missing.end()) {
          plan.notes.push_back(fmt::format(
              "dracut's add_drivers has {}: that puts it in the image but loads it only when asked; force_drivers "
              "loads it first",
              m));
        }
      }
      if (missing.empty() && !script) break;  // vfioctl's file, if any, stays as it is
      std::string after =
          "# Written by vfioctl setup; 'vfioctl undo' restores what was here before.\n"
          "force_drivers+=\" " +
          join(missing, " ") + " \"\n";
      if (missing.empty()) after = "# Written by vfioctl setup; 'vfioctl undo' restores what was here before.\n";
      if (script) after += fmt::format("install_items+=\" {} \"\n", kOverrideScript);
      drafts.text(kDracutFile, 0644, why) = after;
      break;
    }
    case InitramfsLayout::Kind::mkinitfs: {
      // A feature puts files in the image; it loads nothing. vfio-pci loads
      // early through the kernel's modules= (setup_plan), and reads its ids
      // and softdeps from vfioctl.conf, which the feature carries.
      const std::string header = "# Written by vfioctl setup; 'vfioctl undo' restores what was here before.\n";
      drafts.text(kMkinitfsModules, 0644, "put the vfio modules in the initramfs") = header + "kernel/drivers/vfio\n";
      std::string files = header + kModprobeFile + "\n";
      if (script) files += std::string(kOverrideScript) + "\n";
      drafts.text(kMkinitfsFiles, 0644, "put vfio-pci's options in the initramfs") = files;
      const std::string conf = "/etc/mkinitfs/mkinitfs.conf";
      std::string& text = drafts.text(conf, 0644, "add vfioctl's feature to the initramfs");
      int line = 0;
      if (shell_value(text, "features", &line)) {
        text = edit_array_at(text, line, [&](const std::vector<std::string>& words) {
          std::vector<std::string> out = words;
          if (std::find(out.begin(), out.end(), kMkinitfsFeature) == out.end()) out.push_back(kMkinitfsFeature);
          return out;
        });
      } else {
        // Without the line mkinitfs uses its own defaults, which a new line
        // would replace: the host's feature list is the user's to write.
        throw Error(ExitCode::refused,
                    fmt::format("{} has no features= line, so mkinitfs uses its defaults and vfioctl cannot add its "
                                "feature without replacing them. Write the line with the features this host boots "
                                "with (Alpine's installer writes e.g. features=\"ata base ide scsi usb virtio ext4\"), "
                                "then run setup again",
                                conf));
      }
      break;
    }
    case InitramfsLayout::Kind::none: break;
  }
}

}  // namespace vfioctl::setup
