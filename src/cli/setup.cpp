// vfioctl setup, undo, bind, unbind: configure the host for passthrough.
// Every command that changes the host prints what it would do and does it
// only with --apply; setup and undo go through the journal (setup/
// transaction.h), bind and unbind record the drivers they replace.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/host/host.h"
#include "vfioctl/setup/bind.h"
#include "vfioctl/setup/guest_request.h"
#include "vfioctl/setup/setup_plan.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/diff.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/shell.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

using namespace vfioctl::setup;

struct SetupOptions {
  std::vector<std::string> devices, remove;
  std::string hugepages, hugepage_size, hugepages_for, isolate, for_spec;
  bool windows = false, apply = false, regenerate = false, unsafe = false, force = false, chroot = false;
};

std::optional<long long> size_option(const std::string& text, const char* option) {
  if (text.empty()) return std::nullopt;
  auto mib = parse_size_mib(text);
  if (!mib || *mib <= 0) throw input_error(fmt::format("{} '{}': give a size like 16G or 8192M", option, text));
  return mib;
}

// Who ran vfioctl: sudo's SUDO_UID (0 when it is not a number), else this
// process's user.
long long invoking_user() {
  const char* sudo_uid = std::getenv("SUDO_UID");
  return sudo_uid && *sudo_uid ? parse_int(sudo_uid).value_or(0) : static_cast<long long>(::getuid());
}

// A --root tree is untrusted: its programs run as root (chroot) only when
// asked for by name. Whether running them now would be unasked: checked
// before anything is written.
bool unasked_chroot(const Root& root, bool chroot) {
  return !root.is_live() && !chroot && !commands_recorded();  // recorded commands never run
}

void check_regenerate(const Root& root, bool regenerate, bool chroot) {
  if (regenerate && unasked_chroot(root, chroot))
    throw input_error(fmt::format(
        "--regenerate under --root {} would run that tree's own programs as root (chroot {} ...); add --chroot "
        "if you trust it, or leave --regenerate out and run the printed commands yourself",
        root.dir().string(), root.dir().string()));
}

// Commands that are the change itself (rpm-ostree kargs) run with --apply;
// under --root, inside that tree only when asked (--chroot).
void check_commands(const Root& root, const char* what, bool chroot) {
  if (!unasked_chroot(root, chroot)) return;
  throw input_error(fmt::format(
      "{} under --root {} changes the kernel arguments with that tree's rpm-ostree (chroot {} ...); add --chroot "
      "if you trust it, or run without --apply and give the printed command yourself",
      what, root.dir().string(), root.dir().string()));
}

std::string command_line(int argc, char** argv) {
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) words.push_back(shell_quote(argv[i]));
  return join(words, " ");
}

std::string g_command_line;

void print_diff(const std::vector<FileChange>& files, std::ostream& out) {
  for (const auto& f : files) out << unified_diff(f.path, f.before, f.after);
}

// An entry's or a plan's rpm-ostree kargs, or null; with the command's argv
// for a plan.
void write_kargs(JsonWriter& w, const KargsChange& k, bool argv) {
  w.key("kargs");
  if (k.empty()) {
    w.value(nullptr);
    return;
  }
  w.begin_object();
  w.field("append", k.append);
  w.field("remove", k.remove);
  if (argv) w.field("argv", k.command().argv);
  w.end_object();
}

void print_plan_json(const Plan& plan, const std::optional<JournalEntry>& entry, bool applied) {
  JsonWriter w(std::cout);
  w.begin_object();
  w.field("applied", applied);
  w.field("journal_id", entry ? std::optional<std::string>(entry->id) : std::nullopt);
  w.field("kernel_args", plan.kernel_args);
  w.key("files");
  w.begin_array();
  for (const auto* f : plan.changed()) {
    w.begin_object();
    w.field("path", f->path);
    w.field("new", !f->before.has_value());
    w.field("why", f->why);
    w.field("diff", unified_diff(f->path, f->before, f->after));
    w.end_object();
  }
  w.end_array();
  w.key("commands");
  w.begin_array();
  for (const auto& c : plan.commands) {
    w.begin_object();
    w.field("argv", c.argv);
    w.field("why", c.why);
    w.end_object();
  }
  w.end_array();
  write_kargs(w, plan.kargs, true);
  w.field("warnings", plan.warnings);
  w.field("notes", plan.notes);
  w.end_object();
  w.finish();
}

void run_setup(const SetupOptions& o, GlobalOptions& g) {
  Root root = open_root(g);
  check_regenerate(root, o.regenerate, o.chroot);
  Host host = read_host(root);
  SetupRequest req;
  req.devices = o.devices;
  req.remove = o.remove;
  req.windows = o.windows;
  req.unsafe = o.unsafe;
  req.force = o.force;
  if (!o.isolate.empty()) req.isolate = o.isolate;
  req.hugepages_mib = size_option(o.hugepages, "--hugepages");
  if (auto k = size_option(o.hugepage_size, "--hugepage-size")) req.hugepage_kib = *k * 1024;
  if (!o.hugepages_for.empty()) {
    if (req.hugepages_mib) throw input_error("--hugepages and --hugepages-for: give one of them");
    StaticPages pool = hugepages_for(host, o.hugepages_for);
    req.hugepages_mib = pool.mib;
    req.hugepage_kib = pool.page_kib;
  }
  if (o.regenerate && !o.apply) throw input_error("--regenerate runs after --apply; add --apply");
  if (!o.for_spec.empty()) req.qemu_conf = qemu_conf_request(root, host, o.for_spec, invoking_user());

  Plan plan = plan_setup(root, host, req);
  auto changed = plan.changed();
  if (o.apply && !plan.kargs.empty()) check_commands(root, "setup --apply", o.chroot);
  if (!o.apply) {
    if (g.json) {
      print_plan_json(plan, std::nullopt, false);
      return;
    }
    for (const auto& w : plan.warnings) std::cerr << "vfioctl: warning: " << w << "\n";
    for (const auto& n : plan.notes) std::cerr << "vfioctl: note: " << n << "\n";
    if (changed.empty() && plan.kargs.empty()) {
      std::cout << "Nothing to change: the host is configured as asked.\n";
      return;
    }
    std::vector<FileChange> files;
    for (const auto* f : changed) files.push_back(*f);
    print_diff(files, std::cout);
    if (!plan.kargs.empty()) {
      std::cout << "\nWith --apply, this gives the next deployment its kernel arguments (undo takes back exactly "
                   "these):\n  "
                << plan.kargs.command().str() << "\n";
    }
    if (!plan.commands.empty()) {
      std::cout << "\nThen, to rebuild the boot files (with --apply --regenerate):\n";
      for (const auto& c : plan.commands) std::cout << "  " << c.str() << "    # " << c.why << "\n";
    }
    std::cout << "\nDry run: nothing was written. Add --apply to write these files (undo with 'vfioctl undo').\n";
    return;
  }
  if (root.is_live() && ::geteuid() != 0) {
    throw Error(ExitCode::refused, "setup --apply changes files under /etc and /boot: run it as root (sudo)");
  }
  for (const auto& w : plan.warnings) std::cerr << "vfioctl: warning: " << w << "\n";
  for (const auto& n : plan.notes) std::cerr << "vfioctl: note: " << n << "\n";  // what was found and kept
  HostLock lock(root, g_command_line);  // through the regenerate commands and their undo
  auto entry = apply(root, real_fs(), plan, g_command_line);
  if (!entry) {
    if (g.json)
      print_plan_json(plan, std::nullopt, false);
    else
      std::cout << "Nothing to change: the host is configured as asked.\n";
    return;
  }
  if (!entry->kargs.empty()) {
    auto runner = command_runner(root);
    run_commands(
        *runner, {entry->kargs.command()}, [&]() { undo(root, real_fs(), *entry, true); }, std::cerr);
  }
  if (o.regenerate) {
    auto runner = command_runner(root);
    run_commands(
        *runner, plan.commands,
        [&]() {
          undo(root, real_fs(), *entry, true);
          for (const auto& c : plan.commands) runner->run(c);
        },
        std::cerr);
  }
  if (g.json) {
    print_plan_json(plan, entry, true);
    return;
  }
  for (const auto* f : changed) std::cout << (f->before ? "changed " : "created ") << f->path << "\n";
  if (!entry->kargs.empty()) std::cout << "ran " << entry->kargs.command().str() << "\n";
  std::cout << fmt::format("Journal entry {}: 'vfioctl undo {}' restores every file.\n", entry->id, entry->id);
  if (!o.regenerate && !plan.commands.empty()) {
    std::cout << "Now rebuild the boot files (or run again with --apply --regenerate):\n";
    for (const auto& c : plan.commands) std::cout << "  " << c.str() << "\n";
  }
  if (!plan.commands.empty() || !entry->kargs.empty())
    std::cout << "Reboot for the kernel arguments and the initramfs to take effect.\n";
  for (const auto* f : changed) {
    if (f->path == "/etc/libvirt/qemu.conf") std::cout << "Restart libvirtd for qemu.conf to take effect.\n";
  }
}

struct UndoOptions {
  std::string id;
  bool list = false, apply = false, force = false, regenerate = false, chroot = false;
};

void run_undo(const UndoOptions& o, GlobalOptions& g) {
  Root root = open_root(g);
  check_regenerate(root, o.regenerate, o.chroot);
  Journal journal(root, real_fs());
  std::vector<std::string> problems;
  auto entries = journal.list(&problems);
  for (const auto& p : problems) std::cerr << "vfioctl: warning: " << p << "\n";
  if (o.list) {
    if (g.json) {
      JsonWriter w(std::cout);
      w.begin_array();
      for (const auto& e : entries) {
        w.begin_object();
        w.field("id", e.id);
        w.field("created", e.created);
        w.field("state", e.state);
        w.field("command", e.command);
        std::vector<std::string> paths;
        for (const auto& f : e.files) paths.push_back(f.path);
        w.field("files", paths);
        write_kargs(w, e.kargs, false);
        w.end_object();
      }
      w.end_array();
      w.finish();
      return;
    }
    if (entries.empty()) {
      std::cout << "No journal entries in " << journal.dir() << ": nothing to undo.\n";
      return;
    }
    std::cout << fmt::format("{:<4} {:<21} {:<8} {}\n", "ID", "CREATED", "STATE", "FILES");
    for (const auto& e : entries) {
      std::vector<std::string> paths;
      for (const auto& f : e.files) paths.push_back(f.path);
      if (!e.kargs.empty()) paths.push_back("(rpm-ostree kargs)");
      std::cout << fmt::format("{:<4} {:<21} {:<8} {}\n", e.id, e.created, e.state, join(paths, " "));
    }
    return;
  }
  JournalEntry entry;
  if (!o.id.empty()) {
    entry = journal.load(o.id);
  } else {
    const JournalEntry* last = nullptr;
    for (const auto& e : entries) {
      if (e.state == "applied") last = &e;
    }
    if (!last) throw input_error(fmt::format("nothing to undo: no applied entry in {}", journal.dir()));
    entry = *last;
  }
  if (entry.state != "applied") throw input_error(fmt::format("journal entry {} is undone already", entry.id));
  auto changes = undo_changes(root, entry);
  if (!o.apply) {
    std::cout << fmt::format("Undo of entry {} ({}, {}):\n", entry.id, entry.created, entry.command);
    print_diff(changes, std::cout);
    if (!entry.kargs.empty())
      std::cout << "\nWith --apply, this takes back the kernel arguments the entry gave:\n  "
                << entry.kargs.inverse().command().str() << "\n";
    for (const auto& c : changes) {
      if (c.why != "restore") std::cerr << "vfioctl: warning: " << c.path << " changed since vfioctl wrote it\n";
    }
    std::cout << "\nDry run: nothing was written. Add --apply to restore these files.\n";
    return;
  }
  if (root.is_live() && ::geteuid() != 0) throw Error(ExitCode::refused, "undo --apply: run it as root (sudo)");
  if (!entry.kargs.empty()) check_commands(root, "undo --apply", o.chroot);
  HostLock lock(root, g_command_line);
  // The arguments first: when rpm-ostree fails, nothing was changed.
  if (!entry.kargs.empty()) {
    auto runner = command_runner(root);
    run_commands(
        *runner, {entry.kargs.inverse().command()}, []() {}, std::cerr);
    std::cout << "ran " << entry.kargs.inverse().command().str() << "\n";
  }
  undo(root, real_fs(), entry, o.force);
  std::cout << fmt::format("Restored {} file(s) of entry {}.\n", entry.files.size(), entry.id);
  if (!entry.commands.empty()) {
    if (o.regenerate) {
      auto runner = command_runner(root);
      run_commands(
          *runner, entry.commands, []() {}, std::cerr);
    } else {
      std::cout << "Now rebuild the boot files (or run again with --regenerate):\n";
      for (const auto& c : entry.commands) std::cout << "  " << c.str() << "\n";
    }
  }
}

struct BindOptions {
  std::vector<std::string> devices;
  bool apply = false, force = false;
};

void run_bind(const BindOptions& o, GlobalOptions& g, bool bind) {
  Root root = open_root(g);
  Host host = read_host(root);
  BindPlan plan = bind ? plan_bind(root, host, o.devices, o.force) : plan_unbind(root, host, o.devices);
  if (g.json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("applied", o.apply && !plan.writes.empty());
    std::vector<std::string> devs;
    for (const auto& a : plan.devices) devs.push_back(a.str());
    w.field("devices", devs);
    w.key("drivers");
    w.begin_object();
    for (const auto& [a, d] : plan.drivers) w.field(a.str(), d);
    w.end_object();
    w.key("writes");
    w.begin_array();
    for (const auto& s : plan.writes) {
      w.begin_object();
      w.field("path", s.path);
      w.field("value", s.value);
      w.end_object();
    }
    w.end_array();
    w.field("notes", plan.notes);
    w.end_object();
    w.finish();
  }
  for (const auto& n : plan.notes) std::cerr << "vfioctl: note: " << n << "\n";
  if (plan.writes.empty()) {
    if (!g.json) std::cout << "Nothing to do.\n";
    return;
  }
  if (!o.apply) {
    if (g.json) return;
    if (bind && plan.load_vfio) std::cout << "modprobe vfio-pci\n";
    for (const auto& s : plan.writes) {
      std::string v = s.value == "\n" ? "" : s.value;
      std::cout << fmt::format("echo '{}' > {}\n", v, s.path);
    }
    std::cout << "\nDry run: nothing was written. Add --apply to do it.\n";
    return;
  }
  if (root.is_live() && ::geteuid() != 0) throw Error(ExitCode::refused, "bind/unbind --apply: run it as root (sudo)");
  if (bind) load_vfio_pci(root, *command_runner(root), plan);
  HostLock lock(root, g_command_line);
  apply_bind(root, bind_fs(root), plan, bind);
  if (!g.json) {
    for (const auto& [a, d] : plan.drivers) {
      if (bind)
        std::cout << fmt::format("{}: {} -> vfio-pci\n", a.short_str(), d.value_or("(none)"));
      else
        std::cout << fmt::format("{}: vfio-pci -> {}\n", a.short_str(), d.value_or("(kernel's choice)"));
    }
  }
}

}  // namespace

void set_command_line(int argc, char** argv) { g_command_line = command_line(argc, argv); }
const std::string& typed_command_line() { return g_command_line; }

void add_setup(CLI::App& app, GlobalOptions& g) {
  auto o = std::make_shared<SetupOptions>();
  CLI::App* cmd =
      app.add_subcommand("setup", "configure the boot for passthrough: IOMMU, vfio-pci, hugepages (diff first)");
  cmd->description(
      "Plan the host changes passthrough needs and print them as a unified diff plus the commands that\n"
      "rebuild the boot files. Nothing is written without --apply. It knows GRUB (/etc/default/grub and\n"
      "grub.d), systemd-boot/kernel-install (loader entries, /etc/kernel/cmdline), Proxmox's\n"
      "proxmox-boot-tool, Alpine's extlinux (/etc/update-extlinux.conf), image-based hosts (rpm-ostree\n"
      "kargs, run by --apply), initramfs-tools, mkinitcpio, dracut and mkinitfs; on NixOS, or a host it\n"
      "does not know, it writes nothing and prints every part to do by hand.\n"
      "It writes: IOMMU kernel arguments, vfio-pci ids (or per-address driver_override when the\n"
      "host keeps a device with the same id), softdeps so vfio-pci loads before the GPU/audio/USB drivers,\n"
      "the vfio modules in the initramfs, static hugepages and CPU isolation when asked.\n"
      "It merges with what the host has: the vfio-pci ids it passes already stay and the new ones join\n"
      "them where they are written (modprobe.d, the command line, initramfs-tools' modules); an argument\n"
      "already present is not added, one that turns the IOMMU off is replaced in place, one the kernel\n"
      "ignores is kept; the notes say what was found. --remove takes a device out the same way.\n"
      "Edits are idempotent, written atomically and journaled: 'vfioctl undo' restores every file byte\n"
      "for byte. A failed write restores what was written and exits 3. Details: docs/setup.md.");
  cmd->add_option("--device", o->devices,
                  "device for guests (01:00.0, 10de:1b81, gpu, ...); its whole IOMMU group is taken")
      ->type_name("SEL");
  cmd->add_option("--remove", o->remove,
                  "stop passing a device the host passes today (its id or address comes out of the vfio-pci ids, "
                  "wherever they are written); 01:00.0 or 10de:1b81")
      ->type_name("SEL");
  cmd->add_option("--hugepages", o->hugepages, "reserve this much memory as static hugepages at boot (16G)")
      ->type_name("SIZE");
  cmd->add_option("--hugepage-size", o->hugepage_size,
                  "page size for --hugepages: 2M or 1G (default: 1G when the CPU has it and the size is whole GiB)")
      ->type_name("SIZE");
  cmd->add_option("--hugepages-for", o->hugepages_for, "reserve exactly what this guest spec's memory plan needs")
      ->type_name("SPEC.toml");
  cmd->add_option("--isolate", o->isolate, "keep the kernel off these CPUs (isolcpus, nohz_full, rcu_nocbs)")
      ->type_name("CPUS");
  cmd->add_flag("--windows", o->windows, "kvm ignore_msrs=1 (Windows guests trip on unknown MSRs)");
  cmd->add_option("--for", o->for_spec,
                  "what this guest needs in libvirt's qemu.conf: QEMU's user for its sound server, its evdev "
                  "devices in cgroup_device_acl")
      ->type_name("SPEC.toml");
  cmd->add_flag("--apply", o->apply, "write the files (journaled; 'vfioctl undo' takes them back)");
  cmd->add_flag("--regenerate", o->regenerate,
                "with --apply: run the commands that rebuild grub.cfg and the initramfs");
  cmd->add_flag("--chroot", o->chroot,
                "with --root and --regenerate (or an ostree tree's rpm-ostree kargs): run the commands inside "
                "that tree (its own programs, as root)");
  cmd->add_flag("--unsafe", o->unsafe, "allow insecure options: ACS override for a shared group, unsafe interrupts");
  cmd->add_flag("--force", o->force, "take a device the running host needs (the root disk's controller, the only NIC)");
  cmd->footer(
      "\nExamples:\n  vfioctl setup --device 01:00.0                 # dry run: the diff\n"
      "  sudo vfioctl setup --device gpu --hugepages 16G --apply --regenerate\n"
      "  sudo vfioctl undo --apply --regenerate           # back to before\n"
      "  vfioctl --root /mnt/sysroot setup --device 10de:1b81 --json\n"
      "  sudo vfioctl setup --remove 01:00.0 --apply     # stop passing a device, wherever its id is\n"
      "Exit codes: 0 done (or dry run), 2 bad request, 3 refused or a write failed (nothing changed).");
  cmd->callback([o, &g]() { run_setup(*o, g); });

  auto u = std::make_shared<UndoOptions>();
  CLI::App* undo_cmd = app.add_subcommand("undo", "restore the files a 'setup --apply' changed, byte for byte");
  undo_cmd->description(
      "Show (dry run) or restore (--apply) the files of a journal entry: the last applied one, or ID.\n"
      "A file edited since vfioctl wrote it is not overwritten without --force. On an image-based host,\n"
      "--apply first takes back exactly the kernel arguments the entry gave (rpm-ostree kargs).");
  undo_cmd->add_option("id", u->id, "journal entry (default: the last applied)");
  undo_cmd->add_flag("--list", u->list, "list the journal entries");
  undo_cmd->add_flag("--apply", u->apply, "restore the files");
  undo_cmd->add_flag("--force", u->force, "restore files changed since vfioctl wrote them");
  undo_cmd->add_flag("--regenerate", u->regenerate, "with --apply: rebuild grub.cfg and the initramfs afterwards");
  undo_cmd->add_flag("--chroot", u->chroot,
                     "with --root and --regenerate (or an ostree tree's rpm-ostree kargs): run the commands inside "
                     "that tree (its own programs, as root)");
  undo_cmd->footer("\nExamples:\n  vfioctl undo --list\n  sudo vfioctl undo --apply --regenerate\n  vfioctl undo 3");
  undo_cmd->callback([u, &g]() {
    if (u->regenerate && !u->apply) throw input_error("--regenerate runs after --apply; add --apply");
    run_undo(*u, g);
  });

  for (bool bind : {true, false}) {
    auto b = std::make_shared<BindOptions>();
    CLI::App* c =
        app.add_subcommand(bind ? "bind" : "unbind", bind ? "move a device's IOMMU group to vfio-pci now (no reboot)"
                                                          : "give a device's IOMMU group back to its host drivers");
    c->description(bind ? "Moves every endpoint of the device's IOMMU group to vfio-pci through sysfs\n"
                          "(driver_override, unbind, drivers_probe), recording the drivers it replaces.\n"
                          "Refuses (exit 3) the root disk's controller, the boot GPU driving the console and\n"
                          "the only network interface, unless --force. Dry run without --apply."
                        : "Clears driver_override, unbinds from vfio-pci and binds each endpoint back to the\n"
                          "driver 'vfioctl bind' recorded (or lets the kernel choose). Dry run without --apply.");
    c->add_option("device", b->devices, "01:00.0, 10de:1b81, gpu, ...")->required();
    c->add_flag("--apply", b->apply, "do it");
    if (bind) c->add_flag("--force", b->force, "take a device the running host needs");
    c->callback([b, &g, bind]() { run_bind(*b, g, bind); });
  }
}

}  // namespace vfioctl::cli
